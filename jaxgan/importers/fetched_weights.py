"""Weights fetched on first use into a cache, and verified before every use.

A `RemoteFile` names a file by its URL and what is known of its sha256: the full hash where an
authoritative source gives one (`sha256`), else the hex digits torch.hub's naming convention
puts in the file name (`name-<first hex digits of its sha256>.ext`, `sha256_prefix`).
`fetch(remote)` returns a local or gs:// path to a verified copy:

1. the cache holds the file and it verifies: that path (nothing downloaded);
2. otherwise (absent, or truncated, tampered or replaced: a warning says which) it is
   downloaded, verified, then written atomically into the cache; a download that does not
   verify is refused and nothing is written;
3. the first verified copy's full sha256 is recorded beside it (`<file>.sha256`), so a later
   file with the same prefix but other bytes is refused ("refuse a later file that differs");
4. with no network: `WeightsUnavailableError`, naming the URL, the expected hash and the path
   where a copy fetched by hand is accepted.

The cache is $JAXGAN_CACHE/weights, else $XDG_CACHE_HOME/jaxgan/weights, else
~/.cache/jaxgan/weights; `directory=` overrides it (gs:// allowed). What is derived from a
fetched file (e.g. converted arrays) is cached beside it under a name carrying the source's
hash (`derived_path`), with its own recorded hash (`verified` / `record_hash`).
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import time
import urllib.request
from typing import Callable, Optional

from absl import logging

from jaxgan.core import errors
from jaxgan.runtime import storage

CACHE_ENV = "JAXGAN_CACHE"
HASH_SUFFIX = ".sha256"
_TORCH_HUB_NAME = re.compile(r"-([a-f0-9]{6,64})\.[A-Za-z0-9]+$")


class WeightsUnavailableError(errors.MissingFileError):
  """The weights are not in the cache and could not be downloaded."""


@dataclasses.dataclass(frozen=True)
class RemoteFile:
  """A file to fetch: its URL and its sha256 (full, or the prefix its name carries).

  Attributes:
    url: where it is downloaded from (http(s); also a local or gs:// path, for mirrors).
    sha256: the full hex sha256, where an authoritative source gives it ("" if unknown).
    sha256_prefix: the leading hex digits of the sha256 (torch.hub's name convention); ""
      takes them from the file name.
    description: what the file is, for messages.
  """
  url: str
  sha256: str = ""
  sha256_prefix: str = ""
  description: str = ""

  @property
  def filename(self) -> str:
    return self.url.rstrip("/").rsplit("/", 1)[-1]

  @property
  def expected_prefix(self) -> str:
    """The hex digits every accepted copy's sha256 starts with."""
    if self.sha256:
      return self.sha256.lower()
    if self.sha256_prefix:
      return self.sha256_prefix.lower()
    match = _TORCH_HUB_NAME.search(self.filename)
    if not match:
      raise ValueError(f"{self.url}: no sha256 given and none in its name.")
    return match.group(1)


def cache_root() -> str:
  """jaxgan's cache: $JAXGAN_CACHE, else $XDG_CACHE_HOME/jaxgan, else ~/.cache/jaxgan."""
  if os.environ.get(CACHE_ENV):
    return storage.expand_user(os.environ[CACHE_ENV])
  base = os.environ.get("XDG_CACHE_HOME") or storage.join(storage.expand_user("~"), ".cache")
  return storage.join(base, "jaxgan")


def weights_directory() -> str:
  """Where fetched weights are kept by default."""
  return storage.join(cache_root(), "weights")


def sha256_of(path: str) -> str:
  """Hex sha256 of the file at `path` (local or gs://), read in 8 MiB pieces."""
  digest = hashlib.sha256()
  with storage.input_file(path) as f:
    for piece in iter(lambda: f.read(1 << 23), b""):
      digest.update(piece)
  return digest.hexdigest()


def recorded_hash(path: str) -> Optional[str]:
  """The full sha256 recorded beside `path` when it was first verified (None: none yet)."""
  record = path + HASH_SUFFIX
  if not storage.isfile(record):
    return None
  return storage.read_text(record).split()[0].strip().lower() or None


def record_hash(path: str, digest: str) -> None:
  """Records `digest` as the full sha256 every later copy of `path` must have."""
  storage.write_atomically(path + HASH_SUFFIX, f"{digest}  {storage.basename(path)}\n")


def verified(path: str) -> Optional[str]:
  """`path`'s sha256 if the file exists and has the hash recorded beside it, else None."""
  if not storage.isfile(path):
    return None
  expected = recorded_hash(path)
  digest = sha256_of(path)
  return digest if expected is not None and digest == expected else None


def derived_path(source_digest: str, name: str, directory: Optional[str] = None) -> str:
  """Where something made from a fetched file of sha256 `source_digest` is cached:
  `<directory>/<stem>_<16 hex digits of the source's hash><ext>`."""
  stem, ext = os.path.splitext(name)
  return storage.join(directory or weights_directory(), f"{stem}_{source_digest[:16]}{ext}")


def _why_not(remote: RemoteFile, digest: str, recorded: Optional[str]) -> Optional[str]:
  """Why a copy of sha256 `digest` is refused (None: accepted)."""
  if not digest.startswith(remote.expected_prefix):
    return (f"its sha256 is {digest}, which does not start with "
            f"{remote.expected_prefix}")
  if recorded is not None and digest != recorded:
    return (f"its sha256 is {digest}, not the {recorded} recorded when it was first "
            "fetched")
  return None


def download(url: str, timeout: float = 60.0) -> bytes:
  """The bytes at `url` (http(s), or a local or gs:// path). Tests replace this function."""
  if "://" not in url or storage.is_remote(url):
    return storage.read_bytes(url)
  request = urllib.request.Request(url, headers={"User-Agent": "jaxgan"})
  with urllib.request.urlopen(request, timeout=timeout) as response:  # nosec: verified below
    return response.read()


def fetch(remote: RemoteFile, directory: Optional[str] = None,
          downloader: Optional[Callable[[str], bytes]] = None) -> str:
  """A verified copy of `remote` in the cache (module docstring); returns its path."""
  directory = directory or weights_directory()
  path = storage.join(directory, remote.filename)
  recorded = recorded_hash(path)
  if recorded is not None and remote.sha256 and recorded != remote.sha256.lower():
    raise errors.InvalidInputError(
        f"{path + HASH_SUFFIX} records sha256 {recorded} for {remote.filename}, but jaxgan "
        f"pins {remote.sha256}: remove both files to fetch it again.")
  if storage.isfile(path):
    digest = sha256_of(path)
    why = _why_not(remote, digest, recorded)
    if why is None:
      if recorded is None:
        record_hash(path, digest)  # Put there by hand: its hash is recorded from now on.
      return path
    logging.warning("The cached %s is refused (%s: truncated, damaged or replaced); "
                    "fetching it again from %s.", path, why, remote.url)
  what = remote.description or remote.filename
  logging.info("Fetching %s from %s into %s (once; later runs reuse it).", what, remote.url,
               directory)
  start = time.perf_counter()
  try:
    data = (downloader or download)(remote.url)
  except (OSError, ValueError) as e:  # urllib's URLError is an OSError.
    raise WeightsUnavailableError(
        f"{what} could not be downloaded from {remote.url} ({type(e).__name__}: {e}). "
        f"Fetch that file on a machine with network access and put it at {path} (its "
        f"sha256 must start with {remote.expected_prefix}); jaxgan checks it there on its "
        f"next use. (Set ${CACHE_ENV} to use another cache folder.)") from e
  digest = hashlib.sha256(data).hexdigest()
  why = _why_not(remote, digest, recorded)
  if why is not None:
    raise errors.InvalidInputError(
        f"The file downloaded from {remote.url} ({len(data):,} bytes) is refused: {why}. "
        "Nothing was written; the download was damaged, or the file at that URL changed.")
  storage.makedirs(directory)
  storage.write_atomically(path, data)
  if recorded is None:
    record_hash(path, digest)
  logging.info("Fetched %s: %.1f MB in %.1f s, sha256 %s.", what, len(data) / 1e6,
               time.perf_counter() - start, digest)
  return path
