"""The PyTorch checkpoint reader: files torch itself wrote (tests/data, both formats) read
exactly; hostile files refused before anything runs; damaged files named as damaged."""
from __future__ import annotations

import json
import os
import pickle

import ml_dtypes
import numpy as np
import pytest

from jaxgan.core import errors
from jaxgan.importers import torch_files
from tests import torch_pickles as tp

DATA = os.path.join(os.path.dirname(__file__), "data")


@pytest.mark.parametrize("fmt", ["zip", "legacy"])
def test_reads_what_torch_wrote(fmt):
  """torch 2.13's own files (tests/data/make_fid_reference.py): every tensor equal to what
  torch.load read, dtype included: a module's state dict (BN's int64 counter, `_metadata`), a
  transposed view, a view sharing another's storage at an offset, float16, bfloat16, int32,
  bool, a 0-d float64, an empty tensor and a Parameter."""
  loaded = torch_files.load_state_dict(os.path.join(DATA, f"torch_state_dict_{fmt}.pth"))
  with np.load(os.path.join(DATA, "torch_state_dict_expected.npz")) as expected:
    dtypes = json.loads(str(expected["__dtypes__"]))
    assert list(loaded) == list(dtypes)  # Order kept, as torch keeps it.
    for name, dtype in dtypes.items():
      array = loaded[name]
      assert array.flags.c_contiguous and array.flags.owndata, name
      want = {"bfloat16": np.dtype(ml_dtypes.bfloat16)}.get(dtype, np.dtype(dtype))
      assert array.dtype == want, (name, array.dtype, dtype)
      np.testing.assert_array_equal(array.astype(expected[name].dtype), expected[name],
                                    err_msg=name)
  assert loaded["bn.num_batches_tracked"] == 1
  assert loaded["transposed"].shape == (5, 6) and loaded["scalar"].shape == ()


class _Payload:
  def __init__(self, marker):
    self.marker = marker

  def __reduce__(self):
    return (os.system, (f"touch {self.marker}",))


def test_a_hostile_pickle_runs_nothing(tmp_path):
  """A pickle whose reduce calls os.system: refused naming it, the command never ran, in
  every place a pickle sits (zip data.pkl, a legacy file's object or header)."""
  marker = tmp_path / "ran"
  payload = pickle.dumps({"weight": _Payload(marker)}, protocol=2)
  zipped = tp.zip_file(payload, {})
  legacy_object = (pickle.dumps(torch_files.LEGACY_MAGIC, protocol=2)
                   + pickle.dumps(torch_files.LEGACY_PROTOCOL, protocol=2)
                   + pickle.dumps({"little_endian": True}, protocol=2) + payload)
  legacy_header = payload
  for name, data in (("zip", zipped), ("legacy", legacy_object), ("header", legacy_header)):
    path = tmp_path / f"{name}.pth"
    path.write_bytes(data)
    with pytest.raises(torch_files.UnsafeFileError, match=r"names (posix|os)\.system"):
      torch_files.load(str(path))
    assert not marker.exists(), name
  # Also refused: eval through builtins, a module class, and a persistent id of another kind.
  for pickled, match in (
      (tp.state_dict_pickle({"x": tp.reduce_(tp.global_("builtins", "eval"), tp.text("1"))}),
       "builtins.eval"),
      (tp.state_dict_pickle({"x": tp.reduce_(tp.global_("torch.nn", "Linear"))}),
       "torch.nn.Linear"),
      (tp.state_dict_pickle({"x": b"(" + tp.text("module") + b"tQ"}), "persistent object")):
    with pytest.raises(torch_files.UnsafeFileError, match=match):
      torch_files.loads(tp.zip_file(pickled, {}))


def _one_tensor(numel, offset, size, stride, storage_bytes=None, byteorder=b"little"):
  tensor = tp.Tensor("0", "FloatStorage", numel, offset, size, stride)
  data = (np.arange(numel, dtype="<f4").tobytes() if storage_bytes is None else storage_bytes)
  return tp.zip_file(tp.state_dict_pickle({"w": tensor}), {"0": data}, byteorder=byteorder)


def test_layouts_and_damage():
  """Strides and offsets are honoured; a layout reaching past its storage, a negative stride,
  a truncated or missing storage, or a damaged archive is an error naming the damage."""
  got = torch_files.loads(_one_tensor(12, 1, (2, 3), (1, 4)))["w"]
  np.testing.assert_array_equal(got, np.arange(12, dtype=np.float32)[1:].reshape(1, -1)[
      :, [0, 4, 8, 1, 5, 9]].reshape(2, 3))
  big = np.arange(4, dtype=">f4").tobytes()
  np.testing.assert_array_equal(
      torch_files.loads(_one_tensor(4, 0, (4,), (1,), big, b"big"))["w"], np.arange(4))
  for data, match in (
      (_one_tensor(12, 0, (4, 4), (4, 1)), "reaches element 15 of a storage of 12"),
      (_one_tensor(12, 11, (2,), (1,)), "damaged"),
      (_one_tensor(12, 0, (3,), (-1,)), "negative"),
      (_one_tensor(12, 0, (3,), (1,), b"\0" * 20), "truncated or damaged"),
      (tp.zip_file(tp.state_dict_pickle({"w": tp.Tensor("0", "FloatStorage", 4, 0, (4,),
                                                         (1,))}), {}), "no record"),
      (b"PK\x03\x04 not really a zip", "not a readable zip"),
      (b"\x80\x02K\x05.", "neither a zip archive nor a legacy"),
      (b"hello", "not a torch.save file")):
    with pytest.raises(errors.InvalidInputError, match=match):
      torch_files.loads(data)


def test_a_truncated_legacy_file_is_named():
  with open(os.path.join(DATA, "torch_state_dict_legacy.pth"), "rb") as f:
    data = f.read()
  with pytest.raises(errors.InvalidInputError, match="truncated|damaged"):
    torch_files.loads(data[:-100])
  with pytest.raises(errors.InvalidInputError, match="truncated|damaged"):
    torch_files.loads(data[:300])


def test_state_dict_is_required(tmp_path):
  path = tmp_path / "list.pth"
  path.write_bytes(tp.zip_file(b"\x80\x02]" + tp.integer(1) + b"a.", {}))
  with pytest.raises(errors.InvalidInputError, match="not a state dict"):
    torch_files.load_state_dict(str(path))
  with pytest.raises(errors.MissingFileError, match="does not exist"):
    torch_files.load_state_dict(str(tmp_path / "absent.pth"))
