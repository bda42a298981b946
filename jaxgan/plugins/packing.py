"""PacGAN packing (Lin et al. 2018, "PacGAN: The power of two samples in generative
adversarial networks", sec. 2): D judges packs of m samples, all real or all fake.

Every batch D sees, real or fake, in D's and in G's updates, becomes packs of m consecutive
samples joined along the channels:

    x [n, H, W, C]  ->  packs [n / m, H, W, m C],   pack j = (x[j m], ..., x[j m + m - 1])

and D (built for m C input channels, which is PacGAN's only change to the architecture)
returns one logit per pack; losses and penalties then act on packs (a gradient penalty's
norm is a pack's). A G that repeats itself makes packs of near-identical samples, which real
packs almost never are, so D can punish the lack of diversity that one sample cannot show
(the paper's mode-collapse region argument, sec. 4).

Packs are consecutive rows of the *global* batch: a device holding rows [a, a + n) of it packs
rows (a + j m, ..., a + j m + m - 1), the same packs on any device layout provided every
device's share is a multiple of m (checked). Packing comes last among D's input hooks, so each
sample is augmented or noised on its own before it is packed.

config.batch_size still counts samples; D sees batch_size / m packs per update. The paper
keeps the number of packs fixed (its G makes m times more samples per step), so the Stacked
MNIST recipes set batch_size = m x the unpacked one.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, Optional, Tuple

import jax

from jaxgan.core import config_checks as checks
from jaxgan.models import conditional
from jaxgan.plugins.protocol import Plugin, RunFacts


def pack(images: jax.Array, size: int) -> jax.Array:
  """[n, H, W, C] -> [n / size, H, W, size C]: pack j holds images j size .. j size + size - 1,
  image j size + i in channels [i C, (i + 1) C)."""
  n, height, width, channels = images.shape
  if n % size:
    raise ValueError(f"PacGAN packing of {size} needs each device's batch to be a multiple of "
                     f"{size}; a device holds {n} images. Choose config.batch_size divisible "
                     f"by {size} x the number of devices.")
  packs = images.reshape(n // size, size, height, width, channels)
  return packs.transpose(0, 2, 3, 1, 4).reshape(n // size, height, width, size * channels)


@dataclasses.dataclass(frozen=True)
class Packing(Plugin):
  """Attributes: size: samples per pack (m >= 2)."""
  size: int

  section = "packing"

  @classmethod
  def from_section(cls, run: RunFacts, *, size: int) -> Optional["Packing"]:
    checks.check_positive_int(cls.field("size"), size)
    if size > 1 and run.batch_size % size:
      raise checks.ConfigError(f"config.batch_size={run.batch_size} must be a multiple of "
                               f"config.packing.size={size} (D judges packs of {size}).")
    return cls(int(size)) if size > 1 else None

  def check_build(self, pair: Any, image_shape: Tuple[int, int, int]) -> None:
    if conditional.is_conditional(pair.discriminator):
      raise checks.ConfigError("config.packing.size > 1 packs samples of different classes; "
                               "it is not available with a class-conditional model "
                               "(config.model.num_classes > 0).")

  def d_input_shape(self, image_shape: Tuple[int, int, int]) -> Tuple[int, int, int]:
    height, width, channels = image_shape
    return height, width, self.size * channels

  def d_input(self, images: jax.Array, real: bool, key: jax.Array, step: jax.Array,
              axis_name: Optional[str], extras: Dict[str, Any]) -> jax.Array:
    return pack(images, self.size)
