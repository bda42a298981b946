"""ResNet GAN for square images of side 4 * 2^k (SNGAN: Miyato et al., 2018, appendix B.4;
the WGAN-GP paper's CIFAR-10 ResNet is the same shape), with optional self-attention (SAGAN).

At 32x32 with width 256 / 128 (SNGAN's CIFAR-10 model):
G: z [n, latent] -> Dense 4*4*256 -> up-block 256 (8x8) -> up-block 256 (16x16) -> up-block 256
   (32x32) -> BN -> ReLU -> Conv 3x3 C -> tanh: [n, 32, 32, C].
   up-block: BN -> ReLU -> nearest 2x -> Conv 3x3 -> BN -> ReLU -> Conv 3x3, plus the shortcut
   nearest 2x -> Conv 1x1. G's Dense and block convolutions have no bias (BatchNorm follows
   on every path; SNGAN's have biases, to no effect).
D: x -> first block 128 (16x16) -> down-block 128 (8x8) -> block 128 -> block 128 -> ReLU ->
   sum over positions -> Dense 1: logits [n]. (k - 1 downsampling blocks after the first: the
   last two blocks keep the 8x8 resolution, as in SNGAN.)
   first block: Conv 3x3 -> ReLU -> Conv 3x3 -> avg-pool 2x, shortcut avg-pool 2x -> Conv 1x1.
   block: ReLU -> Conv 3x3 -> ReLU -> Conv 3x3 [-> avg-pool 2x], shortcut [Conv 1x1 -> avg-pool
   2x] (identity when the block neither downsamples nor changes width).
Spectral norm on every D layer is on by default (SNGAN); D has no BatchNorm (so it suits
gradient penalties). `attention_resolution` R > 0 inserts a SAGAN self-attention block where
the feature maps are RxR: in G after the up-block that reaches R, in D after the block that
reaches R.
"""
from __future__ import annotations

from typing import Optional, Tuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models import layers, resampling
from jaxgan.models.attention import SelfAttention
from jaxgan.models.minibatch import DiscriminatorOptions, head
from jaxgan.models.resampling import avg_pool_2x, nearest_upsample


class UpBlock(nn.Module):
  """[n, H, W, Cin] -> [n, 2H, 2W, features] (see the module docstring)."""
  features: int
  axis_name: Optional[str] = None

  @nn.compact
  def __call__(self, x: jax.Array, train: bool, codes: Optional[jax.Array] = None
               ) -> jax.Array:
    # No biases: every path from a block's output, through later shortcuts too, ends in a
    # BatchNorm, which cancels a constant. (A bias there gets a zero gradient up to rounding,
    # which Adam would amplify into steps of the learning rate's size.)
    y = nn.relu(layers.batch_norm(train, self.axis_name, codes=codes)(x))
    y = nn.Conv(self.features, (3, 3), padding="SAME", use_bias=False)(nearest_upsample(y))
    y = nn.relu(layers.batch_norm(train, self.axis_name, codes=codes)(y))
    y = nn.Conv(self.features, (3, 3), padding="SAME", use_bias=False)(y)
    shortcut = nn.Conv(self.features, (1, 1), use_bias=False, name="shortcut")(
        nearest_upsample(x))
    return y + shortcut


class DownBlock(nn.Module):
  """[n, H, W, Cin] -> [n, H/2, W/2, features] when `downsample`, else [n, H, W, features].

  `first`: the block that reads the image (no leading ReLU; pooling before its shortcut).
  """
  features: int
  downsample: bool = True
  first: bool = False
  spectral_norm: bool = True

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    conv = lambda k, name=None: nn.Conv(self.features, (k, k), padding="SAME", name=name)
    y = x if self.first else nn.relu(x)
    sn = layers.spectral_norm_wrapper(self.spectral_norm, train)
    y = nn.relu(sn(conv(3), y))
    y = sn(conv(3), y)
    if self.downsample:
      y = avg_pool_2x(y)
    if self.first:
      shortcut = sn(conv(1, "shortcut"), avg_pool_2x(x))
    elif self.downsample or x.shape[-1] != self.features:
      shortcut = sn(conv(1, "shortcut"), x)
      shortcut = avg_pool_2x(shortcut) if self.downsample else shortcut
    else:
      shortcut = x
    return y + shortcut


def stages(image_side: int) -> int:
  """k with image_side == 4 * 2^k and k >= 2 (16x16 and up), else 0."""
  return resampling.stages(image_side, minimum=2)


class ResNetGenerator(nn.Module):
  """Latents [n, latent_dim] -> images [n, *image_shape] in [-1, 1]."""
  image_shape: Tuple[int, int, int]
  width: int = 256
  attention_resolution: int = 0
  axis_name: Optional[str] = None

  @nn.compact
  def __call__(self, z: jax.Array, train: bool, codes: Optional[jax.Array] = None
               ) -> jax.Array:
    """codes: one-hot classes [n, num_classes] for conditional BatchNorm, or None."""
    x = nn.Dense(4 * 4 * self.width, use_bias=False)(z).reshape(z.shape[0], 4, 4, self.width)
    for _ in range(stages(self.image_shape[0])):
      x = UpBlock(self.width, self.axis_name)(x, train, codes)
      if x.shape[1] == self.attention_resolution:
        x = SelfAttention()(x, train)
    x = nn.relu(layers.batch_norm(train, self.axis_name, codes=codes)(x))
    return jnp.tanh(nn.Conv(self.image_shape[-1], (3, 3), padding="SAME")(x))


class ResNetDiscriminator(DiscriminatorOptions):
  """Images [n, S, S, C] -> logits [n]; options as every jaxgan D (DiscriminatorHead)."""
  width: int = 128
  spectral_norm: bool = True
  attention_resolution: int = 0

  @nn.compact
  def __call__(self, x: jax.Array, train: bool, codes: Optional[jax.Array] = None
               ) -> jax.Array:
    """codes: one-hot classes [n, num_classes] for the projection head, or None."""
    k = stages(x.shape[1])
    # The first block and k - 2 more halve the side (32 -> 8 for k = 3); two keep it.
    plan = [(True, True)] + [(True, False)] * (k - 2) + [(False, False)] * 2
    for downsample, first in plan:
      x = DownBlock(self.width, downsample, first, self.spectral_norm)(x, train)
      if downsample and x.shape[1] == self.attention_resolution:
        x = SelfAttention(self.spectral_norm)(x, train)
    x = jnp.sum(nn.relu(x), axis=(1, 2), keepdims=True)  # [n, 1, 1, width]
    return head(self, x, train, codes)
