"""Crash consistency: SIGKILL the training process at random moments, resume, repeat.

The kill-trial harness (marker `killtrials`, deselected by default and run by `.ci/run`):
the README's train command (tiny model, a checkpoint every 2 steps, the 2 newest kept) is
killed with SIGKILL `TRIALS` times: 4 in 5 at a random moment after training started (often
inside a checkpoint write or the deletion of an old one: checkpointing is most of a tiny
model's step time), 1 in 5 at a random moment since launch (mostly start-up and restore).
After every kill the test checks:

- the newest finished checkpoint restores completely, with finite values (never a partial
  one: orbax writes into a temporary directory and renames it when complete);
- the next launch resumes from exactly that checkpoint;
- the steps lost (last step logged before the kill minus the step resumed from) are at most
  one checkpoint interval.

Then the run finishes uninterrupted, and its parameters must equal, bit for bit, those of a
run that was never killed; metrics.jsonl holds every step once. The measured figures print
as a table (pytest -s, or CI's log).

`test_random_sigkills_on_a_gcs_workdir` runs 5 such kills with the workdir on a GCS server
(fake-gcs-server on 127.0.0.1).

Independent of machine speed: the kill moments are random times, but no launch may train
past its share of the steps still to go (`_step_cap`): the harness also kills a launch as
soon as it logs that step. So the trials can never use up the run, on however fast a
machine, and `RESERVE_STEPS` always remain for the uninterrupted finish. The table says for
every trial which of the two triggered the kill and how many steps remained.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from typing import NamedTuple

import flax
import jax
import numpy as np
import pytest

from jaxgan import train
from jaxgan.runtime import storage
from jaxgan.workdir import checkpointing, metric_logging, saved_run
from tests import helpers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRIALS = 20
GCS_TRIALS = 5       # The same on a gs:// workdir (a GCS server on 127.0.0.1).
TIME_BUDGET_S = 420  # Stop starting new trials after this; at least 5 must have run.
CHECKPOINT_EVERY = 2
TOTAL_STEPS = 600    # The run's length (~17 steps/s here with a checkpoint every 2 steps).
RESERVE_STEPS = 100  # Steps the trials leave for the uninterrupted finish, at any speed.
POLL_S = 0.01        # How often the harness reads the log while waiting to kill.
SETTINGS = {"model.name": "tiny", "model.latent_dim": 8, "batch_size": 8,
            "num_train_steps": TOTAL_STEPS, "log_every_steps": 1, "sample_every_steps": 25,
            "checkpoint_every_steps": CHECKPOINT_EVERY, "keep_checkpoints": 2,
            "num_grid_samples": 4, "dataset.split": "test", "eval.every_steps": 0}
STEP_LINE = re.compile(r"\bstep (\d+)/\d+\b")
RESUMED_LINE = re.compile(r"Resumed from \S+ at step (\d+)\.")


class Trial(NamedTuple):
  """One kill, as the table prints it."""
  trial: int
  moment: str            # the random moment: "training" (after the first step) or "since launch"
  killed_by: str         # "time" (the random moment came) or "step cap" (its share was used)
  last_logged: int       # the last step the launch logged before the kill
  remaining: int         # TOTAL_STEPS - last_logged: the margin the cap protects
  newest: int            # the newest finished checkpoint after the kill
  lost: int              # last_logged - newest
  unfinished_write: bool  # an unfinished checkpoint write was left behind


def _command(workdir: str, mnist_dir: str) -> list:
  return [sys.executable, "-m", "jaxgan.main", "--config=configs/dcgan_tutorial.py",
          f"--workdir={workdir}", f"--config.dataset.local_dir={mnist_dir}",
          *(f"--config.{k}={v}" for k, v in SETTINGS.items())]


def _read(path: str) -> str:
  with open(path, errors="replace") as f:
    return f.read()


def _finished_steps(workdir: str) -> list:
  """Steps of the checkpoints orbax has finalised, as a reader lists them (locally a
  finished write is renamed to its step; on GCS, which cannot rename, a step folder is
  finished once orbax wrote its commit marker)."""
  if not storage.isdir(checkpointing.checkpoint_directory(workdir)):
    return []
  return checkpointing.Checkpointer(workdir, keep=SETTINGS["keep_checkpoints"]).all_steps()


def _unfinished_writes(workdir: str) -> list:
  """Entries of the checkpoints folder that are not finished checkpoints."""
  directory = checkpointing.checkpoint_directory(workdir)
  if not storage.isdir(directory):
    return []
  finished = {str(step) for step in _finished_steps(workdir)}
  return [name for name in storage.listdir(directory) if name not in finished]


def _launch(workdir: str, mnist_dir: str, log_path: str) -> subprocess.Popen:
  env = dict(os.environ, PYTHONPATH=ROOT)
  with open(log_path, "w") as log:  # A file, not a pipe: nothing can block the child.
    return subprocess.Popen(_command(workdir, mnist_dir), cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)


def _step_cap(resume_from: int, trials_left: int) -> int:
  """The last step a launch resuming from `resume_from` may train before it is killed: an
  equal share of the steps before the reserve, for each trial still to run (at least 1)."""
  share = (TOTAL_STEPS - RESERVE_STEPS - resume_from) // trials_left
  return resume_from + max(1, share)


def _last_step(text: str) -> int:
  steps = STEP_LINE.findall(text)
  return int(steps[-1]) if steps else 0


def _wait_to_kill(log_path: str, process: subprocess.Popen, seconds: float,
                  cap: int) -> str:
  """Waits `seconds`, or until the log shows step `cap`, whichever comes first; returns
  which ("time" or "step cap"). Fails if the process exits first."""
  deadline = time.time() + seconds
  while time.time() < deadline:
    if _last_step(_read(log_path)) >= cap:
      return "step cap"
    assert process.poll() is None, f"exited before the kill:\n{_read(log_path)[-3000:]}"
    time.sleep(POLL_S)
  assert process.poll() is None, f"exited before the kill:\n{_read(log_path)[-3000:]}"
  return "time"


def _wait_for(pattern: re.Pattern, log_path: str, process: subprocess.Popen,
              timeout: float) -> bool:
  deadline = time.time() + timeout
  while time.time() < deadline:
    if pattern.search(_read(log_path)):
      return True
    if process.poll() is not None:
      return False
    time.sleep(0.05)
  raise AssertionError(f"no {pattern.pattern!r} within {timeout} s:\n{_read(log_path)[-3000:]}")


def _assert_restorable(workdir: str, step: int) -> None:
  run = saved_run.load_run(workdir)
  assert run.step == step
  for tree in (run.states["g"].params, run.states["d"].params, run.states["d"].opt_state):
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(tree))


@pytest.mark.killtrials
def test_random_sigkills_never_lose_more_than_one_interval(tmp_path, capsys):
  _run_kill_trials(str(tmp_path / "killed"), tmp_path, capsys, TRIALS)


@pytest.mark.killtrials
def test_random_sigkills_on_a_gcs_workdir(gcs_bucket, tmp_path, capsys):
  """The same properties with the workdir on a GCS server (fake-gcs-server on 127.0.0.1):
  orbax cannot rename there, so a checkpoint is finished once its commit marker is written."""
  _run_kill_trials(storage.join(gcs_bucket, "killed"), tmp_path, capsys, GCS_TRIALS)


def _run_kill_trials(workdir: str, tmp_path, capsys, trials: int) -> None:
  """See the module docstring: `trials` kills (at least 5, as many as TIME_BUDGET_S allows),
  then the uninterrupted finish and its comparison."""
  mnist_dir = helpers.write_fake_mnist(str(tmp_path / "data"), n=64)
  rng = np.random.default_rng(0)
  rows, started, startup_s = [], time.time(), 10.0
  for trial in range(trials):
    if trial >= 5 and time.time() - started > TIME_BUDGET_S:
      break
    resume_from = (_finished_steps(workdir) or [None])[-1]
    cap = _step_cap(resume_from or 0, trials - trial)
    log_path = str(tmp_path / f"trial{trial:02d}.log")
    launched = time.time()
    process = _launch(workdir, mnist_dir, log_path)
    during_startup = trial % 5 == 4
    try:
      if during_startup:  # Mostly in imports, data loading, restore or compilation.
        killed_by = _wait_to_kill(log_path, process, rng.uniform(0.3, 1.1) * startup_s, cap)
      else:
        assert _wait_for(STEP_LINE, log_path, process, timeout=240)
        startup_s = time.time() - launched
        killed_by = _wait_to_kill(log_path, process, rng.uniform(0.0, 1.5), cap)
      process.send_signal(signal.SIGKILL)
      process.wait(timeout=60)
    finally:
      if process.poll() is None:
        process.kill()
    output = _read(log_path)

    resumed = RESUMED_LINE.search(output)
    if resumed:  # The launch got as far as restoring: it must take the newest finished one.
      assert int(resumed.group(1)) == resume_from, output[-3000:]
    else:
      assert resume_from is None or not STEP_LINE.search(output), output[-3000:]
    logged = [int(s) for s in STEP_LINE.findall(output)]
    unfinished = _unfinished_writes(workdir)
    finished = _finished_steps(workdir)
    newest = finished[-1] if finished else 0
    if finished:
      _assert_restorable(workdir, newest)
    lost = (max(logged) - newest) if logged else 0
    assert lost <= CHECKPOINT_EVERY, (logged, finished)
    last_logged = max(logged or [resume_from or 0])
    rows.append(Trial(trial, "since launch" if during_startup else "training", killed_by,
                      last_logged, TOTAL_STEPS - last_logged, newest, lost, bool(unfinished)))

  final = subprocess.run(_command(workdir, mnist_dir), cwd=ROOT, env=dict(os.environ,
                         PYTHONPATH=ROOT), capture_output=True, text=True, timeout=600)
  assert final.returncode == 0, final.stderr[-3000:]
  assert f"at step {rows[-1].newest}." in final.stderr or rows[-1].newest == 0

  reference = train.train_and_evaluate(helpers.tiny_config(mnist_dir, **SETTINGS),
                                       str(tmp_path / "uninterrupted"))
  resumed_run = saved_run.load_run(workdir)
  assert resumed_run.step == reference["step"] == SETTINGS["num_train_steps"]
  for name in ("g_state", "d_state"):
    got = flax.serialization.to_state_dict(resumed_run.states[name[0]])
    want = flax.serialization.to_state_dict(reference[name])
    jax.tree.map(np.testing.assert_array_equal, got, want)
  steps_logged = [r["step"] for r in metric_logging.read_metrics(workdir)]
  assert steps_logged == list(range(1, SETTINGS["num_train_steps"] + 1))

  with capsys.disabled():
    print(f"\nkill trials on {workdir}: {len(rows)} SIGKILLs in {time.time() - started:.0f} s "
          f"(checkpoint every {CHECKPOINT_EVERY} steps)")
    print(f"trial | killed at a random moment | kill triggered by | last step logged | "
          f"steps remaining of {TOTAL_STEPS} | newest checkpoint after the kill | steps lost | "
          "unfinished checkpoint write left")
    for row in rows:
      print(" | ".join(str(x) for x in row))
    lost = [r.lost for r in rows]
    print(f"resumed {len(rows)}/{len(rows)}; steps lost max {max(lost)}, mean "
          f"{np.mean(lost):.2f}; kills inside a checkpoint write: "
          f"{sum(r.unfinished_write for r in rows)}; kills by the step cap: "
          f"{sum(r.killed_by == 'step cap' for r in rows)}; smallest margin "
          f"{min(r.remaining for r in rows)} steps remaining (reserve {RESERVE_STEPS}); final "
          "parameters equal the uninterrupted run's bit for bit")


def test_step_caps_leave_the_reserve_at_any_speed():
  """However far each launch gets (its cap, plus a few steps between two reads of the log),
  the trials end with at least RESERVE_STEPS minus that overshoot to go; and each launch may
  train at least one step."""
  for overshoot in (0, 1, 5):
    for lost in (0, CHECKPOINT_EVERY):  # The launch resumes up to one interval back.
      step = 0
      for trial in range(TRIALS):
        cap = _step_cap(step, TRIALS - trial)
        assert cap > step
        step = max(0, cap + overshoot - lost)
      assert TOTAL_STEPS - (step + lost) >= RESERVE_STEPS - overshoot
