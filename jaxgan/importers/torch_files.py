"""PyTorch checkpoints read without PyTorch and without running any of their code.

`load(source)` reads a file written by `torch.save` and returns its object with every tensor
rebuilt as a NumPy array; `load_state_dict(source)` does the same and insists on a
{name: array} mapping (a module's `state_dict()`). Both formats torch has written are read:

* the zip format (torch >= 1.6, the default since): a zip archive whose one folder holds
  `data.pkl` (the object, pickled) and `data/<key>` (each storage's raw bytes), and a
  `byteorder` record (absent in files older than torch 1.10, which were little-endian);
* the legacy format (`_use_new_zipfile_serialization=False`, and every file before 1.6): five
  pickles one after another (a magic number, the protocol version 1001, the writer's
  `sys_info`, the object, the list of storage keys), then each storage as its element count
  (int64) followed by its bytes, in the order of that list.

The unpickler is restricted (`RestrictedUnpickler`): a pickle can only name the few globals a
tensor needs (`ALLOWED_GLOBALS`: OrderedDict, torch's tensor and parameter rebuild functions,
the typed storage classes, dtypes), and each resolves to a stand-in here that builds a NumPy
array; the objects the file names are never imported. Anything else (`os.system`,
`builtins.eval`, a module class) is refused with `UnsafeFileError` naming it, before anything
runs. Storages are read by persistent id only ("storage" records), and every tensor's size,
stride and offset is checked against its storage, so a file cannot make the reader look past
the bytes it holds. Importers of other checkpoints (StyleGAN2-ADA's pickles, CycleGAN's state
dicts) pass `extra_globals` naming the stand-ins they admit besides these.

Arrays come back with torch's dtype (float32, float16, bfloat16 via ml_dtypes, int64, bool,
...), C-contiguous, owning their memory.
"""
from __future__ import annotations

import io
import pickle
import struct
import zipfile
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

import ml_dtypes
import numpy as np

from jaxgan.core import errors
from jaxgan.runtime import storage


class UnsafeFileError(errors.InvalidInputError):
  """A checkpoint that asks to run or import something a tensor file never needs."""


# Each typed storage class torch pickles -> the NumPy dtype of its elements.
STORAGE_DTYPES: Dict[str, np.dtype] = {
    "FloatStorage": np.dtype(np.float32), "DoubleStorage": np.dtype(np.float64),
    "HalfStorage": np.dtype(np.float16), "BFloat16Storage": np.dtype(ml_dtypes.bfloat16),
    "LongStorage": np.dtype(np.int64), "IntStorage": np.dtype(np.int32),
    "ShortStorage": np.dtype(np.int16), "CharStorage": np.dtype(np.int8),
    "ByteStorage": np.dtype(np.uint8), "BoolStorage": np.dtype(np.bool_),
    "ComplexFloatStorage": np.dtype(np.complex64),
    "ComplexDoubleStorage": np.dtype(np.complex128),
}
# torch.<dtype> names (pickled by `_rebuild_tensor_v3` and in some metadata) -> NumPy dtype.
TORCH_DTYPES: Dict[str, np.dtype] = {
    "float32": np.dtype(np.float32), "float": np.dtype(np.float32),
    "float64": np.dtype(np.float64), "double": np.dtype(np.float64),
    "float16": np.dtype(np.float16), "half": np.dtype(np.float16),
    "bfloat16": np.dtype(ml_dtypes.bfloat16), "int64": np.dtype(np.int64),
    "long": np.dtype(np.int64), "int32": np.dtype(np.int32), "int": np.dtype(np.int32),
    "int16": np.dtype(np.int16), "int8": np.dtype(np.int8), "uint8": np.dtype(np.uint8),
    "bool": np.dtype(np.bool_),
}

LEGACY_MAGIC = 0x1950a86a20f9469cfc6c  # The first pickle of a legacy-format file.
LEGACY_PROTOCOL = 1001


class _StorageType:
  """Stand-in for a pickled `torch.<X>Storage` class: only its element dtype matters."""

  def __init__(self, name: str, dtype: np.dtype):
    self.name, self.dtype = name, dtype


class _Storage:
  """A storage's elements as a 1-D NumPy array (read-only view of the file's bytes)."""

  def __init__(self, elements: np.ndarray):
    self.elements = elements


def _rebuild_tensor(storage_: Any, offset: Any, size: Any, stride: Any, *unused: Any
                    ) -> np.ndarray:
  """Stand-in for torch._utils._rebuild_tensor(_v2): a checked strided view, copied."""
  if not isinstance(storage_, _Storage):
    raise errors.InvalidInputError(
        f"A tensor in this file is built from a {type(storage_).__name__}, not a storage.")
  if (not isinstance(offset, int) or not isinstance(size, tuple)
      or not isinstance(stride, tuple) or len(size) != len(stride)
      or not all(isinstance(v, int) for v in size + stride)):
    raise errors.InvalidInputError(
        f"A tensor in this file has a malformed layout: offset {offset!r}, size {size!r}, "
        f"stride {stride!r}.")
  elements = storage_.elements
  if offset < 0 or any(s < 0 for s in size) or any(s < 0 for s in stride):
    raise errors.InvalidInputError(
        f"A tensor in this file has a negative offset, size or stride ({offset}, {size}, "
        f"{stride}).")
  if 0 in size:
    return np.zeros(size, elements.dtype)
  last = offset + sum((n - 1) * s for n, s in zip(size, stride))
  if last >= elements.size:
    raise errors.InvalidInputError(
        f"A tensor in this file (offset {offset}, size {size}, stride {stride}) reaches "
        f"element {last} of a storage of {elements.size}: the file is damaged.")
  item = elements.itemsize
  view = np.lib.stride_tricks.as_strided(elements[offset:], shape=size,
                                         strides=tuple(s * item for s in stride),
                                         writeable=False)
  return np.array(view, order="C")


def _rebuild_tensor_v3(storage_: Any, offset: Any, size: Any, stride: Any,
                       requires_grad: Any, backward_hooks: Any, dtype: Any, *unused: Any
                       ) -> np.ndarray:
  """Stand-in for torch._utils._rebuild_tensor_v3 (an untyped storage and a dtype)."""
  if isinstance(storage_, _Storage) and isinstance(dtype, np.dtype):
    raw = storage_.elements.view(np.uint8)
    if raw.size % dtype.itemsize:
      raise errors.InvalidInputError("A storage's size is not a whole number of elements.")
    storage_ = _Storage(raw.view(dtype))
  return _rebuild_tensor(storage_, offset, size, stride)


def _rebuild_parameter(data: Any, *unused: Any) -> Any:
  """Stand-in for torch._utils._rebuild_parameter(_with_state): the tensor itself."""
  return data


def _ordered_dict(*args: Any) -> Dict[Any, Any]:
  import collections  # pylint: disable=g-import-not-at-top
  return collections.OrderedDict(*args)


# (module, name) a pickle may name -> what it resolves to here (never the named object).
ALLOWED_GLOBALS: Dict[Tuple[str, str], Any] = {
    ("collections", "OrderedDict"): _ordered_dict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    **{("torch", name): _StorageType(name, dtype) for name, dtype in STORAGE_DTYPES.items()},
    ("torch", "UntypedStorage"): _StorageType("UntypedStorage", np.dtype(np.uint8)),
    **{("torch", name): dtype for name, dtype in TORCH_DTYPES.items()},
}


class RestrictedUnpickler(pickle.Unpickler):
  """Resolves only `ALLOWED_GLOBALS` (plus `extra_globals`) and storage persistent ids.

  `read_storage(key, dtype, numel)` returns a storage's elements as a 1-D array.
  """

  def __init__(self, file: io.BufferedIOBase,
               read_storage: Callable[[str, np.dtype, int], np.ndarray],
               extra_globals: Optional[Mapping[Tuple[str, str], Any]] = None):
    super().__init__(file)
    self._read_storage = read_storage
    self._globals = {**ALLOWED_GLOBALS, **(extra_globals or {})}
    self._storages: Dict[str, _Storage] = {}

  def find_class(self, module: str, name: str) -> Any:
    try:
      return self._globals[(module, name)]
    except KeyError:
      raise UnsafeFileError(
          f"This file's pickle names {module}.{name}, which a tensor file never needs; "
          "refused without importing or running it (only tensors, their storages and "
          "dicts are read).") from None

  def persistent_load(self, pid: Any) -> Any:
    if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"
            and isinstance(pid[1], _StorageType) and isinstance(pid[2], str)
            and isinstance(pid[4], int) and pid[4] >= 0):
      raise UnsafeFileError(
          f"This file's pickle asks for a persistent object {str(pid)[:80]!r}; only "
          "('storage', <torch storage type>, key, location, size) records are read.")
    _, storage_type, key, _, numel = pid[:5]
    view = pid[5] if len(pid) == 6 else None
    if key not in self._storages:
      self._storages[key] = _Storage(self._read_storage(key, storage_type.dtype, numel))
    whole = self._storages[key]
    if view is None:
      return whole
    # Legacy files may name a view of a storage: (view key, offset, size) in elements.
    if not (isinstance(view, tuple) and len(view) == 3
            and all(isinstance(v, int) for v in view[1:])):
      raise errors.InvalidInputError(f"A storage view record is malformed: {view!r}.")
    _, start, length = view
    if start < 0 or length < 0 or start + length > whole.elements.size:
      raise errors.InvalidInputError(
          f"A storage view ({start}, {length}) lies outside its storage of "
          f"{whole.elements.size} elements: the file is damaged.")
    return _Storage(whole.elements[start:start + length])


def _elements(raw: bytes, dtype: np.dtype, numel: int, big_endian: bool, what: str
              ) -> np.ndarray:
  """`numel` elements of `dtype` from the start of `raw`, in native byte order."""
  need = numel * dtype.itemsize
  if len(raw) < need:
    raise errors.InvalidInputError(
        f"{what} holds {len(raw)} bytes; its {numel} elements of {dtype} need {need}: the "
        "file is truncated or damaged.")
  array = np.frombuffer(raw, dtype=dtype.newbyteorder(">" if big_endian else "<"),
                        count=numel)
  return array.astype(dtype, copy=False) if big_endian else array


def _load_zip(data: bytes, name: str, extra_globals) -> Any:
  try:
    archive = zipfile.ZipFile(io.BytesIO(data))
  except zipfile.BadZipFile as e:
    raise errors.InvalidInputError(f"{name} is not a readable zip archive ({e}).") from e
  pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
  if len(pickles) != 1:
    raise errors.InvalidInputError(
        f"{name} is a zip archive but not a torch.save file: it holds "
        f"{len(pickles)} data.pkl records (one expected).")
  prefix = pickles[0][:-len("data.pkl")]
  names = set(archive.namelist())
  big_endian = (prefix + "byteorder" in names
                and archive.read(prefix + "byteorder").strip() == b"big")

  def read_storage(key: str, dtype: np.dtype, numel: int) -> np.ndarray:
    record = f"{prefix}data/{key}"
    if record not in names:
      raise errors.InvalidInputError(f"{name} has no record {record!r} for a tensor's storage.")
    return _elements(archive.read(record), dtype, numel, big_endian, f"{name}:{record}")

  try:
    return RestrictedUnpickler(io.BytesIO(archive.read(pickles[0])), read_storage,
                               extra_globals).load()
  except (pickle.UnpicklingError, EOFError, zipfile.BadZipFile) as e:
    raise errors.InvalidInputError(f"{name}'s pickle is damaged ({e}).") from e


def _load_legacy(data: bytes, name: str, extra_globals) -> Any:
  f = io.BytesIO(data)

  def no_storage(key, dtype, numel):
    raise UnsafeFileError(f"{name}'s header asks for a storage; it never needs one.")

  def header() -> Any:
    return RestrictedUnpickler(f, no_storage, {}).load()

  try:
    magic = header()
    protocol = header() if magic == LEGACY_MAGIC else None
    if protocol != LEGACY_PROTOCOL:
      raise errors.InvalidInputError(
          f"{name} is neither a zip archive nor a legacy torch.save file (its first pickle "
          f"holds {str(magic)[:40]!r}, not torch's magic number, or its protocol "
          f"{protocol!r} is not {LEGACY_PROTOCOL}).")
    sys_info = header()
    big_endian = isinstance(sys_info, dict) and sys_info.get("little_endian") is False
    requested: Dict[str, Tuple[np.dtype, int]] = {}
    placeholders: Dict[str, np.ndarray] = {}

    def defer(key: str, dtype: np.dtype, numel: int) -> np.ndarray:
      # The bytes come after the object's pickle: hand out an array to fill in later.
      requested[key] = (dtype, numel)
      placeholders[key] = np.empty(numel, dtype)
      return placeholders[key]

    # Tensors are copied out of their storages while unpickling, so read the object twice:
    # first to learn the storages (filled with garbage, thrown away), then for real.
    start = f.tell()
    RestrictedUnpickler(f, defer, extra_globals).load()
    keys = header()
    if not isinstance(keys, list) or set(keys) != set(requested):
      raise errors.InvalidInputError(f"{name}'s list of storages does not match its tensors.")
    storages: Dict[str, np.ndarray] = {}
    for key in keys:
      dtype, numel = requested[key]
      count_bytes = f.read(8)
      if len(count_bytes) < 8:
        raise errors.InvalidInputError(f"{name} is truncated: storage {key} is missing.")
      (count,) = struct.unpack(">q" if big_endian else "<q", count_bytes)
      if count != numel:
        raise errors.InvalidInputError(
            f"{name}: storage {key} holds {count} elements; its tensors expect {numel}.")
      storages[key] = _elements(f.read(numel * dtype.itemsize), dtype, numel, big_endian,
                                f"{name}: storage {key}")
    f.seek(start)
    return RestrictedUnpickler(f, lambda key, dtype, numel: storages[key], extra_globals).load()
  except (pickle.UnpicklingError, EOFError, struct.error) as e:
    raise errors.InvalidInputError(f"{name} is damaged or not a torch.save file ({e}).") from e


def loads(data: bytes, name: str = "the file",
          extra_globals: Optional[Mapping[Tuple[str, str], Any]] = None) -> Any:
  """The object a torch.save file's bytes hold, tensors as NumPy arrays (module docstring)."""
  if data[:4] == b"PK\x03\x04":
    return _load_zip(data, name, extra_globals)
  if data[:1] == b"\x80":  # A pickle's PROTO opcode: the legacy format.
    return _load_legacy(data, name, extra_globals)
  raise errors.InvalidInputError(
      f"{name} is not a torch.save file (it starts {data[:8]!r}: neither a zip archive nor a "
      "pickle). Files from torch before 0.4 (tar archives) are not read.")


def load(path: str, extra_globals: Optional[Mapping[Tuple[str, str], Any]] = None) -> Any:
  """The object the torch.save file at `path` (local or gs://) holds, tensors as arrays."""
  if not storage.isfile(path):
    raise errors.MissingFileError(f"{path!r} does not exist.")
  with storage.input_file(path) as f:
    data = f.read()
  return loads(data, repr(path), extra_globals)


def load_state_dict(path: str) -> Dict[str, np.ndarray]:
  """{name: array} of a torch state dict file (a module's `state_dict()` as torch.save wrote
  it; a checkpoint dict holding one under "state_dict" is unwrapped)."""
  obj = load(path)
  if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
    obj = obj["state_dict"]
  if not isinstance(obj, dict) or not all(
      isinstance(k, str) and isinstance(v, np.ndarray) for k, v in obj.items()):
    raise errors.InvalidInputError(
        f"{path!r} holds a {type(obj).__name__} that is not a state dict (names -> tensors).")
  return dict(obj)
