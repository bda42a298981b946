"""One way to run a jitted function over many images: equal batches, the last one padded."""
from __future__ import annotations

from typing import Any, Callable

import jax
import numpy as np


def apply_in_batches(fn: Callable[[np.ndarray], Any], images: np.ndarray,
                     batch_size: int) -> Any:
  """fn over images [n, ...] in batches of `batch_size`, outputs concatenated on axis 0.

  The last batch is zero-padded to `batch_size` (and its padding rows dropped from the
  outputs), so `fn` compiles for one shape only. `fn` may return any pytree of arrays with a
  leading batch axis; the result has the same structure, as float NumPy arrays. n must be >= 1.
  """
  if batch_size < 1:
    raise ValueError(f"batch_size must be >= 1; got {batch_size}.")
  parts = []
  for start in range(0, len(images), batch_size):
    chunk = np.asarray(images[start:start + batch_size], np.float32)
    rows = len(chunk)
    if rows < batch_size:
      chunk = np.concatenate([chunk, np.zeros((batch_size - rows, *chunk.shape[1:]),
                                              np.float32)])
    parts.append(jax.tree.map(lambda x, rows=rows: np.asarray(x)[:rows], fn(chunk)))
  return jax.tree.map(lambda *xs: np.concatenate(xs), *parts)
