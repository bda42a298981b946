"""bf16 compute with float32 state (config.compute_dtype), applied where modules run.

With config.compute_dtype = "bfloat16" a training step runs every module in bfloat16:
`cast_inputs` gives it bfloat16 copies of its float parameters and of its float inputs, so
its matmuls, convolutions and activations are bfloat16; `restore` casts its outputs back to
float32 (logits, images, features: losses and penalties see float32) and its updated
collections (batch statistics, spectral-norm vectors) back to their stored dtypes. The
parameters, their gradients (through the casts), the optimizer state, EMA weights and every
checkpointed array stay float32, so a checkpoint is the same whichever dtype made it and a
run may switch dtype on resume. Sampling and evaluation run in float32.

Where a layer draws float32 values itself (e.g. per-example noise), jnp's promotion makes
the rest of that layer float32: correct, only less of a speed-up. Normalisation layers
compute their statistics in float32 (flax does so for bfloat16 inputs).
"""
from __future__ import annotations

from typing import Any, Optional

import jax
import jax.numpy as jnp

COMPUTE_DTYPES = ("float32", "bfloat16")


def is_float(x: Any) -> bool:
  return hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.floating)


def cast_floats(tree: Any, dtype: Any) -> Any:
  """Every floating-point leaf of `tree` as `dtype`; other leaves (ints, keys) unchanged."""
  return jax.tree.map(lambda x: x.astype(dtype) if is_float(x) else x, tree)


def cast_inputs(dtype: Optional[str], params: Any, x: Any) -> tuple:
  """(params, x) for a module call in `dtype` (None or "float32": unchanged)."""
  if dtype in (None, "float32"):
    return params, x
  return cast_floats(params, dtype), cast_floats(x, dtype)


def restore(dtype: Optional[str], out: Any, collections: Any, stored: Any) -> tuple:
  """(out with its floats as float32, collections with each array in the dtype it has in
  `stored`) after a module call in `dtype`."""
  if dtype in (None, "float32"):
    return out, collections
  out = cast_floats(out, jnp.float32)
  like = lambda new, old: new.astype(old.dtype) if is_float(new) else new
  kept = {name: jax.tree.map(like, value, stored[name]) if name in stored else value
          for name, value in collections.items()}
  return out, kept
