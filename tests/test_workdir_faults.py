"""An unwritable or full workdir: a clear error, and the checkpoints already there survive."""
import os
import subprocess
import sys
from collections import namedtuple

import pytest

from jaxgan import checkpointing, metric_logging, sample, train
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
  monkeypatch.setattr(train, "pmapped_train_step", None)  # Never reached.
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
  command = [sys.executable, "-m", "jaxgan.main", "--config=configs/dcgan.py",
             f"--workdir={workdir}", f"--config.dataset.local_dir={mnist_dir}", *flags]
  full = subprocess.run(
      ["bash", "-c", 'ulimit -f 16 && exec "$@"', "bash", *command], cwd=ROOT,
      env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True, text=True,
      timeout=300)  # Pipes, not files: the limit does not apply to them.
  assert full.returncode == 1, full.stderr[-3000:]
  assert ("WorkdirError: Could not write the checkpoint of step 6 under "
          f"{workdir}/checkpoints (the latest checkpoint is still step 4, intact)"
          in full.stderr), full.stderr[-3000:]
  assert "Traceback" not in full.stderr.split("WorkdirError")[-1]
  assert sample.load_run(workdir).step == 4

  # Space again: the same command resumes from step 4 and finishes.
  result = train.train_and_evaluate(helpers.tiny_config(mnist_dir, **settings), workdir)
  assert result["step"] == 8 and sample.load_run(workdir).step == 8
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
