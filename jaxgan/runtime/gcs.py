"""gs:// files through one client that can be pointed at any GCS server: gcsfs.

`jaxgan.runtime.storage` sends every gs:// path here (other URI schemes stay on
`tf.io.gfile`). TensorFlow's own GCS filesystem always talks to www.googleapis.com, so no byte
it writes can be tested against a server on this machine; gcsfs speaks GCS's JSON API to
`https://storage.googleapis.com`, or to `$STORAGE_EMULATOR_HOST` when that is set (the tests'
fake-gcs-server on 127.0.0.1), with the same credentials TensorFlow used: application-default
(a TPU VM's service account, `gcloud auth application-default login`), else anonymous.

GCS semantics that shape the functions below:
  * an object appears whole or not at all, so a single upload is already atomic: no
    temporary object and rename (a rename on GCS is a copy then a delete);
  * folders are name prefixes: making one only checks that its bucket exists (a missing
    bucket is named, never created: creating buckets is the user's, with its region and
    billing);
  * transient failures (HTTP 429, 5xx, dropped connections) are retried by gcsfs with
    exponential backoff (6 tries); what is left is raised as an OSError naming the path.

Paths given and returned carry the scheme (`gs://bucket/key`).
"""
from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import os
import uuid
from typing import IO, Iterator, List, Optional, Tuple

SCHEME = "gs://"
EMULATOR_VARIABLE = "STORAGE_EMULATOR_HOST"  # http://HOST:PORT of a test server (gcsfs reads it)


# What the libraries that write gs:// for jaxgan read from the environment, set (unless the
# user set them) when jaxgan is imported, before any of them looks:
LIBRARY_DEFAULTS = {
    # etils.epath (orbax's directory operations, tfds' data_dir) sends gs:// to TensorFlow's
    # filesystem whenever TensorFlow is importable; "false": to fsspec, i.e. gcsfs.
    "EPATH_USE_TF": "false",
    # gcsfs's package-level class asks each bucket's type over gRPC first (see filesystem()).
    "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",
}


def set_library_defaults() -> None:
  """LIBRARY_DEFAULTS into os.environ where unset; with $STORAGE_EMULATOR_HOST set, also
  TensorStore's (orbax's array writer's) endpoint and a placeholder token, so that one
  variable points every gs:// byte at a test server."""
  for name, value in LIBRARY_DEFAULTS.items():
    os.environ.setdefault(name, value)
  server = os.environ.get(EMULATOR_VARIABLE)
  if server:
    os.environ.setdefault("TENSORSTORE_GCS_HTTP_URL", server)
    os.environ.setdefault("GOOGLE_AUTH_TOKEN_FOR_TESTING", "jaxgan-test-server")
  # The gcsfs client fsspec makes for epath (orbax's folders): no listing cache. With one, a
  # process listed a checkpoints folder once and kept that answer: it missed the steps
  # another process (or TensorStore, which writes the arrays itself) wrote later; found by
  # the kill trials on a gs:// workdir. A test server takes no credentials.
  import fsspec.config  # pylint: disable=g-import-not-at-top
  for protocol in ("gs", "gcs"):
    options = fsspec.config.conf.setdefault(protocol, {})
    options.setdefault("use_listings_cache", False)
    if server:
      options.setdefault("token", "anon")


@functools.lru_cache(maxsize=1)
def filesystem():
  """The process's gcsfs client (created at the first gs:// access; importing gcsfs takes
  about a second)."""
  try:
    # The plain class, not the package's default `gcsfs.GCSFileSystem`: that one asks every
    # bucket's type (zonal / hierarchical namespace) over gRPC before its first write, which a
    # test server does not answer (a 60 s timeout per bucket on fake-gcs-server) and whose
    # features jaxgan does not use.
    from gcsfs.core import GCSFileSystem  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise ImportError(
        "gs:// paths need the package gcsfs, a dependency of jaxgan: this installation is "
        "incomplete; reinstall it (pip install -e .).") from e
  # No listing cache: the lease, the checkpoints' markers and the histories are read right
  # after another process (or this one) wrote them. A test server ($STORAGE_EMULATOR_HOST)
  # takes no credentials: looking them up could ask a cloud metadata server elsewhere.
  set_library_defaults()  # A test server set after jaxgan was imported.
  token = "anon" if os.environ.get(EMULATOR_VARIABLE) else None
  if "GCSFS_DEBUG" not in os.environ:
    # gcsfs logs each exhausted retry with its traceback; the OSError raised here names the
    # path and the cause once (GCSFS_DEBUG=DEBUG shows gcsfs's own log).
    logging.getLogger("gcsfs").setLevel(logging.CRITICAL)
  return GCSFileSystem(token=token, use_listings_cache=False, skip_instance_cache=True)


def _key(path: str) -> str:
  """gs://bucket/key -> bucket/key (gcsfs's form)."""
  path = str(path)
  if not path.startswith(SCHEME):
    raise ValueError(f"{path!r} is not a gs:// path")
  return path[len(SCHEME):].rstrip("/")


def bucket(path: str) -> str:
  return _key(path).split("/", 1)[0]


class ChangedMeanwhile(OSError):
  """A conditional write or delete found another generation of the object than the one it
  was given (HTTP 412): someone else wrote or removed it meanwhile."""


@contextlib.contextmanager
def named_errors(path: str) -> Iterator[None]:
  """gcsfs's failures as the OSErrors local I/O raises, each naming `path`: FileNotFoundError
  for a missing object or bucket, PermissionError for a refused one, ChangedMeanwhile for a
  failed precondition, OSError otherwise."""
  from gcsfs import retry  # pylint: disable=g-import-not-at-top
  try:
    yield
  except FileNotFoundError as e:
    raise FileNotFoundError(f"{path}: not found ({e})") from e
  except FileExistsError as e:  # gcsfs's name for HTTP 412.
    raise ChangedMeanwhile(f"{path}: the object changed meanwhile (HTTP 412: its generation "
                           "is not the one expected)") from e
  except PermissionError as e:
    raise PermissionError(f"{path}: permission denied ({e}); {_CREDENTIALS_HINT}") from e
  except retry.HttpError as e:
    if e.code in (401, 403):
      raise PermissionError(f"{path}: permission denied (HTTP {e.code}: {e.message}); "
                            f"{_CREDENTIALS_HINT}") from e
    raise OSError(f"{path}: GCS refused the request (HTTP {e.code}: {e.message})") from e
  except Exception as e:  # aiohttp's connection errors, google-auth's credential errors.
    if isinstance(e, OSError) and str(e).startswith("Forbidden"):  # gcsfs's HTTP 403.
      raise PermissionError(f"{path}: permission denied; {_CREDENTIALS_HINT}") from e
    if type(e).__module__.split(".")[0] not in ("aiohttp", "google", "asyncio"):
      raise
    raise OSError(f"{path}: cannot reach GCS at {endpoint()} ({type(e).__name__}: {e}); "
                  "check the network and the credentials (application-default)") from e


_CREDENTIALS_HINT = ("check the credentials (application-default) and the bucket's IAM "
                     "roles")


def endpoint() -> str:
  """Where gs:// requests go: $STORAGE_EMULATOR_HOST, else Google's JSON API."""
  return os.environ.get(EMULATOR_VARIABLE) or "https://storage.googleapis.com"


# (endpoint, bucket) pairs seen to exist: a run makes folders before each picture and record
# it writes, and a bucket does not vanish under a run (if it does, the write itself fails,
# named).
_EXISTING_BUCKETS = set()


def check_bucket(path: str) -> None:
  """FileNotFoundError naming the bucket of `path` if it does not exist (asked once per
  bucket and endpoint)."""
  name = bucket(path)
  if (endpoint(), name) in _EXISTING_BUCKETS:
    return
  try:
    with named_errors(path):
      filesystem().call("GET", "b/{}", name, json_out=True)  # One request: the bucket's metadata.
  except FileNotFoundError as e:
    raise FileNotFoundError(
        f"{path}: the bucket gs://{name} does not exist (or these credentials cannot see "
        f"it); create it first, e.g. gcloud storage buckets create gs://{name} "
        "--location=REGION") from e
  _EXISTING_BUCKETS.add((endpoint(), name))


def exists(path: str) -> bool:
  with named_errors(path):
    return filesystem().exists(_key(path))


def isdir(path: str) -> bool:
  with named_errors(path):
    return filesystem().isdir(_key(path))


def isfile(path: str) -> bool:
  with named_errors(path):
    return filesystem().isfile(_key(path))


def makedirs(path: str) -> None:
  """Folders are prefixes on GCS: nothing to create; the bucket must exist."""
  check_bucket(path)


def listdir(path: str) -> List[str]:
  """The names in folder `path` (objects and sub-folders), unsorted; FileNotFoundError if it
  holds nothing."""
  key = _key(path)
  with named_errors(path):
    entries = filesystem().ls(key, detail=False)
  # A folder's own marker object (`key/`, which some tools write) is not one of its entries.
  return [entry.rstrip("/").rsplit("/", 1)[-1] for entry in entries
          if entry.rstrip("/") != key]


def glob(pattern: str) -> List[str]:
  with named_errors(pattern):
    return [SCHEME + match for match in filesystem().glob(_key(pattern))]


def read_bytes(path: str) -> bytes:
  with named_errors(path):
    return filesystem().cat_file(_key(path))


def write_bytes(path: str, data: bytes) -> None:
  """One upload: readers see the old object or the new one, never part of it."""
  with named_errors(path):
    filesystem().pipe_file(_key(path), bytes(data))


def remove(path: str) -> None:
  with named_errors(path):
    if not filesystem().isfile(_key(path)):
      raise FileNotFoundError(path)
    filesystem().rm_file(_key(path))


def rmtree(path: str) -> None:
  with named_errors(path):
    filesystem().rm(_key(path), recursive=True)


# --- Conditional operations (GCS's generation preconditions), for the workdir lease ------


def read_versioned(path: str) -> Optional[Tuple[bytes, int]]:
  """(contents, generation) of the object at `path`, or None if there is none. The two
  belong together: the contents are read at that generation."""
  bucket_name, name = _key(path).split("/", 1)
  fs = filesystem()
  with named_errors(path):
    try:
      metadata = fs.call("GET", "b/{}/o/{}", bucket_name, name, json_out=True)
    except FileNotFoundError:
      return None
    generation = int(metadata["generation"])
    try:
      _, data = fs.call("GET", "b/{}/o/{}", bucket_name, name, alt="media",
                        generation=str(generation))
    except FileNotFoundError:  # Replaced or removed between the two requests.
      raise ChangedMeanwhile(f"{path}: the object changed while it was read") from None
  return data, generation


def write_versioned(path: str, data: bytes, generation: int) -> int:
  """Writes `data` to `path` only if the object is at `generation` (0: only if there is
  none); returns the new generation. ChangedMeanwhile if it is not."""
  bucket_name, name = _key(path).split("/", 1)
  fs = filesystem()
  # A multipart upload: GCS honours ifGenerationMatch on every upload, and so does the test
  # server on this kind (it ignores it on uploadType=media).
  boundary = "jaxgan-" + uuid.uuid4().hex
  body = b"".join([
      f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n".encode(),
      json.dumps({"name": name}).encode(),
      f"\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n\r\n".encode(),
      bytes(data), f"\r\n--{boundary}--".encode()])
  with named_errors(path):
    metadata = fs.call(
        "POST", fs._location + "/upload/storage/v1/b/{}/o",  # pylint: disable=protected-access
        bucket_name, uploadType="multipart", ifGenerationMatch=str(int(generation)),
        data=body, headers={"Content-Type": f'multipart/related; boundary="{boundary}"'},
        json_out=True)
  return int(metadata["generation"])


def remove_versioned(path: str, generation: int) -> None:
  """Deletes `path` only if it is at `generation` (ChangedMeanwhile if not). GCS honours
  the condition; the test server (fake-gcs-server) ignores it on deletes."""
  bucket_name, name = _key(path).split("/", 1)
  with named_errors(path):
    filesystem().call("DELETE", "b/{}/o/{}", bucket_name, name,
                      ifGenerationMatch=str(int(generation)))


class _UploadOnClose:
  """A text or binary file object that writes `path` with one upload when it is closed (as a
  `with` block ends); nothing is written if the block raises."""

  def __init__(self, path: str, binary: bool, initial: bytes = b""):
    self._path = path
    self._binary = binary
    self._buffer = io.BytesIO() if binary else io.StringIO()
    if initial:
      self._buffer.write(initial if binary else initial.decode("utf-8"))

  def write(self, data):
    return self._buffer.write(data)

  def flush(self) -> None:
    pass

  def close(self) -> None:
    if self._buffer is None:
      return
    value = self._buffer.getvalue()
    self._buffer = None
    write_bytes(self._path, value if self._binary else value.encode("utf-8"))

  def __enter__(self):
    return self

  def __exit__(self, kind, value, traceback):
    if kind is None:
      self.close()
    else:
      self._buffer = None  # An interrupted write leaves the object as it was.


def open_file(path: str, mode: str) -> IO:
  """'r'/'rb': the object read whole; 'w'/'wb': written with one upload at close; 'a': the
  object read, then rewritten whole at close (GCS cannot append)."""
  if mode in ("r", "rb"):
    data = read_bytes(path)
    return io.BytesIO(data) if mode == "rb" else io.StringIO(data.decode("utf-8"))
  if mode in ("w", "wb"):
    return _UploadOnClose(path, binary=mode == "wb")
  if mode == "a":
    try:
      initial = read_bytes(path)
    except FileNotFoundError:
      initial = b""
    return _UploadOnClose(path, binary=False, initial=initial)
  raise ValueError(f"open_file({path!r}, mode={mode!r}): modes r, rb, w, wb, a")
