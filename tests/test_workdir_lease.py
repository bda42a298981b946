"""One run per workdir (jaxgan.workdir.workdir_lease): the lease's decisions on hand-made
records, and two real `jaxgan.main` processes on one workdir (marker `multiprocess`)."""
import json
import logging
import os
import re
import shutil
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
from jaxgan.workdir import checkpointing, metric_logging, resume, saved_run, workdir_lease
from tests import helpers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _write_record(workdir, **fields):
  os.makedirs(workdir, exist_ok=True)
  record = {"host": socket.gethostname(), "pid": os.getpid(), "pid_start": None,
            "started": time.time(), "command": "python -m jaxgan.main ...",
            "heartbeat": time.time(), "token": "someone-else", **fields}
  with open(os.path.join(workdir, workdir_lease.LEASE_FILE), "w") as f:
    json.dump(record, f)


def _finished_process():
  done = subprocess.Popen([sys.executable, "-c", "pass"])
  done.wait()
  return done.pid


def test_acquire_writes_the_holder_and_release_removes_it(tmp_path):
  lease = workdir_lease.Lease(str(tmp_path / "w"), timeout_seconds=60)
  lease.acquire()
  try:
    record = lease.read()
    assert record["host"] == socket.gethostname() and record["pid"] == os.getpid()
    assert record["pid_start"] == workdir_lease.process_start(os.getpid()) is not None
    assert record["command"] and record["token"] == lease.token
    # A second lease on the workdir (here: this process, another run) is refused.
    with pytest.raises(workdir_lease.WorkdirInUseError,
                       match=rf"in use by another training run \(host .*process {os.getpid()}"):
      workdir_lease.Lease(str(tmp_path / "w"), timeout_seconds=60).acquire()
  finally:
    lease.release()
  assert lease.read() is None


def test_a_live_holder_on_this_host_is_refused_unless_taken_over(tmp_path, caplog):
  workdir = str(tmp_path / "w")
  holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
  try:
    _write_record(workdir, pid=holder.pid, pid_start=workdir_lease.process_start(holder.pid))
    with pytest.raises(workdir_lease.WorkdirInUseError, match="take_over_workdir=True"):
      workdir_lease.Lease(workdir, timeout_seconds=60).acquire()
    assert workdir_lease.Lease(workdir, 60).read()["pid"] == holder.pid  # Untouched.
    lease = workdir_lease.Lease(workdir, timeout_seconds=60, take_over=True)
    with caplog.at_level(logging.WARNING):
      lease.acquire()
    lease.release()
    assert "config.take_over_workdir=True" in caplog.text
  finally:
    holder.kill()


@pytest.mark.parametrize("record,reason", [
    ({"pid": "dead"}, "no longer exists"),
    ({"pid": "self", "pid_start": "1"}, "is another process now"),  # A reused process id.
    ({"host": "another-host", "heartbeat": "120 s ago"}, "heartbeat is 1[0-9]{2} s old"),
])
def test_stale_leases_are_taken_over_with_a_warning(tmp_path, caplog, record, reason):
  workdir = str(tmp_path / "w")
  record = dict(record)
  if record.get("pid") == "dead":
    record["pid"] = _finished_process()
  elif record.get("pid") == "self":
    record["pid"] = os.getppid()  # Alive, but not the process that started at tick 1.
  if record.get("heartbeat") == "120 s ago":  # Now, not when the parameters were collected.
    record["heartbeat"] = time.time() - 120
  _write_record(workdir, **record)
  lease = workdir_lease.Lease(workdir, timeout_seconds=60)
  with caplog.at_level(logging.WARNING):
    lease.acquire()
  try:
    assert re.search(f"Took over the lease .*{reason}", caplog.text), caplog.text
    assert lease.read()["token"] == lease.token
  finally:
    lease.release()


def test_another_hosts_fresh_lease_is_refused_until_its_heartbeat_times_out(tmp_path):
  workdir = str(tmp_path / "w")
  _write_record(workdir, host="another-host", heartbeat=time.time() - 30)
  with pytest.raises(workdir_lease.WorkdirInUseError, match="host 'another-host'"):
    workdir_lease.Lease(workdir, timeout_seconds=60).acquire()
  lease = workdir_lease.Lease(workdir, timeout_seconds=20)  # 30 s old: stale for 20 s.
  lease.acquire()
  lease.release()


def test_the_heartbeat_refreshes_and_notices_a_take_over(tmp_path):
  workdir = str(tmp_path / "w")
  lease = workdir_lease.Lease(workdir, timeout_seconds=60, heartbeat_seconds=0.1)
  lease.acquire()
  try:
    first = lease.read()["heartbeat"]
    time.sleep(0.5)
    assert lease.read()["heartbeat"] > first
    lease.check()  # Still ours.
    _write_record(workdir, host="another-host")  # Someone took it over.
    deadline = time.time() + 10
    while lease.lost is None and time.time() < deadline:
      time.sleep(0.05)
    with pytest.raises(workdir_lease.WorkdirInUseError, match="taken over by host 'another"):
      lease.check()
  finally:
    lease.release()
  assert lease.read()["host"] == "another-host"  # Release leaves another's lease alone.


def test_an_unreadable_lease_is_refused_naming_the_way_out(tmp_path):
  workdir = tmp_path / "w"
  workdir.mkdir()
  (workdir / workdir_lease.LEASE_FILE).write_text("{not json")
  with pytest.raises(workdir_lease.WorkdirInUseError, match="remove the file or re-run with"):
    workdir_lease.Lease(str(workdir), 60).acquire()


def test_training_holds_the_lease_and_gives_it_back(tmp_path, mnist_dir):
  workdir = str(tmp_path / "w")
  train.train_and_evaluate(helpers.tiny_config(mnist_dir, num_train_steps=2), workdir)
  assert not os.path.exists(os.path.join(workdir, workdir_lease.LEASE_FILE))
  holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
  try:
    _write_record(workdir, pid=holder.pid, pid_start=workdir_lease.process_start(holder.pid))
    before = sorted(os.listdir(workdir))
    with pytest.raises(workdir_lease.WorkdirInUseError, match=f"process {holder.pid}"):
      train.train_and_evaluate(helpers.tiny_config(mnist_dir, num_train_steps=4), workdir)
    assert sorted(os.listdir(workdir)) == before  # Nothing written, nothing removed.
    assert checkpointing.Checkpointer(workdir, 3).all_steps() == [2]
  finally:
    holder.kill()


def test_a_checkpoint_deleted_under_a_reader_is_named_so_and_the_latest_read_again(
    tmp_path, mnist_dir, monkeypatch):
  """A reader (jaxgan.sample / evaluate) on a workdir in training: the trainer may delete the
  checkpoint it chose (keep_checkpoints) before it is read. That is not damage: the latest
  is read again; a checkpoint asked for by step is not replaced by another."""
  workdir = str(tmp_path / "w")
  train.train_and_evaluate(helpers.tiny_config(mnist_dir, num_train_steps=4), workdir)
  checkpointer = checkpointing.Checkpointer(workdir, keep=3)
  states = saved_run.load_run(workdir).experiment.init_states()
  shutil.rmtree(os.path.join(workdir, "checkpoints", "2"))  # Listed, then deleted.
  with pytest.raises(checkpointing.CheckpointDeletedError, match="deleted while it was read"):
    checkpointer.restore(states, 2)
  checkpointer.close()

  real_load, calls = resume.load, []

  def deleted_once(checkpointer, states, step=None):
    calls.append(step)
    if len(calls) == 1:
      raise checkpointing.CheckpointDeletedError("deleted")
    return real_load(checkpointer, states, step)

  monkeypatch.setattr(resume, "load", deleted_once)
  assert saved_run.load_run(workdir).step == 4 and calls == [4, 4]  # The latest, listed again.
  calls.clear()
  with pytest.raises(checkpointing.CheckpointDeletedError):
    saved_run.load_run(workdir, step=4)
  assert calls == [4]


@pytest.mark.parametrize("error", [FileNotFoundError, NotADirectoryError])
def test_listing_checkpoints_while_a_trainer_deletes_one_lists_again(tmp_path, mnist_dir,
                                                                     monkeypatch, error):
  """Orbax lists the step directories, then reads each one's metadata: a step the trainer
  deleted in between fails the listing (FileNotFoundError or NotADirectoryError, as seen in
  CI). The listing is made again; when it keeps failing, CheckpointDeletedError says why."""
  workdir = str(tmp_path / "w")
  train.train_and_evaluate(helpers.tiny_config(mnist_dir, num_train_steps=4), workdir)
  checkpointer = checkpointing.Checkpointer(workdir, keep=3)
  manager = type(checkpointer._manager)
  real_reload, failures = manager.reload, []

  def reload_failing(self, times):
    if len(failures) < times:
      failures.append(1)
      raise error(os.path.join(workdir, "checkpoints", "1"))
    return real_reload(self)

  monkeypatch.setattr(manager, "reload", lambda self: reload_failing(self, 2))
  checkpointer.reload()
  assert len(failures) == 2 and checkpointer.all_steps() == [2, 4]
  failures.clear()
  monkeypatch.setattr(manager, "reload", lambda self: reload_failing(self, 10**6))
  with pytest.raises(checkpointing.CheckpointDeletedError, match="deleted while they were "):
    checkpointer.reload()
  assert len(failures) == checkpointing._LISTING_ATTEMPTS
  checkpointer.close()


# --- Real processes (marker multiprocess: .ci/run runs them) ------------------------------

def _command(workdir, mnist_dir, steps, *extra):
  return [sys.executable, "-m", "jaxgan.main", "--config=configs/dcgan_tutorial.py",
          f"--workdir={workdir}", f"--config.dataset.local_dir={mnist_dir}",
          *(f"--config.{k}={v}" for k, v in {**helpers.TINY_FLAGS, "num_train_steps": steps,
                                              "log_every_steps": 1, "eval.every_steps": 0,
                                              "checkpoint_every_steps": 10**6,
                                              "sample_every_steps": 10**6}.items()), *extra]


def _launch(workdir, mnist_dir, steps, log_path, *extra):
  with open(log_path, "w") as log:
    return subprocess.Popen(_command(workdir, mnist_dir, steps, *extra), cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=ROOT), stdout=log,
                            stderr=subprocess.STDOUT)


def _wait_for(pattern, log_path, process, timeout=240):
  deadline = time.time() + timeout
  while time.time() < deadline:
    with open(log_path, errors="replace") as f:
      text = f.read()
    if re.search(pattern, text):
      return text
    assert process.poll() is None, text[-3000:]
    time.sleep(0.1)
  raise AssertionError(f"no {pattern!r} in {timeout} s")


@pytest.mark.multiprocess
def test_a_second_run_on_a_workdir_in_use_is_refused_and_the_first_is_untouched(
    tmp_path, mnist_dir):
  workdir = str(tmp_path / "w")
  first = _launch(workdir, mnist_dir, 10**6, str(tmp_path / "first.log"))
  try:
    _wait_for(r"\bstep 3/1000000\b", str(tmp_path / "first.log"), first)
    started = time.time()
    second = subprocess.run(_command(workdir, mnist_dir, 10**6), cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True,
                            text=True, timeout=240)
    refused_in = time.time() - started
    assert second.returncode == 1, second.stderr[-3000:]
    assert f"is in use by another training run (host {socket.gethostname()!r}, process " \
           f"{first.pid}" in second.stderr
    assert "Traceback" not in second.stderr
    first.send_signal(signal.SIGTERM)  # The first run stops cleanly, at a step of its own.
    assert first.wait(timeout=120) == 0
  finally:
    if first.poll() is None:
      first.kill()
  with open(tmp_path / "first.log") as f:
    stop_step = int(re.search(r"Stopped by SIGTERM after step (\d+)", f.read()).group(1))
  assert [r["step"] for r in metric_logging.read_metrics(workdir)] == list(
      range(1, stop_step + 1))
  lone = train.train_and_evaluate(helpers.tiny_config(mnist_dir, num_train_steps=stop_step),
                                  str(tmp_path / "lone"))
  run = saved_run.load_run(workdir)
  for name in ("g", "d"):
    jax.tree.map(np.testing.assert_array_equal,
                 flax.serialization.to_state_dict(run.states[name]),
                 flax.serialization.to_state_dict(lone["states"][name]))
  assert not os.path.exists(os.path.join(workdir, workdir_lease.LEASE_FILE))
  print(f"\nsecond run refused in {refused_in:.1f} s (Python, JAX and the config load first)")


@pytest.mark.multiprocess
def test_a_sigkilled_holders_lease_is_taken_over_and_the_run_resumes(tmp_path, mnist_dir):
  workdir = str(tmp_path / "w")
  killed = _launch(workdir, mnist_dir, 10**6, str(tmp_path / "killed.log"),
                   "--config.checkpoint_every_steps=2")
  try:
    _wait_for(r"\bstep 5/1000000\b", str(tmp_path / "killed.log"), killed)
  finally:
    killed.kill()
    killed.wait()
  resumed = subprocess.run(_command(workdir, mnist_dir, 8, "--config.checkpoint_every_steps=2"),
                           cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT),
                           capture_output=True, text=True, timeout=240)
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  assert re.search(rf"Took over the lease .* process {killed.pid} on this host no longer "
                   "exists", resumed.stderr), resumed.stderr[-3000:]
  lone = train.train_and_evaluate(helpers.tiny_config(mnist_dir, num_train_steps=8),
                                  str(tmp_path / "lone"))
  run = saved_run.load_run(workdir)
  jax.tree.map(np.testing.assert_array_equal, flax.serialization.to_state_dict(run.states["g"]),
               flax.serialization.to_state_dict(lone["states"]["g"]))


@pytest.mark.multiprocess
def test_evaluate_reads_a_workdir_in_training_without_disturbing_it(tmp_path, mnist_dir):
  workdir = str(tmp_path / "w")
  trainer = _launch(workdir, mnist_dir, 10**6, str(tmp_path / "trainer.log"),
                    "--config.checkpoint_every_steps=2")
  try:
    _wait_for(r"\bstep 3/1000000\b", str(tmp_path / "trainer.log"), trainer)
    evaluated = subprocess.run(
        [sys.executable, "-m", "jaxgan.evaluate", f"--workdir={workdir}", "--num_samples=24",
         "--classifier_steps=2"], cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT),
        capture_output=True, text=True, timeout=240)
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert trainer.poll() is None  # Still training.
    trainer.send_signal(signal.SIGTERM)
    assert trainer.wait(timeout=120) == 0
  finally:
    if trainer.poll() is None:
      trainer.kill()
  step = int(re.search(r"\| generator \(step (\d+)\)", evaluated.stdout).group(1))
  assert os.path.exists(os.path.join(workdir, "eval", f"step_{step:07d}.json"))
  with open(tmp_path / "trainer.log") as f:
    stop_step = int(re.search(r"Stopped by SIGTERM after step (\d+)", f.read()).group(1))
  assert [r["step"] for r in metric_logging.read_metrics(workdir)] == list(
      range(1, stop_step + 1))
