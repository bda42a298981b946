"""The errors that are the user's to fix, and how command-line tools report them.

A bad config, missing or malformed data, an incompatible or damaged checkpoint, an unwritable
workdir: the message says what to do, and a traceback into jaxgan's internals would only bury
it. The tools (jaxgan.main, jaxgan.sample, jaxgan.evaluate) print such an error as one line
and exit with status 1; anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import sys
from typing import Any, Callable

from absl import logging

from jaxgan import builders, checkpointing, workdir_lease
from jaxgan.data import idx, sources

# FloatingPointError covers train.NonFiniteError (a NaN/Inf stop names the step and values).
USER_ERRORS = (builders.ConfigError, sources.DataUnavailableError, idx.IdxFormatError,
               checkpointing.IncompatibleCheckpointError, checkpointing.CorruptCheckpointError,
               checkpointing.WorkdirError, workdir_lease.WorkdirInUseError, FileNotFoundError,
               FloatingPointError, ValueError)


def run_reporting(fn: Callable[..., Any], *args: Any) -> Any:
  """`fn(*args)`; a USER_ERRORS exception is logged as one line and exits with status 1."""
  try:
    return fn(*args)
  except USER_ERRORS as e:
    logging.error("%s: %s", type(e).__name__, e)
    sys.exit(1)
