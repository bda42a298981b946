"""SIGTERM / SIGINT: the run saves the step it finished and exits 0; a re-run resumes there."""
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from jaxgan.workdir import checkpointing, preemption
from tests import helpers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_stop_request_flags_then_second_ctrl_c_interrupts():
  previous = signal.getsignal(signal.SIGINT)
  stop = preemption.StopRequest()
  stop.install()
  try:
    assert not stop.should_stop(1)
    os.kill(os.getpid(), signal.SIGINT)
    assert stop.should_stop(2) and stop.signal_name == "SIGINT"
    with pytest.raises(KeyboardInterrupt):
      os.kill(os.getpid(), signal.SIGINT)
  finally:
    stop.restore()
  assert signal.getsignal(signal.SIGINT) is previous


def _train_command(workdir, mnist_dir, steps):
  return [sys.executable, "-m", "jaxgan.main", "--config=configs/dcgan_tutorial.py",
          f"--workdir={workdir}", f"--config.dataset.local_dir={mnist_dir}",
          "--config.dataset.split=test", "--config.model.name=tiny",
          "--config.model.latent_dim=8", "--config.batch_size=8",
          f"--config.num_train_steps={steps}", "--config.log_every_steps=1",
          "--config.checkpoint_every_steps=1000000", "--config.sample_every_steps=1000000",
          "--config.num_grid_samples=4", "--config.eval.every_steps=0"]


# Ctrl-C (SIGINT) takes the same path as SIGTERM: CI-only (`slow`, 42 s).
@pytest.mark.parametrize("sig", [signal.SIGTERM,
                                 pytest.param(signal.SIGINT, marks=pytest.mark.slow)])
def test_signal_saves_a_checkpoint_and_a_rerun_resumes(tmp_path, sig):
  mnist_dir = helpers.write_fake_mnist(str(tmp_path / "data"), n=64)
  workdir = str(tmp_path / "run")
  env = dict(os.environ, PYTHONPATH=ROOT)
  process = subprocess.Popen(_train_command(workdir, mnist_dir, 10**6), cwd=ROOT, env=env,
                             stderr=subprocess.PIPE, text=True)
  output = []
  deadline = time.time() + 240
  try:
    for line in process.stderr:  # Wait until it trains, then signal mid-run.
      output.append(line)
      if re.search(r"\bstep 3/1000000\b", line):
        process.send_signal(sig)
        break
      assert time.time() < deadline, "".join(output[-20:])
    output.extend(process.stderr)
    assert process.wait(timeout=120) == 0, "".join(output[-30:])
  finally:
    if process.poll() is None:
      process.kill()
  text = "".join(output)
  stopped = re.search(rf"Stopped by {sig.name} after step (\d+); checkpoint saved", text)
  assert stopped, text[-3000:]
  stop_step = int(stopped.group(1))
  assert stop_step >= 3
  checkpointer = checkpointing.Checkpointer(workdir, keep=10)
  assert checkpointer.all_steps() == [stop_step]  # Only the preemption checkpoint exists.
  checkpointer.close()

  rerun = subprocess.run(_train_command(workdir, mnist_dir, stop_step + 2), cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=240)
  assert rerun.returncode == 0, rerun.stderr[-3000:]
  assert f"at step {stop_step}." in rerun.stderr
  assert f"step {stop_step + 2}/{stop_step + 2}" in rerun.stderr
