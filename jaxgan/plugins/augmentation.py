"""Differentiable augmentation of every image D sees (config.augment): DiffAugment or ADA.

Every image D judges, real or fake, in D's update and in G's, is augmented (per example, from
the update's key and the streams AUGMENT_REAL / AUGMENT_FAKE), so D never sees an
unaugmented image and G learns through the augmentation (it is differentiable). Gradient
penalties see the augmented images (their gradient is taken with respect to them; the ADA
reference differentiates R1 through the augmentation, with respect to the images before it).

  "diffaugment"  Zhao et al., 2020: config.augment.policy, default "color,translation,cutout"
                 (the paper's choice for limited data), every transform always on.
  "ada"          Karras et al., 2020: the pipeline config.augment.policy (default "bgc": pixel
                 blitting, geometric, colour; jaxgan.plugins.augment.ada.PIPELINES), each transform
                 with probability multiplier * p (config.augment.kwargs: AugmentPipe's
                 multipliers and ranges). p starts at config.augment.p and, with
                 config.augment.ada_target > 0, is adjusted after every ada_interval D
                 updates: p <- max(0, p + sign(r_t - target) * batch * interval /
                 (ada_kimg * 1000)), r_t = E[sign(D(x_real))] over those updates (the
                 reference's heuristic and speed: p moves by 1 in ada_kimg thousand images).
                 ada_target = 0 keeps p fixed.

ADA's state (p, the sign sum and count of the current interval) lives in D's extras, so it is
checkpointed and a resumed run continues it exactly; "augment_p" and "augment_rt" (this
update's E[sign]) are logged.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, Optional, Tuple

import jax
import jax.numpy as jnp

from jaxgan.core import random_streams
from jaxgan.core import config_checks as checks
from jaxgan.models import layers
from jaxgan.plugins.augment import ada, diffaugment
from jaxgan.plugins.protocol import Plugin, RunFacts
from jaxgan.runtime import parallel

NAMES = ("none", "diffaugment", "ada")
P, SIGN_SUM, SIGN_COUNT = "augment_p", "augment_sign_sum", "augment_sign_count"


def adjusted_p(p: jax.Array, mean_sign: jax.Array, target: float, images: int,
               kimg: float) -> jax.Array:
  """ADA's update of p after an interval of `images` real images with E[sign] = mean_sign."""
  return jnp.maximum(p + jnp.sign(mean_sign - target) * images / (kimg * 1000), 0.0)


@dataclasses.dataclass(frozen=True)
class Augmentation(Plugin):
  """Attributes: name ("diffaugment" or "ada"); policy: DiffAugment's transforms in order;
  settings: ADA's multipliers and ranges; p: ADA's initial (or fixed) p; target, interval,
  kimg: ADA's controller (target 0: fixed p); batch_size: the global batch."""
  name: str
  policy: Tuple[str, ...] = ()
  settings: Optional[ada.AdaSettings] = None
  p: float = 0.0
  target: float = 0.0
  interval: int = 4
  kimg: float = 500.0
  batch_size: int = 0

  section = "augment"

  @classmethod
  def from_section(cls, run: RunFacts, *, name: str, policy: str, kwargs: Dict[str, Any],
                   p: float, ada_target: float, ada_interval: int, ada_kimg: float
                   ) -> Optional["Augmentation"]:
    if name not in NAMES:
      raise checks.ConfigError(f"config.augment.name={name!r}; valid: {', '.join(NAMES)}.")
    for field, value in (("p", p), ("ada_target", ada_target), ("ada_kimg", ada_kimg)):
      checks.check_non_negative(cls.field(field), value)
    checks.check_positive_int(cls.field("ada_interval"), ada_interval)
    if name == "none":
      if kwargs or policy:
        raise checks.ConfigError("config.augment.policy/kwargs are set but config.augment."
                                 "name is 'none'; name the augmentation.")
      return None
    if name == "diffaugment":
      policies = tuple(filter(None, (policy or "color,translation,cutout").split(",")))
      bad = [one for one in policies if one not in diffaugment.POLICIES]
      if bad or kwargs:
        raise checks.ConfigError(
            f"config.augment.policy={policy!r}: DiffAugment's policies are "
            f"{', '.join(diffaugment.POLICIES)} (comma-separated); it takes no kwargs "
            f"(got {sorted(kwargs)}).")
      return cls("diffaugment", policy=policies)
    try:
      settings = ada.AdaSettings.pipeline(policy or "bgc", **kwargs)
    except ValueError as e:
      raise checks.ConfigError(f"config.augment: {e}") from e
    if not ada_target and not p > 0:
      raise checks.ConfigError("config.augment.name='ada' with a fixed p "
                               "(ada_target=0) needs config.augment.p > 0.")
    return cls("ada", settings=settings, p=float(p), target=float(ada_target),
               interval=int(ada_interval), kimg=float(ada_kimg), batch_size=int(run.batch_size))

  def check_build(self, pair, image_shape):
    if self.name == "ada" and image_shape[-1] not in (1, 3):
      raise checks.ConfigError(f"config.augment.name='ada' augments RGB or greyscale images; "
                               f"the data's have {image_shape[-1]} channels.")

  @property
  def adaptive(self) -> bool:
    return self.name == "ada" and self.target > 0

  def init_extras(self, player, state, image_shape, with_labels):
    if player != "d" or self.name != "ada":
      return {}
    zero = jnp.zeros((), jnp.float32)
    return {P: jnp.asarray(self.p, jnp.float32), SIGN_SUM: zero, SIGN_COUNT: zero}

  def d_input(self, images, real, key, step, axis_name, extras):
    stream = random_streams.AUGMENT_REAL if real else random_streams.AUGMENT_FAKE
    keys = layers.per_example_keys(random_streams.of(key, stream), images.shape[0], axis_name)
    if self.name == "diffaugment":
      return jax.vmap(lambda x, k: diffaugment.augment(x, k, self.policy))(images, keys)
    p = extras[P]
    return jax.vmap(lambda x, k: ada.augment(x, k, p, self.settings))(images, keys)

  def d_statistics(self, extras, real_logits, axis_name):
    if self.name != "ada":
      return extras, {}
    # Devices hold equal shares: the mean of their means is the global batch's.
    mean_sign = parallel.device_mean(jnp.mean(jnp.sign(real_logits.astype(jnp.float32))),
                                     axis_name)
    extras = {**extras, SIGN_SUM: extras[SIGN_SUM] + mean_sign,
              SIGN_COUNT: extras[SIGN_COUNT] + 1}
    return extras, {"augment_p": extras[P], "augment_rt": mean_sign}

  def after_update(self, player, state):
    if player != "d" or not self.adaptive:
      return state
    extras = state.extras
    due = state.step % self.interval == 0  # After updates interval, 2 interval, ...
    mean_sign = extras[SIGN_SUM] / jnp.maximum(extras[SIGN_COUNT], 1.0)
    p = adjusted_p(extras[P], mean_sign, self.target, self.batch_size * self.interval,
                   self.kimg)
    zero = jnp.zeros((), jnp.float32)
    return state.replace(extras={
        **extras, P: jnp.where(due, p, extras[P]),
        SIGN_SUM: jnp.where(due, zero, extras[SIGN_SUM]),
        SIGN_COUNT: jnp.where(due, zero, extras[SIGN_COUNT])})
