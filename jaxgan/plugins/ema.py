"""EMA of G's weights for sampling and evaluation (Karras et al., 2018; Yazici et al., 2019).

G's extras keep "ema_params", updated after every G update with the warmed-up decay of
`jaxgan.plugins.averaging.ema_decay_at`; `PlayerState.sampling_variables` samples with them.
Training itself never reads them.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

from jaxgan.core import config_checks as checks
from jaxgan.plugins import averaging
from jaxgan.plugins.protocol import Plugin, RunFacts


@dataclasses.dataclass(frozen=True)
class GeneratorEma(Plugin):
  """Attributes: decay, in (0, 1) (e.g. 0.999)."""
  decay: float

  section = "ema"

  @classmethod
  def from_section(cls, run: RunFacts, *, decay: float) -> Optional["GeneratorEma"]:
    checks.check_fraction(cls.field("decay"), decay, closed=False)
    return cls(float(decay)) if decay > 0 else None

  def init_extras(self, player, state, image_shape, with_labels):
    return {averaging.EMA_PARAMS: state.params} if player == "g" else {}

  def after_update(self, player, state):
    if player != "g":
      return state
    decay = averaging.ema_decay_at(self.decay, state.step)
    ema = averaging.update_ema(state.extras[averaging.EMA_PARAMS], state.params, decay)
    return state.replace(extras={**state.extras, averaging.EMA_PARAMS: ema})
