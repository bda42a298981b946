"""The DCGAN of Radford et al. (2016) for square images of side 4 * 2^k (32, 64, 128, ...).

At 64x64x3 with base_features 64 (the paper's CelebA/LSUN model, and PyTorch's DCGAN tutorial):
G: z [n, latent] -> Dense 4*4*512 -> BN -> ReLU -> up 256 (8x8) -> BN -> ReLU -> up 128 (16x16)
   -> BN -> ReLU -> up 64 (32x32) -> BN -> ReLU -> up 3 (64x64) -> tanh: [n, 64, 64, 3].
D: x [n, 64, 64, 3] -> down 64 (32x32) -> LeakyReLU 0.2 -> down 128 (16x16) -> BN -> LeakyReLU
   -> down 256 (8x8) -> BN -> LeakyReLU -> down 512 (4x4) -> BN -> LeakyReLU -> Dense 1: [n].
Widths double per halving of the resolution: the 4x4 layer has base * 2^(k-1) channels. No
BatchNorm on G's output or D's input, as the paper says; convolutions have no bias (BN follows,
or, as in PyTorch's tutorial, none at all); weights start from N(0, 0.02). G's Dense layer is
the paper's "project and reshape" (PyTorch writes it as a 4x4 transposed convolution of the
1x1 latent: the same parameters). BN uses PyTorch's momentum 0.1 (Flax 0.9) and eps 1e-5, with
statistics over the global batch. "up"/"down" are `jaxgan.models.resampling` layers.

Parameter counts at 64x64x3, z 100: G 3,576,704 and D 2,765,568 + 1 (the head's bias), those
of PyTorch's DCGAN tutorial.
"""
from __future__ import annotations

from typing import Optional, Tuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models import layers
from jaxgan.models.minibatch import DiscriminatorOptions, head
from jaxgan.models.resampling import Downsample, stages, Upsample

DCGAN_INIT = nn.initializers.normal(0.02)


def _batch_norm(train: bool, axis_name: Optional[str], codes: Optional[jax.Array] = None):
  return layers.batch_norm(train, axis_name, momentum=0.9, epsilon=1e-5, codes=codes)


class RadfordGenerator(nn.Module):
  """Latents [n, latent_dim] -> images [n, *image_shape] in [-1, 1]."""
  image_shape: Tuple[int, int, int]
  base_features: int = 64
  upsample: str = "transposed"
  axis_name: Optional[str] = None

  @nn.compact
  def __call__(self, z: jax.Array, train: bool, codes: Optional[jax.Array] = None
               ) -> jax.Array:
    """codes: one-hot classes [n, num_classes] for conditional BatchNorm, or None."""
    k = stages(self.image_shape[0])
    width = self.base_features * 2 ** (k - 1)
    x = nn.Dense(4 * 4 * width, use_bias=False, kernel_init=DCGAN_INIT)(z)
    x = nn.relu(_batch_norm(train, self.axis_name, codes)(x.reshape(z.shape[0], 4, 4, width)))
    for _ in range(k - 1):
      width //= 2
      x = Upsample(width, self.upsample, use_bias=False, kernel_init=DCGAN_INIT)(x)
      x = nn.relu(_batch_norm(train, self.axis_name, codes)(x))
    x = Upsample(self.image_shape[-1], self.upsample, use_bias=False,
                 kernel_init=DCGAN_INIT)(x)
    return jnp.tanh(x)


class RadfordDiscriminator(DiscriminatorOptions):
  """Images [n, S, S, C] -> logits [n]; options as every jaxgan D (DiscriminatorHead).

  With `spectral_norm`, BatchNorm is left out (SN replaces it, as in Miyato et al.'s DCGAN-style
  critic), every convolution is normalised and has a bias.
  """
  base_features: int = 64
  leaky_relu_slope: float = 0.2
  downsample: str = "strided"

  @nn.compact
  def __call__(self, x: jax.Array, train: bool, codes: Optional[jax.Array] = None
               ) -> jax.Array:
    """codes: one-hot classes [n, num_classes] for the projection head, or None."""
    wrap = layers.spectral_norm_wrapper(self.spectral_norm, train)
    for stage in range(stages(x.shape[1])):
      x = Downsample(self.base_features * 2 ** stage, self.downsample,
                     use_bias=self.spectral_norm, kernel_init=DCGAN_INIT)(x, wrap)
      if stage > 0 and not self.spectral_norm:
        x = _batch_norm(train, self.axis_name)(x)
      x = nn.leaky_relu(x, self.leaky_relu_slope)
    return head(self, x, train, codes)
