"""Keeps the libraries' log lines out of a command's terminal, so jaxgan's own lines show.

Without it a training run prints TensorFlow's C++ banners (oneDNN, "All log messages before
absl::InitializeLog()"), JAX's "Unable to initialize backend 'tpu'" and orbax's INFO lines
(several per checkpoint). `quiet()` is called first by each command (jaxgan.main, .sample,
.evaluate):
  * TensorFlow is imported with the process's stderr pointed at /dev/null (its C++ banners
    are written at load time, straight to file descriptor 2, and TF 2.21 no longer honours
    TF_CPP_MIN_LOG_LEVEL for them); TF_CPP_MIN_LOG_LEVEL defaults to 2 for what comes later;
  * INFO records from orbax and JAX's backend probing are dropped from absl's handler.
Set JAXGAN_LIBRARY_LOGS=1 to see all of them again.
"""
from __future__ import annotations

import logging as logging_std
import os
import sys

from absl import logging

ENV_SHOW = "JAXGAN_LIBRARY_LOGS"
_QUIET_LIBRARIES = ("/orbax/", "/jax/_src/xla_bridge.py")


class HideLibraryInfo(logging_std.Filter):
  """Drops INFO (and lower) records logged from the quietened libraries' source files."""

  def filter(self, record: logging_std.LogRecord) -> bool:
    return record.levelno > logging_std.INFO or not any(
        part in record.pathname for part in _QUIET_LIBRARIES)


def quiet(import_tensorflow: bool = True) -> None:
  """See the module docstring. Idempotent; does nothing with JAXGAN_LIBRARY_LOGS=1.

  Args:
    import_tensorflow: import it now, silently (~3 s); False for a command that never
      imports it (jaxgan.sample), which then starts without paying for it.
  """
  if os.environ.get(ENV_SHOW, "") not in ("", "0"):
    return
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  handler = logging.get_absl_handler()
  if not any(isinstance(f, HideLibraryInfo) for f in handler.filters):
    handler.addFilter(HideLibraryInfo())
  if import_tensorflow:
    _import_tensorflow_silently()


def _import_tensorflow_silently() -> None:
  """Imports TensorFlow with file descriptor 2 on /dev/null (restored after, also when the
  import fails: its exception is raised as usual)."""
  if "tensorflow" in sys.modules:
    return
  sys.stderr.flush()
  saved = os.dup(2)
  try:
    with open(os.devnull, "w") as null:
      os.dup2(null.fileno(), 2)
      try:
        import tensorflow  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
      finally:
        os.dup2(saved, 2)
  finally:
    os.close(saved)
