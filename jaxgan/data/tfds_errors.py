"""Why tensorflow-datasets could not provide a split, as an error that names the real cause.

tfds reports every failure of `tfds.load` as some exception of its own or of the libraries under
it. `explain` sorts them by this rule, looking at the exception and everything that caused it
(its __cause__/__context__ chain), first match wins:

1. A ModuleNotFoundError: a broken installation (tfds imports a module that is not
   installed) -> `errors.BrokenInstallError`, naming the module and what to install; no word
   about the network.
2. ValueError "Unknown split ...": the dataset has no such split ->
   `sources.SplitNotFoundError`, naming the splits it has.
3. tfds' `NonMatchingChecksumError`: a downloaded file is not the one tfds registered ->
   `DownloadChecksumError`, naming the URL and what to delete.
4. requests' ConnectionError or Timeout, urllib's URLError, socket errors (ConnectionError,
   TimeoutError, socket.gaierror), tfds' `DownloadError`: no network, or the server refused
   -> `sources.DataUnavailableError`, with the offline options.
5. TensorFlow's NotFoundError, DataLossError or FailedPreconditionError while reading, or
   tfds' "splits is empty" KeyError: the prepared folder is incomplete or damaged (an
   interrupted copy, a deleted shard) -> `PreparedDataDamagedError`, naming the folder to
   delete.
6. Anything else: unknown, a bug here or in a library -> not wrapped: it propagates with its
   traceback.

Missing local files (config.dataset.local_dir) never reach tfds: `sources` and `local_files`
name the files they looked for.
"""
from __future__ import annotations

import contextlib
import socket
import urllib.error
from typing import Iterator, Optional

from jaxgan.core import errors
from jaxgan.data.sources import DataUnavailableError, IDX_DATASETS, SplitNotFoundError


class DownloadChecksumError(DataUnavailableError):
  """A file tfds downloaded does not match the size and sha256 tfds registered for it."""


class PreparedDataDamagedError(DataUnavailableError):
  """The prepared tfds folder of a dataset is incomplete or damaged."""


def _is_network(error: BaseException) -> bool:
  if isinstance(error, (ConnectionError, TimeoutError, socket.gaierror, urllib.error.URLError)):
    return True
  try:
    import requests  # pylint: disable=g-import-not-at-top
    if isinstance(error, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
      return True
  except ImportError:
    pass
  return type(error).__name__ == "DownloadError"  # tfds.download.DownloadError (HTTP status)


def _is_damaged(error: BaseException) -> bool:
  if type(error).__name__ in ("NotFoundError", "DataLossError", "FailedPreconditionError"):
    return True  # tf.errors.*, raised while reading the prepared shards.
  return isinstance(error, KeyError) and "splits" in str(error) and "empty" in str(error)


def explain(name: str, split: str, data_dir: Optional[str], error: BaseException
            ) -> Optional[Exception]:
  """The error to raise instead of `error` (see the module docstring), or None to let `error`
  propagate as it is.

  Args:
    name: the tfds dataset name (e.g. "mnist", "cycle_gan/horse2zebra").
    split: the split asked for.
    data_dir: config.dataset.data_dir, or None for tfds' default (~/tensorflow_datasets).
    error: what tfds raised.
  """
  broken = errors.broken_install(error, "tensorflow-datasets")
  if broken is not None:
    return broken
  chain = list(errors.causes(error))
  what = f"tensorflow-datasets could not provide {name!r} split {split!r}"
  if isinstance(error, ValueError) and str(error).startswith("Unknown split"):
    return SplitNotFoundError(f"{what}: {error} (--config.dataset.split)")
  for cause in chain:
    if type(cause).__name__ == "NonMatchingChecksumError":
      return DownloadChecksumError(
          f"{what}: a downloaded file is not the one tensorflow-datasets registered for it "
          f"(its size or sha256 differs: the file changed at its source, or a proxy or login "
          f"page answered instead). {_first_line(cause)} Delete the downloaded file (under "
          f"{_folder(name, data_dir, 'downloads')}) and run again; if it fails the same way, "
          "the source has changed and tensorflow-datasets needs updating.")
  for cause in chain:
    if _is_network(cause):
      return DataUnavailableError(
          f"{what}: the download failed ({type(cause).__name__}: {_first_line(cause)}). "
          "Without network access tfds cannot download it; prepare it once where there is "
          f"network (python -c \"import tensorflow_datasets as tfds; tfds.load('{name}')\") "
          "and copy ~/tensorflow_datasets here, or set --config.dataset.data_dir."
          f"{_offline_hint(name)}")
  for cause in chain:
    if _is_damaged(cause):
      folder = _folder(name, data_dir, "prepared")
      return PreparedDataDamagedError(
          f"{what}: its prepared folder {folder} is incomplete or damaged "
          f"({type(cause).__name__}: {_first_line(cause)}). Delete that folder (rm -r "
          f"{folder}) and run again: tensorflow-datasets prepares it anew.")
  return None


@contextlib.contextmanager
def explained(name: str, split: str, data_dir: Optional[str]) -> Iterator[None]:
  """Runs the tfds calls inside it: a failure is raised as the error `explain` names its cause
  by, or propagates as it is (a bug, with its traceback) when `explain` knows no cause.
  jaxgan's own errors (already named) pass unchanged."""
  try:
    yield
  except errors.UserError:
    raise
  except Exception as e:  # Failures come as many types: explain sorts them by cause.
    known = explain(name, split, data_dir, e)
    if known is None:
      raise
    raise known from e


def _first_line(error: BaseException) -> str:
  text = str(error).strip().splitlines()
  return text[0][:300] if text else ""


def _folder(name: str, data_dir: Optional[str], which: str) -> str:
  """The dataset's prepared folder (data_dir/name/version) or its downloads folder."""
  try:
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    builder = tfds.builder(name, data_dir=data_dir)
    if which == "prepared":
      return str(builder.data_dir)
    return str(builder.data_dir_root) + "/downloads"
  except Exception:  # pylint: disable=broad-except  (only for the message)
    root = data_dir or "~/tensorflow_datasets"
    return f"{root}/{name}" if which == "prepared" else f"{root}/downloads"


def _offline_hint(name: str) -> str:
  if name not in IDX_DATASETS:
    return ""
  return (" For offline use, point --config.dataset.local_dir at a folder holding the "
          f"original files ({', '.join(IDX_DATASETS[name]['train'])}, "
          f"{', '.join(IDX_DATASETS[name]['test'])}, each optionally .gz) and set "
          "--config.dataset.split to a split that is there.")
