"""Model families and the registry of (generator, discriminator) pairs.

A registered builder has the signature

    build(*, image_shape, latent_dim, axis_name, **kwargs) -> GanPair

  image_shape: (H, W, C) of the dataset's images; a builder whose architecture cannot produce
    it raises ValueError saying which shapes it can.
  latent_dim: size of z (used by the builder only if the architecture depends on it).
  axis_name: the pmap axis for synchronised BatchNorm and per-example randomness, or None.
  kwargs: the architecture's own settings, from `config.model.kwargs`.

The generator is called as `G.apply(variables, z [n, latent_dim], train=bool)` and returns
images [n, H, W, C] in [-1, 1]; the discriminator as `D.apply(variables, x, train=bool)`
returning logits [n].
"""
from __future__ import annotations

from typing import NamedTuple, Optional, Tuple

import flax.linen as nn

from jaxgan.models import dcgan, tiny
from jaxgan.registry import Registry

MODELS = Registry("architecture")


class GanPair(NamedTuple):
  generator: nn.Module
  discriminator: nn.Module


def _require_shape(name: str, image_shape, *supported: Tuple[int, int, int]) -> None:
  if tuple(image_shape) not in [tuple(shape) for shape in supported]:
    raise ValueError(
        f"Architecture {name!r} produces images of shape "
        f"{' or '.join(str(tuple(shape)) for shape in supported)} (H, W, C), but the "
        f"dataset's images are {tuple(image_shape)}. Choose a dataset of that shape or another "
        f"architecture (config.model.name; valid: {', '.join(MODELS.names())}).")


@MODELS.register("dcgan_tutorial")
def build_dcgan_tutorial(*, image_shape, latent_dim: int, axis_name: Optional[str],
                         leaky_relu_slope: float = 0.3, dropout_rate: float = 0.3,
                         spectral_norm: bool = False, minibatch_stddev_group: int = 0,
                         minibatch_discrimination: int = 0) -> GanPair:
  """The TensorFlow tutorial's DCGAN (28x28x1, or 28x28x3); see `jaxgan.models.dcgan`.

  D's options: spectral_norm (every D layer), minibatch_stddev_group (group size, 0 = off),
  minibatch_discrimination (number of kernels, 0 = off); see jaxgan.models.minibatch.
  """
  del latent_dim  # The first Dense layer adapts to any latent size.
  _require_shape("dcgan_tutorial", image_shape, (28, 28, 1), (28, 28, 3))
  channels = image_shape[-1]
  return GanPair(
      dcgan.TutorialGenerator(leaky_relu_slope=leaky_relu_slope, channels=channels,
                              axis_name=axis_name),
      dcgan.TutorialDiscriminator(
          leaky_relu_slope=leaky_relu_slope, dropout_rate=dropout_rate,
          spectral_norm=spectral_norm, minibatch_stddev_group=minibatch_stddev_group,
          minibatch_discrimination=minibatch_discrimination, axis_name=axis_name))


@MODELS.register("tiny")
def build_tiny(*, image_shape, latent_dim: int, axis_name: Optional[str],
               hidden: int = 16, dropout_rate: float = 0.3, spectral_norm: bool = False,
               minibatch_stddev_group: int = 0, minibatch_discrimination: int = 0) -> GanPair:
  """A few-thousand-parameter pair for tests and smoke runs, any image shape; D's options as
  dcgan_tutorial's."""
  del latent_dim
  return GanPair(
      tiny.TinyGenerator(image_shape=tuple(image_shape), hidden=hidden, axis_name=axis_name),
      tiny.TinyDiscriminator(hidden=hidden // 2, dropout_rate=dropout_rate,
                             spectral_norm=spectral_norm,
                             minibatch_stddev_group=minibatch_stddev_group,
                             minibatch_discrimination=minibatch_discrimination,
                             axis_name=axis_name))
