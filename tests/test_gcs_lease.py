"""One run per gs:// workdir: the lease's writes are conditional on GCS generations, against a
real GCS server on 127.0.0.1 (fake-gcs-server, tests/gcs_server.py)."""
import json
import os
import subprocess
import sys
import time

import pytest

from jaxgan.runtime import gcs, storage
from jaxgan.workdir import workdir_lease
from jaxgan.workdir.workdir_lease import Lease, WorkdirInUseError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_two_runs_that_both_read_free_cannot_both_write(gcs_bucket):
  """The race a lock would prevent, replayed step by step: A and B read "no lease", A writes,
  B's write (create-if-absent) is refused; B, taking the lease, is refused naming A."""
  workdir = storage.join(gcs_bucket, "run")
  a, b = Lease(workdir, 600), Lease(workdir, 600)
  for lease in (a, b):
    lease._started = time.time()  # pylint: disable=protected-access
    assert lease.read() is None
  a._write()  # pylint: disable=protected-access
  with pytest.raises(gcs.ChangedMeanwhile):
    b._write()  # pylint: disable=protected-access
  assert json.loads(storage.read_text(a.path))["token"] == a.token  # A's record stands.
  with pytest.raises(WorkdirInUseError, match="in use by another training run"):
    b.acquire()


def test_a_stale_lease_renewed_meanwhile_is_not_taken_over(gcs_bucket):
  """A holder on another host with an old heartbeat is stale; if it renews between the
  newcomer's read and write, the takeover's write is refused and the newcomer is refused."""
  workdir = storage.join(gcs_bucket, "run")
  path = storage.join(workdir, workdir_lease.LEASE_FILE)
  holder = {"host": "other-host", "pid": 1, "started": 0, "command": "x", "token": "t"}
  generation = gcs.write_versioned(path, json.dumps({**holder, "heartbeat": 0}).encode(), 0)
  newcomer = Lease(workdir, 600)
  newcomer._started = time.time()  # pylint: disable=protected-access
  assert newcomer.stale_reason(newcomer.read()) is not None  # 600 s without a heartbeat.
  gcs.write_versioned(path, json.dumps({**holder, "heartbeat": time.time()}).encode(),
                      generation)  # The holder renews.
  with pytest.raises(gcs.ChangedMeanwhile):
    newcomer._write()  # pylint: disable=protected-access
  with pytest.raises(WorkdirInUseError, match="other-host"):
    newcomer.acquire()
  # Once it is stale again, the takeover succeeds, and the old holder's next renewal (at the
  # generation it wrote) is refused: it cannot overwrite the takeover.
  stale = gcs.write_versioned(path, json.dumps({**holder, "heartbeat": 0}).encode(),
                              gcs.read_versioned(path)[1])
  newcomer.acquire()
  newcomer.release()  # Stops its heartbeat first; deletes its own record.
  assert not storage.exists(path)
  with pytest.raises(gcs.ChangedMeanwhile):
    gcs.write_versioned(path, b"{}", stale)


@pytest.mark.multiprocess
def test_two_processes_racing_for_one_workdir_one_wins(gcs_bucket):
  """Two processes take the lease of one gs:// workdir at the same instant, both reading
  "free" before either writes, three times: each time exactly one holds it, and the other's
  write is refused by the server (create-if-absent), after which it is refused the lease."""
  script = (
      "import sys, time; sys.path.insert(0, sys.argv[3])\n"
      "from absl import logging; logging.set_verbosity(logging.INFO)\n"
      "from jaxgan.workdir.workdir_lease import Lease, WorkdirInUseError\n"
      "lease = Lease(sys.argv[1], 600)\n"
      # Both read "free" before either writes: a slow network between the read and the
      # write, as two runs starting within the same second would see it.
      "read = lease.read\n"
      "def slow_read():\n"
      "  record = read(); time.sleep(1.0); return record\n"
      "lease.read = slow_read\n"
      "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))\n"
      "try:\n"
      "  lease.acquire()\n"
      "except WorkdirInUseError:\n"
      "  print('refused'); sys.exit(0)\n"
      "print('holds', flush=True); time.sleep(2); lease.release()\n")
  for attempt in range(3):
    workdir = storage.join(gcs_bucket, f"run{attempt}")
    start_at = str(time.time() + 6)  # After both have imported jaxgan.
    processes = [subprocess.Popen([sys.executable, "-c", script, workdir, start_at, ROOT],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    outputs = [p.communicate(timeout=60) for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    assert sorted(out.strip() for out, _ in outputs) == ["holds", "refused"], outputs
    assert not storage.exists(storage.join(workdir, workdir_lease.LEASE_FILE))  # Released.
    # The loser's create-if-absent was refused (HTTP 412), then it read the winner's record.
    assert any("changed while this run took it" in err for _, err in outputs), outputs
