"""One training run per workdir: the lease `WORKDIR/lease.json`.

`jaxgan.main` takes the lease before it writes anything else to the workdir and gives it back
when it ends; a second run on a held workdir stops at once (`WorkdirInUseError`) naming the
holder. The record names the holder (host, process id and its start time, when it started,
the command) and carries a heartbeat its holder refreshes while it runs. A lease is *stale*,
and is taken over with a warning, when

  * its holder ran on this host and that process no longer exists (SIGKILL, a crash, power
    loss): the process id with the same start time is gone;
  * its holder ran on another host (shared storage) and its heartbeat is older than
    config.lease_timeout_seconds (clocks of the hosts must agree to well within that);
  * config.take_over_workdir=True says so (for what a machine cannot decide, e.g. a holder
    on another host that is hung but still refreshing).

Two runs starting together cannot both take it:
  * local workdirs: reading and replacing the record happens under an exclusive `flock` of
    `WORKDIR/lease.lock` (POSIX filesystems, and NFS where the client maps flock to POSIX
    locks, Linux). Where flock is unsupported the record is replaced without that guard (one
    run wins; a loser learns at its next heartbeat that it lost, and stops);
  * gs:// workdirs: every write of the record is conditional on the generation read before
    it (GCS's `ifGenerationMatch`; 0 when there was none: create-if-absent). Of two runs that
    read "free" together, one write succeeds and the other gets HTTP 412, reads again, finds
    a live holder and is refused. A takeover of a stale lease (its heartbeat older than
    config.lease_timeout_seconds) is conditional the same way, so a holder that renewed
    meanwhile keeps it; a heartbeat only ever replaces the generation its own run wrote, so
    it never overwrites a takeover; the holder deletes the record at the end only at its own
    generation;
  * other URIs (e.g. TensorFlow's ram://) take the unguarded path.
A holder that finds at a heartbeat that someone took its lease over stops at the next step
boundary, without checkpointing (`WorkdirInUseError`).

Several processes of one run (`--distributed`): process 0 takes the lease and tells the
others; a refused job stops on every host. Readers (`jaxgan.sample`, `jaxgan.evaluate`) never
take it.
"""
from __future__ import annotations

import contextlib
import datetime
import errno
import json
import os
import socket
import sys
import threading
import time
import uuid
from typing import Any, Dict, Iterator, Optional

from absl import logging

from jaxgan.core import errors
from jaxgan.runtime import gcs, storage

LEASE_FILE = "lease.json"
LOCK_FILE = "lease.lock"
# Conditional writes of a gs:// lease that may find it changed before a run gives up.
_RACE_ATTEMPTS = 5


class WorkdirInUseError(errors.UserError, RuntimeError):
  """Another live run holds the workdir's lease (or took it over from this run)."""


def process_start(pid: int) -> Optional[str]:
  """The process's start time in clock ticks since boot (Linux /proc), or None if it does not
  exist or the platform has no /proc. With the pid it names one process, even after the pid
  is reused."""
  try:
    with open(f"/proc/{pid}/stat") as f:
      stat = f.read()
  except OSError:
    return None
  # Field 22; the command (field 2) is in parentheses and may hold spaces.
  return stat[stat.rindex(")") + 2:].split()[19]


def _pid_exists(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:  # Exists, owned by another user.
    return True
  return True


def _describe(holder: Dict[str, Any]) -> str:
  started = datetime.datetime.fromtimestamp(holder.get("started", 0)).isoformat(
      timespec="seconds")
  return (f"host {holder.get('host')!r}, process {holder.get('pid')}, started {started}, "
          f"command {holder.get('command')!r}")


class Lease:
  """The training lease of one workdir (see the module docstring).

  Args:
    workdir: the run's directory (created if needed).
    timeout_seconds: a holder on another host whose heartbeat is older is stale.
    take_over: take the lease whoever holds it.
    heartbeat_seconds: how often the holder refreshes the heartbeat (default: a fifth of the
      timeout, within [1, 60] s).
  """

  def __init__(self, workdir: str, timeout_seconds: float, take_over: bool = False,
               heartbeat_seconds: Optional[float] = None):
    self.workdir = workdir
    self.path = storage.join(workdir, LEASE_FILE)
    self.timeout = float(timeout_seconds)
    self.take_over = take_over
    self.heartbeat_seconds = heartbeat_seconds or min(60.0, max(1.0, self.timeout / 5))
    self.token = uuid.uuid4().hex
    self.lost: Optional[str] = None  # What took the lease from us, once it happens.
    # gs://: the generation of the record last read or written (0: none), the precondition
    # of the next write (see the module docstring).
    self._versioned = storage.scheme(workdir) == "gs"
    self._generation = 0
    self._stop = threading.Event()
    self._thread: Optional[threading.Thread] = None

  # --- The record ----------------------------------------------------------------------

  def _record(self) -> Dict[str, Any]:
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "pid_start": process_start(pid),
            "started": self._started, "command": " ".join(sys.argv),
            "heartbeat": time.time(), "token": self.token}

  def read(self) -> Optional[Dict[str, Any]]:
    """The current record, None if there is none; raises WorkdirInUseError if unreadable."""
    try:
      if self._versioned:
        found = gcs.read_versioned(self.path)
        self._generation = 0 if found is None else found[1]
        return None if found is None else json.loads(found[0])
      return json.loads(storage.read_text(self.path))
    except FileNotFoundError:
      return None
    except (OSError, ValueError) as e:
      raise WorkdirInUseError(
          f"The workdir lease {self.path} cannot be read ({e}); another run may hold it. If "
          "none does, remove the file or re-run with --config.take_over_workdir=True.") from e

  def _write(self) -> None:
    """Replaces the record with ours, atomically (a reader sees the old or the new one); on
    gs:// only if it is still the generation last read or written (gcs.ChangedMeanwhile if
    not)."""
    if self._versioned:
      self._generation = gcs.write_versioned(self.path, json.dumps(self._record()).encode(),
                                             self._generation)
    else:
      storage.write_atomically(self.path, json.dumps(self._record()), fsync=True)

  @contextlib.contextmanager
  def _exclusive(self) -> Iterator[None]:
    """Holds flock(WORKDIR/lease.lock) (waits up to 30 s for another run's short hold);
    a remote workdir has no lock to hold (see the module docstring)."""
    if storage.is_remote(self.workdir):
      yield
      return
    import fcntl  # pylint: disable=g-import-not-at-top (POSIX only)
    fd = os.open(os.path.join(self.workdir, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
    try:
      deadline = time.time() + 30
      while True:
        try:
          fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
          break
        except OSError as e:
          if e.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
            logging.warning("The filesystem of %s does not support flock; the workdir lease "
                            "is taken without it.", self.workdir)
            break
          if time.time() > deadline:
            raise
          time.sleep(0.05)
      yield
    finally:
      os.close(fd)  # Releases the lock.

  # --- Decisions -----------------------------------------------------------------------

  def stale_reason(self, holder: Dict[str, Any]) -> Optional[str]:
    """Why `holder` no longer holds the lease, or None while it does."""
    if holder.get("host") == socket.gethostname():
      pid = int(holder.get("pid", -1))
      if pid == os.getpid() and holder.get("token") != self.token:
        return None  # This process runs another training on the workdir: it is alive.
      if not _pid_exists(pid):
        return f"its process {pid} on this host no longer exists"
      if holder.get("pid_start") and process_start(pid) != holder["pid_start"]:
        return f"process {pid} on this host is another process now (the holder is gone)"
      return None
    age = time.time() - float(holder.get("heartbeat", 0))
    if age > self.timeout:
      return (f"its heartbeat is {age:.0f} s old (config.lease_timeout_seconds="
              f"{self.timeout:g})")
    return None

  def acquire(self) -> None:
    """Takes the lease or raises WorkdirInUseError naming the holder and what to do."""
    storage.makedirs(self.workdir)
    self._started = time.time()
    for _ in range(_RACE_ATTEMPTS):
      with self._exclusive():
        holder = self.read()
        if holder is not None:
          reason = self.stale_reason(holder)
          if reason is None and not self.take_over:
            raise WorkdirInUseError(
                f"--workdir={self.workdir} is in use by another training run ("
                f"{_describe(holder)}; heartbeat "
                f"{time.time() - float(holder.get('heartbeat', 0)):.0f} s ago). Wait for it "
                "to finish, stop it (SIGTERM saves a checkpoint), or, if it is gone, re-run "
                "with --config.take_over_workdir=True. Nothing was written.")
        try:
          self._write()
        except gcs.ChangedMeanwhile:  # Another run wrote it since: decide again on its record.
          logging.info("The lease %s changed while this run took it; reading it again.",
                       self.path)
          continue
        if holder is not None:
          logging.warning("Took over the lease of %s from %s: %s.", self.workdir,
                          _describe(holder), reason or "config.take_over_workdir=True")
        break
    else:
      raise WorkdirInUseError(
          f"The lease {self.path} changed {_RACE_ATTEMPTS} times while this run tried to take "
          "it: other runs are starting on this workdir. Nothing was written.")
    self._thread = threading.Thread(target=self._heartbeat, name="jaxgan-lease", daemon=True)
    self._thread.start()

  def _heartbeat(self) -> None:
    while not self._stop.wait(self.heartbeat_seconds):
      try:
        with self._exclusive():
          holder = self.read()
          if holder is None or holder.get("token") != self.token:
            self.lost = ("the lease record is gone" if holder is None
                         else f"the lease was taken over by {_describe(holder)}")
            logging.error("Lost the workdir lease of %s: %s. Stopping at the next step.",
                          self.workdir, self.lost)
            return
          self._write()
      except (OSError, WorkdirInUseError) as e:  # A storage hiccup: retry at the next beat.
        logging.warning("Could not refresh the workdir lease %s: %s", self.path, e)

  def check(self) -> None:
    """Raises WorkdirInUseError if the lease was taken from this run."""
    if self.lost:
      raise WorkdirInUseError(
          f"This run no longer holds --workdir={self.workdir}: {self.lost}. It stopped without "
          "writing a checkpoint; the other run owns the workdir now.")

  def release(self) -> None:
    """Gives the lease back (if it is still ours) and stops the heartbeat."""
    self._stop.set()
    if self._thread is not None:
      self._thread.join()
      self._thread = None
    try:
      with self._exclusive():
        holder = self.read()
        if holder is not None and holder.get("token") == self.token:
          if self._versioned:
            gcs.remove_versioned(self.path, self._generation)
          else:
            storage.remove(self.path)
    except (OSError, WorkdirInUseError) as e:
      logging.warning("Could not give back the workdir lease %s: %s", self.path, e)


def take_for_run(workdir: str, timeout_seconds: float, take_over: bool) -> Optional[Lease]:
  """The run's lease: taken by process 0, the decision shared with every process (each
  raises WorkdirInUseError if it was refused). Returns the Lease on process 0, else None."""
  import jax  # pylint: disable=g-import-not-at-top
  if jax.process_count() == 1:
    lease = Lease(workdir, timeout_seconds, take_over)
    lease.acquire()
    return lease
  import numpy as np  # pylint: disable=g-import-not-at-top
  from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
  lease, refused = None, None
  if jax.process_index() == 0:
    lease = Lease(workdir, timeout_seconds, take_over)
    try:
      lease.acquire()
    except WorkdirInUseError as e:
      lease, refused = None, e
  taken = int(multihost_utils.broadcast_one_to_all(np.int32(refused is None)))
  if refused is not None:
    raise refused
  if not taken:
    raise WorkdirInUseError(f"Process 0 of this run was refused the lease of --workdir="
                            f"{workdir}: another training run holds it (process 0's log names "
                            "it). Nothing was written.")
  return lease


def check_run_lease(lease: Optional[Lease]) -> None:
  """Raises WorkdirInUseError on every process if the run lost its lease. With several
  processes it is a collective (call it at the same steps on all, e.g. before checkpoints)."""
  import jax  # pylint: disable=g-import-not-at-top
  if jax.process_count() == 1:
    if lease is not None:
      lease.check()
    return
  import numpy as np  # pylint: disable=g-import-not-at-top
  from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
  lost = int(multihost_utils.broadcast_one_to_all(np.int32(bool(lease and lease.lost))))
  if lease is not None:
    lease.check()
  if lost:
    raise WorkdirInUseError("Process 0 of this run lost the workdir lease to another run; "
                            "this run stopped without writing a checkpoint.")
