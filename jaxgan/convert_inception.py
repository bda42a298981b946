"""Converts pytorch-fid's Inception weights to the .npz that `inception.load_variables` reads.

  python -m jaxgan.convert_inception \
      --torch_weights=pt_inception-2015-12-05-6726825d.pth --output=inception_fid.npz

--torch_weights is either the .pth itself (needs PyTorch; it is imported only here) or an .npz
holding the same state dict, one array per torch name ("Conv2d_1a_3x3.conv.weight", ...), for
machines where PyTorch is not installed: write it elsewhere with
  np.savez("sd.npz", **{k: v.numpy() for k, v in torch.load(pth).items()})
The conversion is strict: a missing, unexpected or wrongly shaped array is an error.
Download link and steps: `inception.WEIGHTS_HELP`.
"""
from __future__ import annotations

import os
import sys

import numpy as np
from absl import app, flags
from flax import traverse_util

from jaxgan.core import errors
from jaxgan.evaluation import inception

FLAGS = flags.FLAGS
flags.DEFINE_string("torch_weights", None,
                    "pytorch-fid's pt_inception-2015-12-05-6726825d.pth, or an .npz of its "
                    "state dict under the torch names.")
flags.DEFINE_string("output", None, "Where to write jaxgan's .npz (e.g. inception_fid.npz).")
flags.mark_flags_as_required(["torch_weights", "output"])


def read_torch_state_dict(path: str) -> dict[str, np.ndarray]:
  """Torch name -> float32 array from a .pth (via torch) or an .npz of the state dict."""
  if not os.path.isfile(path):
    raise errors.MissingFileError(f"{path!r} does not exist. {inception.WEIGHTS_HELP}")
  if path.endswith(".npz"):
    with np.load(path, allow_pickle=False) as data:
      return {k: data[k] for k in data.files}
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise errors.BrokenInstallError(
        "Reading a .pth needs PyTorch, which is not installed here (pip install torch, the CPU "
        "build is enough), or save the state dict as an .npz where PyTorch is available: "
        "np.savez('sd.npz', **{k: v.numpy() for k, v in torch.load(PTH).items()}) and pass "
        "that .npz as --torch_weights.") from e
  # weights_only: the file holds tensors only; never unpickle arbitrary objects.
  state_dict = torch.load(path, map_location="cpu", weights_only=True)
  if not isinstance(state_dict, dict):
    raise errors.InvalidInputError(
        f"{path!r} holds a {type(state_dict).__name__}, not a state dict.")
  return {k: v.detach().cpu().float().numpy() for k, v in state_dict.items()}


def convert(torch_weights: str, output: str) -> dict:
  """Reads `torch_weights`, converts strictly, writes `output`; returns the variables."""
  variables = inception.torch_state_dict_to_variables(read_torch_state_dict(torch_weights))
  inception.save_variables(variables, output)
  return variables


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  try:
    variables = convert(FLAGS.torch_weights, FLAGS.output)
  except errors.UserError as e:  # Anything else is a bug: its traceback.
    print(f"{type(e).__name__}: {e}", file=sys.stderr)
    sys.exit(1)
  count = sum(int(np.size(v)) for v in traverse_util.flatten_dict(variables["params"]).values())
  print(f"Wrote {FLAGS.output}: FID Inception-v3, {count:,} parameters + BatchNorm statistics.")


if __name__ == "__main__":
  app.run(main)
