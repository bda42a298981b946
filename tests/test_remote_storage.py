"""Remote workdirs and data (`jaxgan.runtime.storage`): a whole run on TensorFlow's in-memory ram://
filesystem (a URI jaxgan reads and writes through tf.io.gfile), offline. gs:// goes through
gcsfs instead, against a real GCS server: tests/test_gcs_storage.py.

What this cannot cover: orbax writes its checkpoints itself (epath for metadata, TensorStore
for arrays) and speaks local paths and gs:// but not ram://, so the end-to-end test maps the
workdir's checkpoints/ folder to a local stand-in (`checkpointing.orbax_directory`, the one
place that decides where orbax writes). Everything jaxgan writes itself goes to ram://.
"""
import os
import signal
import threading
import time

import jax
import numpy as np
import pytest

from jaxgan import evaluate, sample, train
from jaxgan.evaluation import domain_classifier
from jaxgan.runtime import json_files, storage
from jaxgan.workdir import checkpointing
from tests import helpers


def test_paths_keep_their_scheme():
  assert storage.absolute("gs://b/run") == "gs://b/run"
  assert storage.join("gs://b/run", "checkpoints") == "gs://b/run/checkpoints"
  assert storage.dirname("gs://b/run/x.json") == "gs://b/run"
  assert storage.basename("gs://b/run/") == "run"
  assert checkpointing.checkpoint_directory("gs://b/run") == "gs://b/run/checkpoints"
  assert storage.absolute("rel/x") == os.path.join(os.getcwd(), "rel", "x")
  assert storage.scheme("ram://a") == "ram" and storage.scheme("/a") == ""


def test_orbax_refuses_a_scheme_it_cannot_write():
  with pytest.raises(checkpointing.WorkdirError, match="orbax writes local paths and gs://"):
    checkpointing.checkpoint_directory("ram://bucket/run")


def test_files_on_ram_round_trip(tmp_path):
  check_files_round_trip(f"ram://roundtrip/{tmp_path.name}")


def check_files_round_trip(root: str) -> None:
  """jaxgan's file operations under `root` (a URI), each read back (tests/test_gcs_storage.py
  runs them on gs:// too)."""
  storage.makedirs(storage.join(root, "a"))
  path = storage.join(root, "a", "log.jsonl")
  json_files.append_jsonl(path, {"step": 1})
  json_files.append_jsonl(path, {"step": 2})
  storage.append_text(path, '{"step": 3')  # A torn last line, as a kill leaves it.
  assert json_files.read_jsonl(path) == [{"step": 1}, {"step": 2}]
  json_files.write_atomically(storage.join(root, "c.json"), "{}")
  assert sorted(storage.listdir(root)) == ["a", "c.json"]  # No temporary file left.
  storage.save_npz(storage.join(root, "x.npz"), compressed=True, images=np.arange(6))
  np.testing.assert_array_equal(storage.load_npz(storage.join(root, "x.npz"))["images"],
                                np.arange(6))
  with pytest.raises(FileNotFoundError):
    storage.read_text(storage.join(root, "missing"))
  assert storage.glob(storage.join(root, "*.npz")) == [storage.join(root, "x.npz")]


def _stop_at_first_metrics(metrics_path: str) -> threading.Thread:
  """SIGTERM to this process once the run has logged a step (as a preemption would)."""
  def watch():
    deadline = time.time() + 300
    while time.time() < deadline and not storage.exists(metrics_path):
      time.sleep(0.05)
    os.kill(os.getpid(), signal.SIGTERM)
  thread = threading.Thread(target=watch, daemon=True)
  thread.start()
  return thread


def test_train_stop_resume_sample_evaluate_on_ram(tmp_path, monkeypatch):
  """Data, workdir and classifier on ram://: train until a SIGTERM, resume two steps further
  (equal, bit for bit, to an uninterrupted run), sample, evaluate; no local folder appears."""
  stand_in = tmp_path / "orbax"
  monkeypatch.setattr(checkpointing, "orbax_directory",
                      lambda d: str(stand_in / d.replace("://", "/")) if storage.is_remote(d)
                      else d)
  check_whole_run(f"ram://bucket-{tmp_path.name}", tmp_path, monkeypatch)
  assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "orbax"]


def check_whole_run(bucket: str, tmp_path, monkeypatch, reference: str = "") -> str:
  """Data, workdir and classifier under the URI `bucket`: train until a SIGTERM, resume two
  steps further (equal, bit for bit, to an uninterrupted run in `reference`, default
  `bucket`/reference), sample, evaluate; nothing appears in the working directory
  (tmp_path/cwd). Returns the workdir."""
  cwd = tmp_path / "cwd"
  cwd.mkdir()
  monkeypatch.chdir(cwd)  # Where a mangled `ram:/...` or `gs:/...` folder would appear.
  data = helpers.write_fake_mnist(f"{bucket}/data", n=64)  # IDX files written there.
  settings = {"log_every_steps": 1, "sample_every_steps": 3, "checkpoint_every_steps": 10**6,
              "eval.every_steps": 0, "eval.num_samples": 64, "eval.classifier_steps": 5,
              "eval.classifier_dir": f"{bucket}/classifier"}
  workdir = f"{bucket}/run"
  # A late SIGTERM (after the run restored the handlers) must not end the test process.
  previous = signal.signal(signal.SIGTERM, lambda *_: None)
  try:
    watcher = _stop_at_first_metrics(storage.join(workdir, "metrics.jsonl"))
    stopped = train.train_and_evaluate(helpers.tiny_config(data, num_train_steps=10**6,
                                                           **settings), workdir)
    watcher.join()
  finally:
    signal.signal(signal.SIGTERM, previous)
  assert stopped["stopped_by"] == "SIGTERM", stopped
  end = stopped["step"] + 2
  resumed = train.train_and_evaluate(helpers.tiny_config(data, num_train_steps=end, **settings),
                                     workdir)
  reference = train.train_and_evaluate(
      helpers.tiny_config(data, num_train_steps=end, **settings),
      reference or f"{bucket}/reference")
  assert resumed["step"] == end
  for a, b in zip(jax.tree.leaves(reference["states"]), jax.tree.leaves(resumed["states"])):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))

  for name in ("config.json", "metrics.jsonl", "config_history.jsonl", "samples",
               "tensorboard", "curves.png"):
    assert storage.exists(storage.join(workdir, name)), name
  assert not storage.exists(storage.join(workdir, "lease.json"))  # Given back at the end.
  images = sample.generate(workdir, num_samples=5)[0]
  assert images.shape == (5, 28, 28, 1)
  report = evaluate.evaluate_workdir(workdir, pictures_too=True)
  assert np.isfinite(report["generator"]["fid"])
  assert domain_classifier.exists(f"{bucket}/classifier")  # Trained by the evaluation there.
  assert storage.exists(storage.join(workdir, "eval", f"step_{end:07d}.json"))
  assert list(cwd.iterdir()) == []  # Nothing local, not even a `ram:` or `gs:` folder.
  return workdir
