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
