"""Instance noise (Sonderby et al., 2017; Arjovsky & Bottou, 2017): blur both distributions.

Gaussian noise of standard deviation sigma(step) is added to every image D sees (real and
fake, in D's and in G's update), so the two distributions overlap and D's gradients stay
informative early on. sigma decays linearly to zero, as the authors anneal it.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

import jax
import jax.numpy as jnp

from jaxgan.core import random_streams
from jaxgan.core import config_checks as checks
from jaxgan.models import layers
from jaxgan.plugins.protocol import Plugin, RunFacts


@dataclasses.dataclass(frozen=True)
class InstanceNoise(Plugin):
  """sigma(step) = std * max(0, 1 - step / decay_steps); constant std when decay_steps == 0.

  Attributes:
    std: the initial standard deviation, in the model's pixel units ([-1, 1] images).
    decay_steps: train steps over which sigma falls linearly to 0 (0: never decays).
  """
  std: float = 0.0
  decay_steps: int = 0

  section = "instance_noise"

  @classmethod
  def from_section(cls, run: RunFacts, *, std: float, decay_steps: int
                   ) -> Optional["InstanceNoise"]:
    checks.check_non_negative(cls.field("std"), std)
    checks.check_non_negative(cls.field("decay_steps"), decay_steps)
    noise = cls(float(std), int(decay_steps))
    return noise if noise.enabled else None

  def d_input(self, images, real, key, step, axis_name, extras):
    purpose = random_streams.INSTANCE_NOISE_REAL if real else random_streams.INSTANCE_NOISE_FAKE
    return self.add(images, random_streams.of(key, purpose), step, axis_name)

  def step_metrics(self, step):
    return {"instance_noise_std": self.std_at(step)}

  @property
  def enabled(self) -> bool:
    return self.std > 0

  def std_at(self, step: jax.Array) -> jax.Array:
    """sigma at train step `step` (a scalar, traced or not)."""
    if self.decay_steps == 0:
      return jnp.float32(self.std)
    remaining = 1.0 - jnp.asarray(step, jnp.float32) / self.decay_steps
    return self.std * jnp.clip(remaining, 0.0, 1.0)

  def add(self, images: jax.Array, key: jax.Array, step: jax.Array,
          axis_name: Optional[str]) -> jax.Array:
    """images [n, H, W, C] + sigma(step) * N(0, 1), each row's noise from its global index."""
    if not self.enabled:
      return images
    keys = layers.per_example_keys(key, images.shape[0], axis_name)
    noise = jax.vmap(lambda k: jax.random.normal(k, images.shape[1:], images.dtype))(keys)
    return images + self.std_at(step).astype(images.dtype) * noise
