"""Several JAX processes on localhost (jax.distributed + gloo) train exactly what one does.

2 processes x 2 CPU devices run the README's train command with --distributed; the result
must equal 1 process x 4 devices (this test process, see conftest) within float tolerance,
and only process 0 may write samples and logs. A preemption notice (SIGTERM) to one process
must stop both at the same step with one checkpoint, from which a re-run resumes.

Marker `multiprocess`: deselected by the README's test command (each test starts several
processes and takes about a minute on 2 cores); `.ci/run` runs them.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import flax
import jax
import numpy as np
import pytest

from jaxgan import train
from jaxgan.runtime import json_files, storage
from jaxgan.workdir import checkpointing, saved_run, workdir_lease
from tests import helpers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETTINGS = {"model.name": "tiny", "model.latent_dim": 8, "batch_size": 8, "n_critic": 2,
            "num_train_steps": 4, "log_every_steps": 2, "sample_every_steps": 2,
            "checkpoint_every_steps": 2, "num_grid_samples": 4, "dataset.split": "test",
            "eval.every_steps": 0}


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _launch_two_processes(workdir: str, mnist_dir: str, settings: dict, job: str = "",
                          log_prefix: str = "") -> list:
  """Starts the 2-process run; returns [(process, log file path)] for process 0 and 1."""
  return _launch(workdir, mnist_dir, settings, job, processes=2, devices_each=2,
                 log_prefix=log_prefix)


def _launch(workdir: str, mnist_dir: str, settings: dict, job: str = "", processes: int = 2,
            devices_each: int = 2, model_flags: tuple = (), log_prefix: str = "") -> list:
  """Starts `processes` processes of one run (`devices_each` CPU devices each; one process is
  started without --distributed); returns [(process, log file path)] in process order. The
  logs are local files `{log_prefix or workdir}{job}.processI.log`."""
  port = _free_port()
  env = dict(os.environ, PYTHONPATH=ROOT, JAX_PLATFORMS="cpu",
             JAX_CPU_COLLECTIVES_IMPLEMENTATION="gloo",
             XLA_FLAGS=f"--xla_force_host_platform_device_count={devices_each}")
  flags = [f"--config.{k}={v}" for k, v in settings.items()]
  launched = []
  for i in range(processes):
    distributed = ([] if processes == 1 else
                   ["--distributed", f"--coordinator_address=127.0.0.1:{port}",
                    f"--num_processes={processes}", f"--process_id={i}"])
    # Output to files, not pipes: a process blocked on a full pipe would stall the other's
    # collectives.
    log_path = f"{log_prefix or workdir}{job}.process{i}.log"
    with open(log_path, "w") as log:
      launched.append((subprocess.Popen(
          [sys.executable, "-m", "jaxgan.main", *distributed,
           "--config=configs/dcgan_tutorial.py", f"--workdir={workdir}",
           f"--config.dataset.local_dir={mnist_dir}", *flags],
          cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), log_path))
  return launched


def _read(path: str) -> str:
  with open(path, errors="replace") as f:
    return f.read()


def _finish(launched: list, timeout: float = 180) -> list:
  """Waits for both processes (killing them after `timeout`); asserts exit 0; the outputs."""
  deadline = time.time() + timeout
  try:
    for process, _ in launched:
      try:
        process.wait(timeout=max(1.0, deadline - time.time()))
      except subprocess.TimeoutExpired:
        pass
  finally:
    for process, _ in launched:
      if process.poll() is None:
        process.kill()  # A hung distributed process ignores SIGTERM (JAX's notifier has it).
  outputs = [_read(path) for _, path in launched]
  for (process, _), out in zip(launched, outputs):
    assert process.returncode == 0, out[-3000:]
  return outputs


def _assert_equals_one_process(multi: str, mnist_dir: str, single: str) -> None:
  """The 2-process run in `multi` restores, at step 4, the states one process with this
  process's 4 devices trains into `single` (to float32 reduction-order rounding)."""
  expected = train.train_and_evaluate(helpers.tiny_config(mnist_dir, **SETTINGS), single)
  restored = saved_run.load_run(multi)
  assert restored.step == 4
  for name in ("g_state", "d_state"):
    got = flax.serialization.to_state_dict(restored.states[name[0]])
    want = flax.serialization.to_state_dict(expected[name])
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), got, want)


@pytest.mark.multiprocess
def test_two_processes_equal_one_process_four_devices(tmp_path):
  mnist_dir = helpers.write_fake_mnist(str(tmp_path / "data"), n=64)
  multi = str(tmp_path / "multi")
  outputs = _finish(_launch_two_processes(multi, mnist_dir, SETTINGS))
  assert "JAX process 1 of 2" in outputs[1]

  assert jax.device_count() == 4
  _assert_equals_one_process(multi, mnist_dir, str(tmp_path / "single"))

  # Only process 0 wrote samples and logs (one line per log step, one event file).
  assert "step 4/4" in outputs[0] and "step 4/4" not in outputs[1]
  with open(os.path.join(multi, "metrics.jsonl")) as f:
    records = [json.loads(line) for line in f]
  assert [r["step"] for r in records] == [2, 4]
  with open(os.path.join(tmp_path, "single", "metrics.jsonl")) as f:
    single_records = [json.loads(line) for line in f]
  for a, b in zip(records, single_records):
    np.testing.assert_allclose(a["d_loss"], b["d_loss"], rtol=1e-5)
  assert len(os.listdir(os.path.join(multi, "tensorboard"))) == 1
  assert sorted(os.listdir(os.path.join(multi, "samples"))) == ["real.png", "step_0000002.png",
                                                                "step_0000004.png"]


@pytest.mark.multiprocess
def test_two_processes_on_a_gcs_workdir_equal_one_process(tmp_path, gcs_bucket):
  """Both processes write the checkpoints (orbax) of one gs:// workdir on a GCS server
  (fake-gcs-server on 127.0.0.1); process 0 alone the logs and samples and the lease."""
  mnist_dir = helpers.write_fake_mnist(str(tmp_path / "data"), n=64)
  multi = storage.join(gcs_bucket, "multi")
  outputs = _finish(_launch_two_processes(multi, mnist_dir, SETTINGS,
                                          log_prefix=str(tmp_path / "multi")))
  assert "JAX process 1 of 2" in outputs[1]
  _assert_equals_one_process(multi, mnist_dir, str(tmp_path / "single"))
  records = json_files.read_jsonl(storage.join(multi, "metrics.jsonl"))
  assert [r["step"] for r in records] == [2, 4]
  assert len(storage.listdir(storage.join(multi, "tensorboard"))) == 1
  assert not storage.exists(storage.join(multi, workdir_lease.LEASE_FILE))  # Given back.


@pytest.mark.multiprocess
def test_four_processes_of_two_devices_equal_one_process_of_eight(tmp_path):
  """The DCGAN recipe's networks, 4 processes x 2 devices on one shared workdir (a pod slice
  of 4 hosts, in miniature) against 1 process x 8 devices: the same parameters."""
  mnist_dir = helpers.write_fake_mnist(str(tmp_path / "data"), n=64)
  settings = {"batch_size": 16, "num_train_steps": 2, "log_every_steps": 1,
              "sample_every_steps": 2, "checkpoint_every_steps": 2, "num_grid_samples": 4,
              "dataset.split": "test", "eval.every_steps": 0}
  multi, single = str(tmp_path / "multi"), str(tmp_path / "single")
  outputs = _finish(_launch(multi, mnist_dir, settings, processes=4, devices_each=2),
                    timeout=420)
  assert "JAX process 3 of 4, 2 local cpu device(s)" in outputs[3]
  _finish(_launch(single, mnist_dir, settings, processes=1, devices_each=8), timeout=300)
  got, want = saved_run.load_run(multi), saved_run.load_run(single)
  assert got.step == want.step == 2
  # Summation order differs (gloo sums across processes) and Adam's first steps magnify that
  # rounding in near-zero gradients: measured 1.0e-5 at most (2026-12-02), 5% of one
  # lr = 2e-4 step; a layout dependence of the math moves parameters by ~lr per step
  # (tests/test_steps.py separates the two in float64).
  for name in ("g", "d"):
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=5e-5),
                 flax.serialization.to_state_dict(got.states[name]),
                 flax.serialization.to_state_dict(want.states[name]))
  assert sorted(os.listdir(os.path.join(multi, "samples"))) == ["real.png", "step_0000002.png"]


@pytest.mark.multiprocess
def test_preemption_notice_stops_both_processes_at_one_step_and_rerun_resumes(tmp_path):
  """Also: the run's two processes hold one workdir lease (process 0's), and a second
  distributed job on the workdir is refused on both of its processes."""
  mnist_dir = helpers.write_fake_mnist(str(tmp_path / "data"), n=64)
  workdir = str(tmp_path / "multi")
  long_run = dict(SETTINGS, num_train_steps=10**6, log_every_steps=1,
                  checkpoint_every_steps=10**6, sample_every_steps=10**6)
  launched = _launch_two_processes(workdir, mnist_dir, long_run)
  try:
    deadline = time.time() + 240
    while not re.search(r"\bstep 3/1000000\b", _read(launched[0][1])):
      assert time.time() < deadline and launched[0][0].poll() is None, \
          _read(launched[0][1])[-3000:]
      time.sleep(0.1)
    with open(os.path.join(workdir, workdir_lease.LEASE_FILE)) as f:
      assert json.load(f)["pid"] == launched[0][0].pid
    second_job = _launch_two_processes(workdir, mnist_dir, long_run, job=".second")
    refused = []
    for process, log_path in second_job:
      process.wait(timeout=180)
      refused.append((process.returncode, _read(log_path)))
    assert refused[0][0] == 1 and "is in use by another training run" in refused[0][1], \
        refused[0][1][-3000:]
    assert refused[1][0] == 1 and "Process 0 of this run was refused the lease" in \
        refused[1][1], refused[1][1][-3000:]
    launched[1][0].send_signal(signal.SIGTERM)  # Only process 1 gets the notice.
  finally:
    outputs = _finish(launched)
  stopped = [re.search(r"Stopped by .* after step (\d+); checkpoint saved", out)
             for out in outputs]
  assert all(stopped), [out[-2000:] for out in outputs]
  stop_step = int(stopped[0].group(1))
  assert stop_step >= 3 and int(stopped[1].group(1)) == stop_step
  checkpointer = checkpointing.Checkpointer(workdir, keep=10)
  assert checkpointer.all_steps() == [stop_step]
  checkpointer.close()

  outputs = _finish(_launch_two_processes(
      workdir, mnist_dir, dict(long_run, num_train_steps=stop_step + 2)))
  for out in outputs:
    assert f"at step {stop_step}." in out, out[-2000:]
  assert saved_run.load_run(workdir).step == stop_step + 2
