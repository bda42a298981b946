"""Converts pytorch-fid's Inception weights to the .npz that `inception.load_variables` reads.

  python -m jaxgan.convert_inception \
      --torch_weights=pt_inception-2015-12-05-6726825d.pth --output=inception_fid.npz

--torch_weights is either the .pth itself (read without PyTorch by jaxgan's restricted reader,
jaxgan.importers.torch_files) or an .npz holding the same state dict, one array per torch name
("Conv2d_1a_3x3.conv.weight", ...). The conversion is strict: a missing, unexpected or
wrongly shaped array is an error.

Nothing needs converting by hand for FID: with config.eval.inception_weights empty jaxgan
fetches, verifies and converts the weights itself (`inception.fetch_variables`); this command
is for a copy of your own.
"""
from __future__ import annotations

import sys

import numpy as np
from absl import app, flags
from flax import traverse_util

from jaxgan.core import errors
from jaxgan.evaluation import inception
from jaxgan.importers import torch_files
from jaxgan.runtime import storage

FLAGS = flags.FLAGS
flags.DEFINE_string("torch_weights", None,
                    "pytorch-fid's pt_inception-2015-12-05-6726825d.pth (no PyTorch needed), or "
                    "an .npz of its state dict under the torch names.")
flags.DEFINE_string("output", None, "Where to write jaxgan's .npz (e.g. inception_fid.npz).")
flags.mark_flags_as_required(["torch_weights", "output"])


def read_torch_state_dict(path: str) -> dict[str, np.ndarray]:
  """Torch name -> array from a .pth (read without PyTorch, running none of its code:
  jaxgan.importers.torch_files) or an .npz of the state dict."""
  if not storage.isfile(path):
    raise errors.MissingFileError(f"{path!r} does not exist. {inception.WEIGHTS_HELP}")
  if path.endswith(".npz"):
    with storage.input_file(path) as f, np.load(f, allow_pickle=False) as data:
      return {k: data[k] for k in data.files}
  return torch_files.load_state_dict(path)


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
