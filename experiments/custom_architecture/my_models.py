"""A researcher's own architecture, used by name without editing jaxgan (README "Your own
architecture"):

  PYTHONPATH=experiments/custom_architecture python -m jaxgan.main \
      --config=configs/dcgan.py --workdir=/tmp/my_arch \
      --config.model.name=my_models:build_pair --config.model.kwargs.width=256

The builder's contract (jaxgan.models.contract, checked at start-up by shape inference):
keyword arguments image_shape, latent_dim, axis_name (plus its own, from config.model.kwargs);
returns jaxgan.models.GanPair; G(z [n, latent_dim], train) -> images [n, H, W, C] in [-1, 1];
D(x [n, H, W, C], train) -> logits [n].
"""
from typing import Optional, Tuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models import GanPair


class Generator(nn.Module):
  """z [n, latent_dim] -> images [n, H, W, C] in [-1, 1] (two dense layers, BatchNorm)."""
  image_shape: Tuple[int, int, int]
  width: int
  axis_name: Optional[str]  # pmap axis: BatchNorm statistics over the global batch

  @nn.compact
  def __call__(self, z: jax.Array, train: bool) -> jax.Array:
    x = nn.Dense(self.width, use_bias=False)(z)
    x = nn.BatchNorm(use_running_average=not train, axis_name=self.axis_name)(x)
    x = nn.Dense(self.image_shape[0] * self.image_shape[1] * self.image_shape[2])(nn.relu(x))
    return jnp.tanh(x).reshape(z.shape[0], *self.image_shape)


class Discriminator(nn.Module):
  """images [n, H, W, C] -> logits [n] (not [n, 1]: the start-up check refuses that)."""
  width: int

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    del train  # No dropout or BatchNorm here; jaxgan passes it to every D.
    x = nn.leaky_relu(nn.Dense(self.width)(x.reshape(x.shape[0], -1)), 0.2)
    return nn.Dense(1)(x).reshape(-1)


def build_pair(*, image_shape, latent_dim: int, axis_name: Optional[str],
               width: int = 128) -> GanPair:
  """Dense G and D for any image shape; `width` from config.model.kwargs.width."""
  del latent_dim  # Dense layers adapt to any latent size.
  return GanPair(Generator(tuple(image_shape), width, axis_name), Discriminator(width))
