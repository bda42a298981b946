"""Historical averaging (Salimans et al., 2016, section 3.3), for both players.

Each player adds weight * ||theta - theta_bar||^2 to its loss, theta_bar the mean of all its
past parameter values (or an exponential average with `decay` > 0), kept in its extras and
updated after each of its updates. The math is in `jaxgan.plugins.averaging`.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

from jaxgan.core import config_checks as checks
from jaxgan.plugins import averaging
from jaxgan.plugins.protocol import LossTerm, Plugin, RunFacts

PLAYERS = ("g", "d")


@dataclasses.dataclass(frozen=True)
class HistoricalAveraging(Plugin):
  """Attributes: weight; decay: 0 for the uniform mean of all past parameters, else an EMA
  decay in (0, 1)."""
  weight: float
  decay: float = 0.0

  section = "historical_averaging"

  @classmethod
  def from_section(cls, run: RunFacts, *, weight: float, decay: float
                   ) -> Optional["HistoricalAveraging"]:
    checks.check_non_negative(cls.field("weight"), weight)
    checks.check_fraction(cls.field("decay"), decay, closed=False)
    return cls(float(weight), float(decay)) if weight > 0 else None

  def init_extras(self, player, state, image_shape, with_labels):
    return {averaging.PARAM_AVERAGE: state.params} if player in PLAYERS else {}

  def loss_terms(self):
    fn = lambda ctx: averaging.historical_penalty(ctx.params,
                                                  ctx.extras[averaging.PARAM_AVERAGE])
    return tuple(LossTerm(player, f"{player}_historical", self.weight, fn) for player in PLAYERS)

  def after_update(self, player, state):
    if player not in PLAYERS:
      return state
    average = averaging.update_param_average(state.extras[averaging.PARAM_AVERAGE],
                                             state.params, state.step, self.decay)
    return state.replace(extras={**state.extras, averaging.PARAM_AVERAGE: average})
