"""jaxgan's own gs:// files (`jaxgan.runtime.storage` -> `jaxgan.runtime.gcs`) against a real GCS
server on 127.0.0.1 (fake-gcs-server, tests/gcs_server.py): every byte below goes over HTTP to
it and is read back from it."""
import json

import pytest

from jaxgan.runtime import gcs, storage
from tests import test_remote_storage


def test_files_round_trip_on_the_server(gcs_bucket):
  root = storage.join(gcs_bucket, "run")
  test_remote_storage.check_files_round_trip(root)
  assert storage.isdir(storage.join(root, "a")) and not storage.isfile(storage.join(root, "a"))
  assert storage.isfile(storage.join(root, "c.json"))
  with storage.open_file(storage.join(root, "b.bin"), "wb") as f:
    f.write(b"\x00\x01")
  assert storage.read_bytes(storage.join(root, "b.bin")) == b"\x00\x01"
  storage.check_writable(storage.join(root, "probe_dir"))
  storage.remove(storage.join(root, "b.bin"))
  assert not storage.exists(storage.join(root, "b.bin"))
  storage.rmtree(storage.join(root, "a"))
  assert sorted(storage.listdir(root)) == ["c.json", "x.npz"]


def test_the_objects_really_are_on_the_server(gcs_bucket, gcs_server):
  """Read back with a plain HTTP GET of the JSON API, not through jaxgan's client."""
  import urllib.request  # pylint: disable=g-import-not-at-top
  storage.write_atomically(storage.join(gcs_bucket, "run", "config.json"), '{"seed": 0}')
  bucket = gcs.bucket(gcs_bucket)
  url = f"{gcs_server.url}/storage/v1/b/{bucket}/o/run%2Fconfig.json?alt=media"
  with urllib.request.urlopen(url) as response:
    assert json.loads(response.read()) == {"seed": 0}


def test_missing_files_and_buckets_are_named(gcs_bucket):
  missing = storage.join(gcs_bucket, "nothing.json")
  with pytest.raises(FileNotFoundError, match="nothing.json"):
    storage.read_text(missing)
  with pytest.raises(FileNotFoundError, match="nothing.json"):
    storage.remove(missing)
  assert not storage.exists(missing)
  with pytest.raises(FileNotFoundError, match="bucket gs://no-such-bucket-x does not exist"):
    storage.makedirs("gs://no-such-bucket-x/run")
  with pytest.raises(FileNotFoundError, match="no-such-bucket-x"):
    storage.check_writable("gs://no-such-bucket-x/run")


def test_an_interrupted_write_leaves_the_old_object(gcs_bucket):
  path = storage.join(gcs_bucket, "metrics.jsonl")
  storage.write_atomically(path, "old\n")
  with pytest.raises(RuntimeError):
    with storage.open_file(path, "w") as f:
      f.write("new, half")
      raise RuntimeError("killed mid-write")
  assert storage.read_text(path) == "old\n"


def test_a_whole_run_on_the_server(gcs_bucket, tmp_path, monkeypatch):
  """Data, workdir, checkpoints (orbax: gcsfs for its folders, TensorStore for the arrays),
  TensorBoard events and classifier all on the GCS server: SIGTERM, resume bit for bit equal
  to a local run of the same config, sample, evaluate; nothing local."""
  workdir = test_remote_storage.check_whole_run(gcs_bucket, tmp_path, monkeypatch,
                                                reference=str(tmp_path / "local_reference"))
  # No local stand-in for the checkpoints; the uninterrupted run compared with is local.
  assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "local_reference"]
  steps = storage.listdir(storage.join(workdir, "checkpoints"))
  assert steps and all(name.isdigit() for name in steps), steps
  events = storage.listdir(storage.join(workdir, "tensorboard"))
  assert events and all(name.startswith("events.out.tfevents.") for name in events), events


def test_tensorboard_events_are_uploaded_and_rotated(gcs_bucket, monkeypatch, tmp_path):
  """Every flush uploads the grown event file; past ROTATE_BYTES a new file begins. The
  objects on the server, read by TensorFlow's event reader, hold every scalar once."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from jaxgan.workdir import tensorboard_files  # pylint: disable=g-import-not-at-top
  monkeypatch.setattr(tensorboard_files, "ROTATE_BYTES", 300)
  logdir = storage.join(gcs_bucket, "run", "tensorboard")
  writer = tensorboard_files.TensorBoardWriter(logdir)
  for step in range(12):
    writer.scalar("loss", float(step), step)
    writer.flush()
  writer.close()
  names = sorted(storage.listdir(logdir))
  assert len(names) > 2, names  # Rotated.
  steps = []
  for name in names:
    local = tmp_path / name
    local.write_bytes(storage.read_bytes(storage.join(logdir, name)))
    steps += [event.step for event in tf.compat.v1.train.summary_iterator(str(local))
              if event.summary.value]
  assert sorted(steps) == list(range(12))


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_checkpoint_damaged_on_the_server_is_refused(gcs_bucket):
  """Bytes flipped in the largest object of the newest checkpoint (orbax's array data, on
  the server): the checksums refuse it, naming the step, and nothing is deleted."""
  from jaxgan import train  # pylint: disable=g-import-not-at-top
  from jaxgan.workdir import checkpointing  # pylint: disable=g-import-not-at-top
  from tests import helpers  # pylint: disable=g-import-not-at-top
  data = helpers.write_fake_mnist(storage.join(gcs_bucket, "data"), n=64)
  workdir = storage.join(gcs_bucket, "run")
  config = helpers.tiny_config(data, num_train_steps=4, keep_checkpoints=5)
  train.train_and_evaluate(config, workdir)
  objects = gcs.filesystem().find(gcs.bucket(gcs_bucket) + "/run/checkpoints/4", detail=True)
  largest = max(objects.values(), key=lambda info: info["size"])["name"]
  damaged = bytearray(storage.read_bytes(gcs.SCHEME + largest))
  middle = len(damaged) // 2
  damaged[middle:middle + 64] = bytes(b ^ 0xFF for b in damaged[middle:middle + 64])
  storage.write_atomically(gcs.SCHEME + largest, bytes(damaged))
  config.num_train_steps = 6
  with pytest.raises(checkpointing.CorruptCheckpointError,
                     match=r"checkpoint of step 4 .* is damaged and was not used"):
    train.train_and_evaluate(config, workdir)
  assert sorted(storage.listdir(storage.join(workdir, "checkpoints"))) == ["2", "4"]


@pytest.fixture
def faulty_proxy(gcs_server, monkeypatch):
  """A proxy in front of the test server that jaxgan's gs:// files go through."""
  from tests import gcs_faults  # pylint: disable=g-import-not-at-top
  proxy = gcs_faults.FaultyProxy(gcs_server.url)
  proxy.start()
  monkeypatch.setenv(gcs.EMULATOR_VARIABLE, proxy.url)
  gcs.filesystem.cache_clear()
  yield proxy
  gcs.filesystem.cache_clear()  # monkeypatch then points the client back at the server.
  proxy.stop()


def test_a_transient_503_is_retried(gcs_bucket, faulty_proxy):
  path = storage.join(gcs_bucket, "run", "config.json")
  faulty_proxy.fail(status=503, times=2)
  storage.write_atomically(path, '{"seed": 0}')  # Two 503s, then the upload goes through.
  assert faulty_proxy.statuses()[:2] == [503, 503] and faulty_proxy.statuses()[2] == 200
  assert json.loads(storage.read_text(path)) == {"seed": 0}


def test_no_permission_is_named_and_not_retried(gcs_bucket, faulty_proxy):
  path = storage.join(gcs_bucket, "run", "config.json")
  storage.write_atomically(path, "{}")
  faulty_proxy.fail(status=403, times=-1)
  before = len(faulty_proxy.statuses())
  with pytest.raises(PermissionError, match=r"config.json: permission denied.*credentials"):
    storage.read_text(path)
  assert faulty_proxy.statuses()[before:] == [403]  # Asked once.


def test_orbax_listings_see_what_others_wrote_since(gcs_bucket):
  """etils.epath (orbax's folders) lists through a gcsfs client of its own: it must not
  answer from a cached listing after another client (another process, or TensorStore)
  wrote there. With gcsfs's default listing cache, the kill trials on gs:// resumed from a
  checkpoint the harness's listing did not show."""
  from etils import epath  # pylint: disable=g-import-not-at-top
  folder = storage.join(gcs_bucket, "run", "checkpoints")
  storage.write_atomically(storage.join(folder, "2", "x"), "a")
  assert sorted(p.name for p in epath.Path(folder).iterdir()) == ["2"]
  storage.write_atomically(storage.join(folder, "4", "x"), "b")  # Another client.
  assert sorted(p.name for p in epath.Path(folder).iterdir()) == ["2", "4"]


def test_a_bucket_is_asked_for_once(gcs_bucket, faulty_proxy):
  """Folders are made before every picture and record a run writes: the bucket's existence
  is asked the first time only."""
  for name in ("samples", "eval", "samples"):
    storage.makedirs(storage.join(gcs_bucket, "run", name))
  assert len(faulty_proxy.statuses()) == 1
