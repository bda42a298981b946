"""torch.save-format files written by hand, opcode by opcode, for the reader's tests.

The real format is pinned by files torch itself wrote (tests/data/torch_state_dict_*.pth);
these make what torch would never write (hostile or damaged files) and large state dicts
without PyTorch. A tensor is `Tensor(storage_key, dtype_storage, numel, offset, size, stride)`.
"""
from __future__ import annotations

import dataclasses
import io
import struct
import zipfile
from typing import Dict, Sequence, Union

import numpy as np

_STORAGES = {np.dtype(np.float32): "FloatStorage", np.dtype(np.int64): "LongStorage",
             np.dtype(np.float16): "HalfStorage"}


def text(value: str) -> bytes:
  data = value.encode()
  return b"X" + struct.pack("<I", len(data)) + data


def integer(value: int) -> bytes:
  return b"J" + struct.pack("<i", value)


def int_tuple(values: Sequence[int]) -> bytes:
  return b"(" + b"".join(integer(v) for v in values) + b"t"


def global_(module: str, name: str) -> bytes:
  return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def reduce_(callable_: bytes, *args: bytes) -> bytes:
  return callable_ + b"(" + b"".join(args) + b"tR"


@dataclasses.dataclass
class Tensor:
  key: str
  storage_type: str
  numel: int
  offset: int
  size: Sequence[int]
  stride: Sequence[int]

  def pickled(self) -> bytes:
    record = (b"(" + text("storage") + global_("torch", self.storage_type) + text(self.key)
              + text("cpu") + integer(self.numel) + b"t")
    return reduce_(global_("torch._utils", "_rebuild_tensor_v2"), record + b"Q",
                   integer(self.offset), int_tuple(self.size), int_tuple(self.stride),
                   b"\x89", b"}")


def state_dict_pickle(entries: Dict[str, Union[Tensor, bytes]]) -> bytes:
  """A protocol-2 pickle of {name: tensor or raw pickled value}."""
  body = b"".join(text(k) + (v.pickled() if isinstance(v, Tensor) else v)
                  for k, v in entries.items())
  return b"\x80\x02}(" + body + b"u."


def zip_file(pickle_bytes: bytes, storages: Dict[str, bytes], prefix: str = "archive",
             byteorder: bytes = b"little") -> bytes:
  buffer = io.BytesIO()
  with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
    archive.writestr(f"{prefix}/data.pkl", pickle_bytes)
    archive.writestr(f"{prefix}/byteorder", byteorder)
    for key, data in storages.items():
      archive.writestr(f"{prefix}/data/{key}", data)
    archive.writestr(f"{prefix}/version", b"3\n")
  return buffer.getvalue()


def save_state_dict(arrays: Dict[str, np.ndarray]) -> bytes:
  """The zip format torch.save writes, for contiguous float32/int64/float16 arrays."""
  entries, storages = {}, {}
  for i, (name, array) in enumerate(arrays.items()):
    array = np.require(array, requirements="C")  # (ascontiguousarray makes 0-d 1-d)
    strides = [s // array.itemsize for s in array.strides]
    entries[name] = Tensor(str(i), _STORAGES[array.dtype], array.size, 0, array.shape, strides)
    storages[str(i)] = array.astype(array.dtype.newbyteorder("<")).tobytes()
  return zip_file(state_dict_pickle(entries), storages)
