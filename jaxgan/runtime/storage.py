"""Every file jaxgan reads or writes goes through here: local paths and remote URIs alike.

A path is *remote* when it carries a URI scheme (`gs://bucket/run`, TensorFlow's in-memory
`ram://...`, which the tests use). Local paths keep the behaviour of `os` and the builtin
`open` (absolute paths, `~` expanded, fsync'd atomic renames); gs:// paths go through
`jaxgan.runtime.gcs` (gcsfs: one client, which the tests point at a GCS server on
127.0.0.1); other schemes through `tf.io.gfile` (TensorFlow is a dependency already, for tfds
and TensorBoard), for every filesystem TensorFlow has a plug-in for. Nothing here ever turns
`gs://x` into a local `gs:/x`: `absolute` and `join` leave URIs alone, and no function calls
`os` on one.

Atomicity: `write_atomically` writes under a temporary name beside the target and renames it,
so a reader sees the old file or the new one; on GCS, where an object appears whole or not at
all, it is one upload (a rename there is a copy then a delete). `append_text` is a true append
locally; object stores cannot append, so the object is rewritten (the files appended to,
metrics.jsonl and the histories, are small).

Checkpoints are orbax's (it speaks local paths and gs://, see `checkpointing.py`).
"""
from __future__ import annotations

import builtins
import contextlib
import glob as local_glob
import io
import os
import posixpath
import shutil
import tempfile
import uuid
from typing import IO, Iterator, List

import numpy as np

from jaxgan.core import errors


def is_remote(path: str) -> bool:
  """True for a URI (scheme://...), False for a local path."""
  return "://" in str(path)


def scheme(path: str) -> str:
  """'gs', 'ram', ... of a URI; '' for a local path."""
  return str(path).split("://", 1)[0] if is_remote(path) else ""


def _gfile():
  import tensorflow as tf  # pylint: disable=g-import-not-at-top (seconds to import)
  return tf.io.gfile


@contextlib.contextmanager
def _as_os_errors(path: str) -> Iterator[None]:
  """TensorFlow's filesystem errors as the OSErrors local I/O raises, so that callers handle
  one kind (FileNotFoundError for a missing path). Local paths pass through untouched."""
  if not is_remote(path) or _on_gcs(path):  # gcs names its errors itself.
    yield
    return
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  try:
    yield
  except tf.errors.NotFoundError as e:
    raise FileNotFoundError(f"{path}: {e.message}") from e
  except tf.errors.OpError as e:
    raise OSError(f"{path}: {e.message}") from e


def _remote(name: str, path: str, *args, **kwargs):
  """gcs.<name>(path, ...) for gs://, else tf.io.gfile.<name>(path, ...) with its errors as
  OSErrors."""
  if _on_gcs(path):
    return getattr(_gcs(), name)(path, *args, **kwargs)
  with _as_os_errors(path):
    return getattr(_gfile(), name)(path, *args, **kwargs)


def _on_gcs(path: str) -> bool:
  return scheme(path) == "gs"


def _gcs():
  from jaxgan.runtime import gcs  # pylint: disable=g-import-not-at-top (imports gcsfs lazily)
  return gcs


def absolute(path: str) -> str:
  """A local path made absolute (`~` expanded); a URI unchanged."""
  path = str(path)
  return path if is_remote(path) else os.path.abspath(os.path.expanduser(path))


def expand_user(path: str) -> str:
  """`~` expanded in a local path; a URI unchanged."""
  path = str(path)
  return path if is_remote(path) else os.path.expanduser(path)


def join(base: str, *parts: str) -> str:
  """`base/part/...`: posix joining for URIs (so `gs://b` + `x` is `gs://b/x`)."""
  return posixpath.join(str(base), *parts) if is_remote(base) else os.path.join(base, *parts)


def dirname(path: str) -> str:
  return posixpath.dirname(str(path)) if is_remote(path) else os.path.dirname(path)


def basename(path: str) -> str:
  """The last component, ignoring a trailing slash."""
  return posixpath.basename(str(path).rstrip("/"))


def exists(path: str) -> bool:
  return _remote("exists", path) if is_remote(path) else os.path.exists(path)


def isdir(path: str) -> bool:
  return _remote("isdir", path) if is_remote(path) else os.path.isdir(path)


def isfile(path: str) -> bool:
  if _on_gcs(path):
    return _gcs().isfile(path)
  if is_remote(path):
    return _remote("exists", path) and not _remote("isdir", path)
  return os.path.isfile(path)


def makedirs(path: str) -> None:
  """Creates `path` and its parents; no error if it exists."""
  if is_remote(path):
    _remote("makedirs", path)
  else:
    os.makedirs(path, exist_ok=True)


def make_parent(path: str) -> None:
  """Creates the folder a file `path` will be written in (none for a bare file name)."""
  parent = dirname(path)
  if parent:
    makedirs(parent)


def listdir(path: str) -> List[str]:
  """The names in folder `path` (no trailing slashes), unsorted."""
  if is_remote(path):
    return [name.rstrip("/") for name in _remote("listdir", path)]
  return os.listdir(path)


def glob(pattern: str) -> List[str]:
  """Paths matching `pattern` (`*` within a folder), sorted."""
  return sorted(_remote("glob", pattern) if is_remote(pattern) else local_glob.glob(pattern))


def open_file(path: str, mode: str = "r") -> IO:
  """An open file ('r', 'rb', 'w', 'wb', 'a'); the caller closes it (use `with`)."""
  if not is_remote(path):
    return builtins.open(path, mode)
  if _on_gcs(path):
    return _gcs().open_file(path, mode)
  if "r" in mode and not _remote("exists", path):  # gfile would fail only at the first read.
    raise FileNotFoundError(path)
  return _gfile().GFile(path, mode)


def read_text(path: str) -> str:
  with open_file(path) as f:
    return f.read()


def read_bytes(path: str) -> bytes:
  with open_file(path, "rb") as f:
    return f.read()


@contextlib.contextmanager
def output_file(path: str) -> Iterator[IO[bytes]]:
  """A binary file to write `path` through (savefig, PIL, np.savez: pass the format, as a
  file object carries no extension). Remote: buffered in memory, written whole at the end."""
  if not is_remote(path):
    with builtins.open(path, "wb") as f:
      yield f
    return
  buffer = io.BytesIO()
  yield buffer
  write_atomically(path, buffer.getvalue())


@contextlib.contextmanager
def input_file(path: str) -> Iterator[IO[bytes]]:
  """A binary file to read `path` from (np.load, PIL.Image.open); remote ones read whole."""
  if not is_remote(path):
    with builtins.open(path, "rb") as f:
      yield f
    return
  yield io.BytesIO(read_bytes(path))


def _extension(path: str) -> str:
  return posixpath.splitext(str(path))[1].lstrip(".").lower()


def save_figure(figure, path: str, **savefig_kwargs) -> None:
  """A matplotlib figure to `path` (its format from the extension; PNG without one)."""
  with output_file(path) as f:
    figure.savefig(f, format=_extension(path) or "png", **savefig_kwargs)


def save_image(image, path: str, **save_kwargs) -> None:
  """A PIL image to `path` (PNG, GIF, ...: from the extension)."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  image_format = Image.registered_extensions().get("." + _extension(path))
  if image_format is None:
    raise errors.InvalidInputError(f"{path!r}: not an image file name (.png, .gif, .jpg, ...).")
  with output_file(path) as f:
    image.save(f, format=image_format, **save_kwargs)


def load_image(path: str):
  """The PIL image at `path`, read whole (the file is closed on return)."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  with input_file(path) as f, Image.open(f) as image:
    image.load()
    return image.copy()


def save_npz(path: str, *, compressed: bool = False, **arrays) -> None:
  """np.savez(_compressed) of `arrays` to `path` (a local name without .npz gets it
  appended, as numpy does)."""
  save = np.savez_compressed if compressed else np.savez
  if not is_remote(path):
    save(path, **arrays)
    return
  buffer = io.BytesIO()
  save(buffer, **arrays)
  write_atomically(path, buffer.getvalue())


def load_npz(path: str, allow_pickle: bool = False):
  """{name: array} of the .npz at `path`, read whole."""
  with input_file(path) as f, np.load(f, allow_pickle=allow_pickle) as data:
    return {name: data[name] for name in data.files}


def remove(path: str) -> None:
  """Deletes file `path` (FileNotFoundError if there is none)."""
  if _on_gcs(path):
    _gcs().remove(path)
  elif is_remote(path):
    if not _remote("exists", path):
      raise FileNotFoundError(path)
    _remote("remove", path)
  else:
    os.remove(path)


def rmtree(path: str) -> None:
  """Deletes folder `path` and everything in it."""
  if is_remote(path):
    _remote("rmtree", path)
  else:
    shutil.rmtree(path)


def write_atomically(path: str, data, *, fsync: bool = False) -> None:
  """Replaces `path` with `data` (str or bytes): written under a temporary name beside it,
  then renamed, so a reader (or a kill) sees the old file or the new one, never half.
  fsync: flush a local file to disk before the rename (for records that must survive power
  loss, e.g. the workdir lease)."""
  binary = isinstance(data, (bytes, bytearray))
  if _on_gcs(path):
    _gcs().write_bytes(path, data if binary else data.encode("utf-8"))
    return
  if is_remote(path):
    tmp = join(dirname(path), f".{basename(path)}.{uuid.uuid4().hex}")
    with _as_os_errors(path):
      with _gfile().GFile(tmp, "wb" if binary else "w") as f:
        f.write(data)
      _gfile().rename(tmp, path, overwrite=True)
    return
  fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".",
                             prefix=f".{os.path.basename(path)}.")
  try:
    with os.fdopen(fd, "wb" if binary else "w") as f:
      f.write(data)
      if fsync:
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise


def append_text(path: str, text: str) -> None:
  """Appends `text` to `path` (created if absent)."""
  with _as_os_errors(path), open_file(path, "a") as f:
    f.write(text)


def check_writable(directory: str) -> None:
  """Creates `directory` and writes then deletes a probe file there (OSError on failure)."""
  makedirs(directory)
  probe = join(directory, f".write_probe.{uuid.uuid4().hex}")
  with _as_os_errors(probe), open_file(probe, "w") as f:
    f.write("")
  remove(probe)
