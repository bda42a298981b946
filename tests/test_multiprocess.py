"""Several JAX processes on localhost (jax.distributed + gloo) train exactly what one does.

2 processes x 2 CPU devices run the README's train command with --distributed; the result
must equal 1 process x 4 devices (this test process, see conftest) within float tolerance,
and only process 0 may write samples and logs.

Not in the default run (marker `multiprocess`; run with `python -m pytest -m multiprocess`):
it passes when the run completes, but the 2-process run deadlocks intermittently (most runs
under pytest) after the last step: process 0 waits in orbax's save barrier
(multihost_utils.sync_global_devices) while process 1 waits on a local slice of a pmap output
in parallel.unreplicate. See docs/reliability.md; a test that hangs for minutes cannot run
in CI until that is found.
"""
import json
import os
import socket
import subprocess
import sys

import flax
import jax
import numpy as np
import pytest

from jaxgan import sample, train
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


def _launch_two_processes(workdir: str, mnist_dir: str):
  port = _free_port()
  env = dict(os.environ, PYTHONPATH=ROOT, JAX_PLATFORMS="cpu",
             JAX_CPU_COLLECTIVES_IMPLEMENTATION="gloo",
             XLA_FLAGS="--xla_force_host_platform_device_count=2")
  flags = [f"--config.{k}={v}" for k, v in SETTINGS.items()]
  # Output to files, not pipes: a process blocked on a full pipe would stall the other's
  # collectives.
  logs = [open(os.path.join(workdir + f".process{i}.log"), "w+") for i in range(2)]
  processes = [subprocess.Popen(
      [sys.executable, "-m", "jaxgan.main", "--distributed",
       f"--coordinator_address=127.0.0.1:{port}", "--num_processes=2", f"--process_id={i}",
       "--config=configs/dcgan.py", f"--workdir={workdir}",
       f"--config.dataset.local_dir={mnist_dir}", *flags],
      cwd=ROOT, env=env, stdout=logs[i], stderr=subprocess.STDOUT, text=True)
      for i in range(2)]
  outputs = []
  for p, log in zip(processes, logs):
    try:
      p.wait(timeout=120)
    finally:
      if p.poll() is None:
        p.kill()
    log.seek(0)
    outputs.append(log.read())
    log.close()
  for p, out in zip(processes, outputs):
    assert p.returncode == 0, out[-3000:]
  return outputs


@pytest.mark.multiprocess
def test_two_processes_equal_one_process_four_devices(tmp_path):
  mnist_dir = helpers.write_fake_mnist(str(tmp_path / "data"), n=64)
  multi = str(tmp_path / "multi")
  outputs = _launch_two_processes(multi, mnist_dir)
  assert "JAX process 1 of 2" in outputs[1]

  assert jax.device_count() == 4
  single = train.train_and_evaluate(helpers.tiny_config(mnist_dir, **SETTINGS),
                                    str(tmp_path / "single"))
  restored = sample.load_run(multi)
  assert restored.step == 4
  for name, expected in (("g_state", single["g_state"]), ("d_state", single["d_state"])):
    got = flax.serialization.to_state_dict(getattr(restored, name))
    want = flax.serialization.to_state_dict(expected)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), got, want)

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
  assert sorted(os.listdir(os.path.join(multi, "samples"))) == ["step_0000002.png",
                                                                "step_0000004.png"]
