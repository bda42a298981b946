"""Hard constraints on parameters, applied after an optimizer update."""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp


def clip_weights(params: Any, bound: float) -> Any:
  """Clips every parameter to [-bound, bound]: WGAN's Lipschitz constraint on the critic
  (Arjovsky et al., 2017, algorithm 1, with bound c = 0.01). Applied to D's params only (not
  to BatchNorm statistics or spectral-norm vectors) after each D update."""
  return jax.tree.map(lambda p: jnp.clip(p, -bound, bound), params)
