"""The root of jaxgan's own errors that are the user's to fix, and the broken installation.

`UserError` marks an error whose message says what to do (a bad config, missing data, a
damaged checkpoint, a broken installation): the commands print it as one line
(`jaxgan.core.user_errors`). Everything else, a library's `ValueError` included, is a bug and keeps
its traceback.
"""
from __future__ import annotations

from typing import Iterator, Optional

# Import names whose package on the package index has another name.
_PIP_NAMES = {"PIL": "pillow", "yaml": "pyyaml", "google.protobuf": "protobuf",
              "tensorflow": "tensorflow-cpu (Linux x86-64) or tensorflow", "cv2": "opencv-python"}


class UserError(Exception):
  """An error the user fixes; its message names the cause and the fix."""


class InvalidInputError(UserError, ValueError):
  """A value the user gave (a flag, a config value, a file's contents, the data) is invalid;
  the message names it and the valid choices."""


class MissingFileError(UserError, FileNotFoundError):
  """A file or folder the user named (or a run's workdir holds) does not exist."""


class BrokenInstallError(UserError, ImportError):
  """A module that jaxgan or a library it uses imports is not installed."""


def causes(error: BaseException) -> Iterator[BaseException]:
  """`error`, then what caused it (its __cause__, else __context__), and so on."""
  seen = set()
  while error is not None and id(error) not in seen:
    seen.add(id(error))
    yield error
    error = error.__cause__ or error.__context__


def missing_module(error: BaseException) -> Optional[ModuleNotFoundError]:
  """The ModuleNotFoundError that `error` is or was caused by, or None. A library that fails
  to import one of its own dependencies often re-raises it as something else (tfds: as a
  download failure), so every cause is searched."""
  return next((cause for cause in causes(error)
               if isinstance(cause, ModuleNotFoundError) and cause.name), None)


def raise_if_broken_install(error: BaseException, needed_by: str) -> None:
  """Raises a BrokenInstallError (from `error`) if a missing module caused `error`: for the
  places that turn a library's many exception types into one message of their own, which
  would otherwise blame the data or the file for a broken installation."""
  broken = broken_install(error, needed_by)
  if broken is not None:
    raise broken from error


def broken_install(error: BaseException, needed_by: str) -> Optional[BrokenInstallError]:
  """A BrokenInstallError for `error` if a missing module caused it, else None.

  Args:
    error: what the library raised.
    needed_by: who imports the module, for the message (e.g. "tensorflow-datasets").
  """
  missing = missing_module(error)
  if missing is None:
    return None
  top = missing.name.split(".")[0]
  package = _PIP_NAMES.get(missing.name, _PIP_NAMES.get(top, top))
  return BrokenInstallError(
      f"{needed_by} needs the Python module {missing.name!r}, which is not installed: the "
      f"installation is incomplete. Install it (pip install {package}), or install jaxgan "
      "again with its dependencies (pip install -e \".[test]\", or with the tested versions: "
      "-c constraints/python3.X.txt).")
