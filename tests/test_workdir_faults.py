"""An unwritable or full workdir, or a damaged checkpoint: a clear error, and the checkpoints
already there survive."""
import os
import re
import shutil
import subprocess
import sys
from collections import namedtuple

import numpy as np
import pytest

from jaxgan import train
from jaxgan.workdir import checkpointing, metric_logging, saved_run
from tests import helpers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _fail_if_data_is_loaded(monkeypatch):
  def load_data(config):
    raise AssertionError("the workdir check must come before loading data")
  monkeypatch.setattr(train, "load_data", load_data)


def test_workdir_under_a_file_fails_before_loading_data(tmp_path, monkeypatch):
  blocker = tmp_path / "a_file"
  blocker.write_text("not a directory")
  _fail_if_data_is_loaded(monkeypatch)
  with pytest.raises(checkpointing.WorkdirError, match="Cannot write to --workdir=.*a_file/run"):
    train.train_and_evaluate(helpers.tiny_config(), str(blocker / "run"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_workdir_fails_before_loading_data(tmp_path, monkeypatch):
  workdir = tmp_path / "run"
  workdir.mkdir()
  workdir.chmod(0o500)
  _fail_if_data_is_loaded(monkeypatch)
  try:
    with pytest.raises(checkpointing.WorkdirError, match="Permission denied"):
      train.train_and_evaluate(helpers.tiny_config(), str(workdir))
  finally:
    workdir.chmod(0o700)


def test_too_little_free_space_fails_before_training(tmp_path, monkeypatch):
  mnist_dir = helpers.write_fake_mnist(str(tmp_path / "data"))
  usage = namedtuple("usage", "total used free")
  monkeypatch.setattr(checkpointing.shutil, "disk_usage",
                      lambda path: usage(2**30, 2**30 - 2**19, 2**19))  # 0.5 MiB free
  monkeypatch.setattr(train, "_Dispatcher", None)  # Never reached.
  with pytest.raises(checkpointing.WorkdirError, match=r"0\.5 MiB free; one checkpoint"):
    train.train_and_evaluate(helpers.tiny_config(mnist_dir), str(tmp_path / "run"))
  assert not os.path.exists(tmp_path / "run" / "checkpoints")


def test_disk_filling_up_mid_run_keeps_the_last_checkpoint_and_resumes(tmp_path):
  """Files over 16 KiB fail to write in the child (`ulimit -f 16`; Python ignores SIGXFSZ):
  a checkpoint cannot be written, as on a full disk."""
  mnist_dir = helpers.write_fake_mnist(str(tmp_path / "data"))
  workdir = str(tmp_path / "run")
  settings = {"num_train_steps": 4, "sample_every_steps": 100, "eval.every_steps": 0}
  train.train_and_evaluate(helpers.tiny_config(mnist_dir, **settings), workdir)

  settings["num_train_steps"] = 8
  flags = [f"--config.{k}={v}" for k, v in {**helpers.TINY_FLAGS, **settings}.items()]
  command = [sys.executable, "-m", "jaxgan.main", "--config=configs/dcgan_tutorial.py",
             f"--workdir={workdir}", f"--config.dataset.local_dir={mnist_dir}", *flags]
  full = subprocess.run(
      ["bash", "-c", 'ulimit -f 16 && exec "$@"', "bash", *command], cwd=ROOT,
      env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True, text=True,
      timeout=300)  # Pipes, not files: the limit does not apply to them.
  assert full.returncode == 1, full.stderr[-3000:]
  assert ("WorkdirError: Could not write the checkpoint of step 6 under "
          f"{workdir}/checkpoints (the latest checkpoint is still step 4, intact)"
          in full.stderr), full.stderr[-3000:]
  # Logged as a one-line error (a crash would end in "jaxgan.workdir.checkpointing.WorkdirError:
  # ..." after a traceback instead). Orbax's background event loop may still print an "Exception
  # ignored" traceback at exit.
  assert re.search(r"\.py:\d+\] WorkdirError: Could not write", full.stderr)
  assert saved_run.load_run(workdir).step == 4

  # Space again: the same command resumes from step 4 and finishes.
  result = train.train_and_evaluate(helpers.tiny_config(mnist_dir, **settings), workdir)
  assert result["step"] == 8 and saved_run.load_run(workdir).step == 8
  assert [r["step"] for r in metric_logging.read_metrics(workdir)] == [2, 4, 6, 8]


def test_metrics_log_drops_a_torn_last_line_and_truncates_to_the_checkpoint(tmp_path):
  path = tmp_path / "metrics.jsonl"
  path.write_text('{"step": 1, "d_loss": 0.5}\n{"step": 2, "d_loss": 0.25}\n'
                  '{"step": 3, "d_loss": 0.12}\n{"step": 4, "d_lo')  # Killed mid-append.
  assert [r["step"] for r in metric_logging.read_metrics(str(tmp_path))] == [1, 2, 3]
  metric_logging.truncate_metrics(str(tmp_path), last_step=2)
  assert path.read_text() == '{"step": 1, "d_loss": 0.5}\n{"step": 2, "d_loss": 0.25}\n'
  metric_logging.truncate_metrics(str(tmp_path), last_step=0)  # A fresh start: nothing kept.
  assert path.read_text() == ""

  path.write_text('{"step": 1}\n{"step": 2, "d_lo\n{"step": 3}\n')  # Not a torn tail.
  with pytest.raises(ValueError):
    metric_logging.read_metrics(str(tmp_path))


# orbax leaves a task behind when reading a truncated file fails; it reports "Event loop is
# closed" when it runs after the checkpointer was closed (harmless).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("damage", ["flipped bytes", "truncated file"])
def test_damaged_checkpoint_is_refused_and_the_previous_one_resumes(tmp_path, damage):
  """Flipped bytes restore without an error from orbax (the run used to resume from garbage
  and stop on NaNs); the checksums in the meta item catch them."""
  mnist_dir = helpers.write_fake_mnist(str(tmp_path / "data"))
  workdir = str(tmp_path / "run")
  config = helpers.tiny_config(mnist_dir, num_train_steps=4, keep_checkpoints=5)
  train.train_and_evaluate(config, workdir)
  checkpoints = os.path.join(workdir, "checkpoints")
  data_file = helpers.largest_data_file(os.path.join(checkpoints, "4"))
  size = os.path.getsize(data_file)
  if damage == "flipped bytes":
    helpers.flip_bytes(data_file, size // 2, 64)
  else:
    os.truncate(data_file, size // 2)

  config.num_train_steps = 6
  with pytest.raises(checkpointing.CorruptCheckpointError,
                     match=r"checkpoint of step 4 .* is damaged and was not used: .*Move it "
                           r"aside \(mv .*/4 .*/4.corrupt\) and re-run to resume from step 2"):
    train.train_and_evaluate(config, workdir)
  with pytest.raises(checkpointing.CorruptCheckpointError):
    saved_run.load_run(workdir)
  assert sorted(os.listdir(checkpoints)) == ["2", "4"]  # Nothing deleted or overwritten.

  shutil.move(os.path.join(checkpoints, "4"), os.path.join(workdir, "4.corrupt"))
  assert train.train_and_evaluate(config, workdir)["step"] == 6
  assert saved_run.load_run(workdir).step == 6


def test_checksums_name_the_arrays_that_changed():
  tree = {"a": np.arange(4, dtype=np.float32), "b": {"c": np.zeros((2, 2), np.int32)}}
  before = checkpointing.checksums(tree)
  tree["b"]["c"][1, 1] = 1
  after = checkpointing.checksums(tree)
  assert before["['a']"] == after["['a']"] and before["['b']['c']"] != after["['b']['c']"]
