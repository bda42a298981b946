"""Reader for the IDX format of the original MNIST-family files (gzip-compressed or not).

IDX layout: a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
then one big-endian uint32 per dimension, then the data, C order. MNIST uses type 0x08
(unsigned byte): images are [N, 28, 28], labels [N].
"""
from __future__ import annotations

import gzip
import zlib

import numpy as np
from jaxgan.core import errors
from jaxgan.runtime import storage

_UBYTE = 0x08


class IdxFormatError(errors.UserError, ValueError):
  """The file is not a well-formed unsigned-byte IDX file."""


def read_idx(path: str, expected_ndim: int) -> np.ndarray:
  """Reads an unsigned-byte IDX file (.gz or plain).

  Args:
    path: the file.
    expected_ndim: 3 for an images file, 1 for a labels file.

  Returns:
    uint8 array of the file's shape, e.g. [N, 28, 28] or [N].

  Raises:
    IdxFormatError: bad magic number, wrong number of dimensions, or truncated/oversized data.
  """
  try:
    raw = storage.read_bytes(path)
    if path.endswith(".gz"):
      raw = gzip.decompress(raw)
  except (OSError, EOFError, zlib.error) as e:  # gzip's errors for damaged archives.
    raise IdxFormatError(f"{path}: cannot be read ({e}). Is it a complete download?") from e
  if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
    raise IdxFormatError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()}).")
  if raw[2] != _UBYTE:
    raise IdxFormatError(f"{path}: IDX type 0x{raw[2]:02x}; only unsigned bytes (0x08) "
                         "are supported.")
  ndim = raw[3]
  if ndim != expected_ndim:
    raise IdxFormatError(f"{path}: has {ndim} dimensions, expected {expected_ndim} "
                         "(is an images file swapped with a labels file?).")
  header = 4 + 4 * ndim
  if len(raw) < header:
    raise IdxFormatError(f"{path}: truncated header.")
  shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
  size = int(np.prod(shape))
  if len(raw) - header != size:
    raise IdxFormatError(f"{path}: header says shape {shape} ({size} bytes) but the file "
                         f"holds {len(raw) - header} data bytes. Truncated download?")
  return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def encode(array: np.ndarray) -> bytes:
  """A uint8 array as the bytes of an (uncompressed) IDX file. For tests and tools."""
  array = np.ascontiguousarray(array, dtype=np.uint8)
  header = bytes([0, 0, _UBYTE, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
  return header + array.tobytes()


def write_idx(path: str, array: np.ndarray) -> None:
  """Writes a uint8 array as an IDX file (gzip when `path` ends in .gz). For tests and tools."""
  data = encode(array)
  storage.make_parent(path)
  storage.write_atomically(path, gzip.compress(data) if path.endswith(".gz") else data)
