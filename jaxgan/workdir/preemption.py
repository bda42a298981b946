"""Stop cleanly on SIGTERM / SIGINT: finish the step, save a checkpoint, exit 0.

Cloud schedulers (preemptible TPU VMs, SLURM, Kubernetes) send SIGTERM some seconds before
killing a job. `StopRequest` turns the signal into a flag that the training loop reads at
each step boundary, so the run saves the state of a whole step and a re-run resumes exactly
there (the batch and randomness of a step are functions of (seed, step)).

Single process: jaxgan's own handlers. A second SIGINT (Ctrl-C twice) raises
KeyboardInterrupt at once, for a user who does not want to wait for the checkpoint.
Several processes: every process must save the same step (orbax saves are collective), and a
signal reaches the processes at different steps, so jaxgan asks JAX's preemption sync point
(`multihost_utils.reached_preemption_sync_point`), which the coordination service makes agree
across processes; JAX installs its own SIGTERM notifier for that, so jaxgan adds none.
"""
from __future__ import annotations

import signal
import threading
from typing import Optional

import jax
from absl import logging


class StopRequest:
  """Records a stop signal; `should_stop(step)` is True at the step boundary to stop at.

  `install()` before the training loop, `restore()` after it (in a `finally`): the previous
  handlers come back.
  """

  def __init__(self):
    self.signal_name: Optional[str] = None
    self._previous = {}
    self._multi_process = jax.process_count() > 1

  def install(self) -> None:
    # Handlers can only be installed from the main thread (a library caller may not be).
    if not self._multi_process and threading.current_thread() is threading.main_thread():
      for sig in (signal.SIGTERM, signal.SIGINT):
        self._previous[sig] = signal.signal(sig, self._handle)

  def restore(self) -> None:
    for sig, handler in self._previous.items():
      signal.signal(sig, handler)
    self._previous = {}

  def _handle(self, signum, frame) -> None:
    del frame
    name = signal.Signals(signum).name
    if self.signal_name == "SIGINT" and name == "SIGINT":
      raise KeyboardInterrupt  # Second Ctrl-C: stop now, without the checkpoint.
    self.signal_name = name
    logging.warning("%s received: saving a checkpoint at the end of this step, then "
                    "stopping (Ctrl-C again to stop at once, without it).", name)

  def should_stop(self, step: int) -> bool:
    """Whether to checkpoint and stop after `step`; the same answer on every process.

    Call once per step (the multi-process sync point is a collective).
    """
    if self._multi_process:
      from jax.experimental import multihost_utils
      if multihost_utils.reached_preemption_sync_point(step):
        self.signal_name = self.signal_name or "preemption notice"
        return True
      return False
    return self.signal_name is not None
