"""Random weights both a golden-file script and jaxgan's tests can make (NumPy only).

The FID Inception's 23.8M convolution and fc weights are too large for tests/data, so the
golden file stores only what cannot be regenerated (BatchNorm parameters and statistics, which
the script calibrates in torch) and both sides draw the rest from this rule:
`numpy.random.default_rng(seed)`, names in sorted order, conv weights N(0, 2 / fan_in) (He),
fc weight N(0, 0.05^2) and fc bias N(0, 0.1^2), all float32, in torch's layout.
"""
from __future__ import annotations

from typing import Dict, Iterable, Tuple

import numpy as np


def is_regenerated(name: str) -> bool:
  """Whether `name` (a torch state-dict key) is drawn by `inception_weights`."""
  return name.endswith("conv.weight") or name in ("fc.weight", "fc.bias")


def inception_weights(shapes: Iterable[Tuple[str, Tuple[int, ...]]], seed: int = 0
                      ) -> Dict[str, np.ndarray]:
  """{torch name: float32 array} for every regenerated name among `shapes` (name, torch shape)."""
  rng = np.random.default_rng(seed)
  out = {}
  for name, shape in sorted(shapes):
    if not is_regenerated(name):
      continue
    if name.endswith("conv.weight"):
      scale = np.sqrt(2.0 / np.prod(shape[1:]))
    else:
      scale = 0.05 if name == "fc.weight" else 0.1
    out[name] = (rng.standard_normal(shape, dtype=np.float32) * np.float32(scale))
  return out
