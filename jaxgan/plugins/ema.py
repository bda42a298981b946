"""EMA of G's weights for sampling and evaluation (Karras et al., 2018; Yazici et al., 2019).

G's extras keep "ema_params", updated after every G update; `PlayerState.sampling_variables`
samples with them (and G's own buffers: w_avg, BN statistics, fixed noise, which is what
StyleGAN2-ADA's copy of the buffers amounts to). Training itself never reads them. The decay
is either

* `config.ema.decay`: a fixed decay per update, warmed up as `averaging.ema_decay_at` says
  (min(decay, (1 + t) / (10 + t)) after t updates); or
* `config.ema.kimg` (and `config.ema.rampup`): StyleGAN2-ADA's, a half-life in images
  (`averaging.ema_decay_in_images`), with the images shown counted as G's updates before this
  one times config.batch_size (the reference's cur_nimg: one batch per training iteration).
"""
from __future__ import annotations

import dataclasses
from typing import Optional

from jaxgan.core import config_checks as checks
from jaxgan.core.config_checks import ConfigError
from jaxgan.plugins import averaging
from jaxgan.plugins.protocol import Plugin, RunFacts


@dataclasses.dataclass(frozen=True)
class GeneratorEma(Plugin):
  """Attributes: decay, in (0, 1) (e.g. 0.999), or 0 with kimg > 0: the half-life in
  thousands of images, with rampup (0: none; StyleGAN2-ADA's auto config: 0.05) and
  batch_size (the global batch, images per G update) for the images shown."""
  decay: float
  kimg: float = 0.0
  rampup: float = 0.0
  batch_size: int = 0

  section = "ema"

  @classmethod
  def from_section(cls, run: RunFacts, *, decay: float, kimg: float = 0.0,
                   rampup: float = 0.0) -> Optional["GeneratorEma"]:
    checks.check_fraction(cls.field("decay"), decay, closed=False)
    checks.check_non_negative(cls.field("kimg"), kimg)
    checks.check_non_negative(cls.field("rampup"), rampup)
    if decay > 0 and kimg > 0:
      raise ConfigError(f"{cls.field('decay')}={decay} and {cls.field('kimg')}={kimg}: set "
                        "one (a decay per update, or a half-life in thousands of images).")
    if rampup > 0 and not kimg > 0:
      raise ConfigError(f"{cls.field('rampup')}={rampup} ramps up {cls.field('kimg')}'s "
                        "half-life; set ema.kimg too.")
    if kimg > 0:
      return cls(0.0, float(kimg), float(rampup), int(run.batch_size))
    return cls(float(decay)) if decay > 0 else None

  def init_extras(self, player, state, image_shape, with_labels):
    return {averaging.EMA_PARAMS: state.params} if player == "g" else {}

  def decay_after(self, updates):
    """The decay of the EMA update that follows G's update number `updates` (1 = the first)."""
    if self.kimg > 0:
      return averaging.ema_decay_in_images(self.batch_size, self.kimg, self.rampup,
                                           (updates - 1) * self.batch_size)
    return averaging.ema_decay_at(self.decay, updates)

  def after_update(self, player, state):
    if player != "g":
      return state
    decay = self.decay_after(state.step)
    ema = averaging.update_ema(state.extras[averaging.EMA_PARAMS], state.params, decay)
    return state.replace(extras={**state.extras, averaging.EMA_PARAMS: ema})
