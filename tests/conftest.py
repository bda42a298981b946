"""Test setup: 4 fake CPU devices and fast compiles (set before JAX is imported), repo root
importable."""
import os
import shutil
import sys
import tempfile
import uuid

import pytest

# Most tests are compile-bound. XLA's lowest backend (LLVM) optimisation level compiles the
# suite's steps ~1.8x faster (the whole suite: 11.5 -> 6.5 minutes on 2 cores, 2026-12-01);
# the HLO the tests check is the same, only the machine code is less optimised. A level in
# the caller's own XLA_FLAGS comes later and wins.
os.environ["XLA_FLAGS"] = ("--xla_backend_optimization_level=0 " +
                           os.environ.get("XLA_FLAGS", "") +
                           " --xla_force_host_platform_device_count=4")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Many tests compile the same small programs (the tiny model's step, the sampler): in the
# README's run (pytest-xdist workers) they share a persistent XLA compilation cache for this
# run only, so each program compiles once (test_train.py alone: 131 -> 97 s on 2 cores). A
# cached executable is the one the compiler would build. Not for the -n 0 reliability runs:
# those SIGKILL processes that could be writing an entry.
def _cache_dir(run_id: str) -> str:
  return os.path.join(tempfile.gettempdir(), f"jaxgan-tests-xla-cache-{run_id}")


_RUN_ID = os.environ.get("PYTEST_XDIST_TESTRUNUID")
if _RUN_ID and "JAX_COMPILATION_CACHE_DIR" not in os.environ:
  os.environ["JAX_COMPILATION_CACHE_DIR"] = _cache_dir(_RUN_ID)
  os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
  os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
# The CLIs the tests launch (jaxgan.main, .sample, .evaluate) use that run's cache ('auto'
# reads JAX_COMPILATION_CACHE_DIR), or none in the -n 0 runs: never the user's own cache.
os.environ.setdefault("JAXGAN_COMPILATION_CACHE", "auto" if _RUN_ID else "off")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# The evaluation classifiers the tests train go to a cache of this run (shared by its workers),
# never the user's ~/.cache/jaxgan/classifiers.
def _classifier_cache_dir(run_id: str) -> str:
  return os.path.join(tempfile.gettempdir(), f"jaxgan-tests-classifiers-{run_id}")


os.environ.setdefault("JAXGAN_CLASSIFIER_CACHE",
                      _classifier_cache_dir(_RUN_ID or f"pid{os.getpid()}"))
# Likewise jaxgan's other caches (fetched weights, reference features): never ~/.cache/jaxgan.
def _jaxgan_cache_dir(run_id: str) -> str:
  return os.path.join(tempfile.gettempdir(), f"jaxgan-tests-cache-{run_id}")


os.environ.setdefault("JAXGAN_CACHE", _jaxgan_cache_dir(_RUN_ID or f"pid{os.getpid()}"))

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)  # For `configs`, which is not an installed package.


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
  """A folder of MNIST-format IDX files (64 random digits), written once per test module."""
  from tests import helpers  # pylint: disable=g-import-not-at-top (after XLA_FLAGS above)
  return helpers.write_fake_mnist(str(tmp_path_factory.mktemp("mnist")), n=64)


def pytest_configure(config):
  """The xdist controller names the run, so that it knows which cache to remove."""
  if not hasattr(config, "workerinput") and getattr(config.option, "testrunuid", 0) is None:
    config.option.testrunuid = uuid.uuid4().hex


def pytest_sessionfinish(session):
  """The controller removes the run's caches once every worker is done."""
  if not hasattr(session.config, "workerinput"):
    run_id = getattr(session.config.option, "testrunuid", None)
    if run_id:  # The workers' caches (xdist runs).
      shutil.rmtree(_cache_dir(run_id), ignore_errors=True)
      shutil.rmtree(_classifier_cache_dir(run_id), ignore_errors=True)
      shutil.rmtree(_jaxgan_cache_dir(run_id), ignore_errors=True)
    for own in (os.environ["JAXGAN_CLASSIFIER_CACHE"], os.environ["JAXGAN_CACHE"]):
      # This process's (-n 0 runs).
      if os.path.basename(own).startswith(("jaxgan-tests-classifiers-", "jaxgan-tests-cache-")):
        shutil.rmtree(own, ignore_errors=True)


@pytest.fixture(scope="session")
def gcs_server():
  """A GCS server on 127.0.0.1 for this test process (tests/gcs_server.py)."""
  from tests import gcs_server as server_lib  # pylint: disable=g-import-not-at-top
  yield from server_lib.running_server()


@pytest.fixture
def gcs_bucket(gcs_server):
  """A new, empty bucket on the test's GCS server: "gs://NAME"."""
  return gcs_server.new_bucket()
