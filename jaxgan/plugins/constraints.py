"""Hard constraints on parameters, applied after an optimizer update: WGAN's weight clipping
(config.d_weight_clip)."""
from __future__ import annotations

import dataclasses
from typing import Any, Optional

import jax
import jax.numpy as jnp

from jaxgan.core import config_checks as checks
from jaxgan.plugins.protocol import Plugin, RunFacts


def clip_weights(params: Any, bound: float) -> Any:
  """Clips every parameter to [-bound, bound]: WGAN's Lipschitz constraint on the critic
  (Arjovsky et al., 2017, algorithm 1, with bound c = 0.01). Applied to D's params only (not
  to BatchNorm statistics or spectral-norm vectors) after each D update."""
  return jax.tree.map(lambda p: jnp.clip(p, -bound, bound), params)


@dataclasses.dataclass(frozen=True)
class WeightClip(Plugin):
  """Attributes: bound: c."""
  bound: float

  section = "d_weight_clip"

  @classmethod
  def from_section(cls, run: RunFacts, *, d_weight_clip: float) -> Optional["WeightClip"]:
    checks.check_non_negative(cls.section, d_weight_clip)
    return cls(float(d_weight_clip)) if d_weight_clip > 0 else None

  def after_update(self, player, state):
    if player != "d":
      return state
    return state.replace(params=clip_weights(state.params, self.bound))
