"""How the command-line tools report the errors that are the user's to fix.

A bad config, missing or malformed data, an incompatible or damaged checkpoint, an unwritable
workdir, a broken installation: jaxgan raises these as its own classes, all `errors.UserError`
(the data's, the checkpoints', the config's ... each defined where it is raised), whose message
says what to do; a traceback into jaxgan's internals would only bury it. The tools (jaxgan.main,
jaxgan.sample, jaxgan.evaluate, jaxgan.translate) print such an error as one line and exit with
status 1. A module that is not installed is a broken installation wherever it is imported: it
is reported the same way, naming the module. Anything else, a library's ValueError or
FileNotFoundError included, is a bug and keeps its traceback.
"""
from __future__ import annotations

import sys
import traceback
from typing import Any, Callable

from absl import logging

from jaxgan.core import errors

USER_ERRORS = (errors.UserError,)


def run_reporting(fn: Callable[..., Any], *args: Any) -> Any:
  """`fn(*args)`; a user error, or a module that is not installed, is logged as one line and
  exits with status 1."""
  try:
    return fn(*args)
  except USER_ERRORS as e:
    logging.error("%s: %s", type(e).__name__, e)
    sys.exit(1)
  except ModuleNotFoundError as e:
    if not e.name:
      raise
    broken = errors.broken_install(e, _importer(e))
    logging.error("%s: %s", type(broken).__name__, broken)
    sys.exit(1)


def _importer(error: ModuleNotFoundError) -> str:
  """Who imported the missing module: the last frame of the traceback outside importlib, as
  "package (path:line)"."""
  frames = [f for f in traceback.extract_tb(error.__traceback__)
            if "importlib" not in f.filename and "<frozen" not in f.filename]
  if not frames:
    return "jaxgan"
  frame = frames[-1]
  parts = frame.filename.replace("\\", "/").split("/")
  package = next((parts[i + 1] for i in range(len(parts) - 1)
                  if parts[i] in ("site-packages", "dist-packages")), parts[-1])
  return f"{package} ({'/'.join(parts[-2:])}:{frame.lineno})"
