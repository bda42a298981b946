"""2x up- and downsampling layers, chosen by name (`model.kwargs.upsample` / `downsample`).

Upsampling [n, H, W, C] -> [n, 2H, 2W, features]:
  "transposed":    a stride-2 transposed convolution (DCGAN; jaxgan's fast `ConvTranspose`).
  "nearest":       nearest-neighbour 2x then a stride-1 convolution ("resize-convolution",
                   Odena et al. 2016: no checkerboard artefacts from uneven kernel overlap).
  "pixel_shuffle": a stride-1 convolution to 4*features channels, then depth-to-space
                   (Shi et al. 2016: sub-pixel convolution).
Downsampling [n, H, W, C] -> [n, H/2, W/2, features]:
  "strided":       a stride-2 convolution (DCGAN).
  "avg_pool":      2x2 average pooling then a stride-1 convolution (4x fewer multiply-adds
                   than convolving first; the order of SNGAN/BigGAN's blocks is the reverse).
All convolutions use 'SAME' padding and `kernel_size` x `kernel_size` kernels; pass
`use_bias=False` when BatchNorm follows.
"""
from __future__ import annotations

from typing import Callable, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models import strided_conv
from jaxgan.models.conv_transpose import ConvTranspose

UPSAMPLE_MODES = ("transposed", "nearest", "pixel_shuffle")
DOWNSAMPLE_MODES = ("strided", "avg_pool")


def check_mode(kind: str, mode: str) -> None:
  """Raises ValueError naming the valid modes when `mode` is not one of `kind`'s."""
  valid = UPSAMPLE_MODES if kind == "upsample" else DOWNSAMPLE_MODES
  if mode not in valid:
    raise ValueError(f"unknown {kind} mode {mode!r}; valid: {', '.join(valid)}.")


def doublings_from_4(image_side: int) -> Optional[int]:
  """k with image_side == 4 * 2^k (the number of 2x steps from 4x4; 0 for 4 itself), or None
  when the side has no such form."""
  k, side = 0, image_side
  while side > 4 and side % 2 == 0:
    side //= 2
    k += 1
  return k if side == 4 else None


def stages(image_side: int, minimum: int = 1) -> int:
  """k with image_side == 4 * 2^k (the number of 2x steps from 4x4), or 0 when the side has
  no such form or k < `minimum`."""
  k = doublings_from_4(image_side)
  return k if k is not None and k >= minimum else 0


def upscale(x: jax.Array, factor: int) -> jax.Array:
  """[..., H, W, C] -> [..., f H, f W, C]: each pixel repeated in an f x f block."""
  if factor == 1:
    return x
  return jnp.repeat(jnp.repeat(x, factor, axis=-3), factor, axis=-2)


def downscale(x: jax.Array, factor: int) -> jax.Array:
  """[..., H, W, C] -> [..., H/f, W/f, C]: the mean of each f x f block (f = 1: x)."""
  if factor == 1:
    return x
  *lead, h, w, c = x.shape
  return x.reshape(*lead, h // factor, factor, w // factor, factor, c).mean(axis=(-4, -2))


def nearest_upsample(x: jax.Array) -> jax.Array:
  """[n, H, W, C] -> [n, 2H, 2W, C], each pixel repeated in a 2x2 block."""
  return upscale(x, 2)


def depth_to_space(x: jax.Array, block: int = 2) -> jax.Array:
  """[n, H, W, block*block*C] -> [n, block*H, block*W, C].

  Output pixel (block*h + i, block*w + j, c) is input channel (i*block + j)*C + c at (h, w),
  the layout of `tf.nn.depth_to_space`.
  """
  n, height, width, depth = x.shape
  channels = depth // (block * block)
  x = x.reshape(n, height, width, block, block, channels)
  x = x.transpose(0, 1, 3, 2, 4, 5)
  return x.reshape(n, height * block, width * block, channels)


def avg_pool_2x(x: jax.Array) -> jax.Array:
  """[n, H, W, C] -> [n, H/2, W/2, C]: the mean of each 2x2 block."""
  return nn.avg_pool(x, (2, 2), strides=(2, 2), padding="VALID")


class Upsample(nn.Module):
  """[n, H, W, C] -> [n, 2H, 2W, features] by `mode` (see the module docstring)."""
  features: int
  mode: str = "transposed"
  kernel_size: int = 4
  use_bias: bool = True
  kernel_init: Callable = nn.linear.default_kernel_init

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    check_mode("upsample", self.mode)
    kernel = (self.kernel_size, self.kernel_size)
    if self.mode == "transposed":
      return ConvTranspose(self.features, kernel, strides=(2, 2), padding="SAME",
                           use_bias=self.use_bias, kernel_init=self.kernel_init)(x)
    if self.mode == "nearest":
      return nn.Conv(self.features, kernel, padding="SAME", use_bias=self.use_bias,
                     kernel_init=self.kernel_init)(nearest_upsample(x))
    return depth_to_space(nn.Conv(4 * self.features, kernel, padding="SAME",
                                  use_bias=self.use_bias, kernel_init=self.kernel_init)(x))


class Downsample(nn.Module):
  """[n, H, W, C] -> [n, H/2, W/2, features] by `mode` (see the module docstring).

  `wrap` is applied to the convolution (e.g. spectral normalisation): wrap(conv, x) -> y.
  """
  features: int
  mode: str = "strided"
  kernel_size: int = 4
  use_bias: bool = True
  kernel_init: Callable = nn.linear.default_kernel_init

  @nn.compact
  def __call__(self, x: jax.Array, wrap=None) -> jax.Array:
    check_mode("downsample", self.mode)
    kernel = (self.kernel_size, self.kernel_size)
    wrap = wrap or (lambda layer, inputs: layer(inputs))
    if self.mode == "strided":
      return wrap(strided_conv.Conv(self.features, kernel, strides=(2, 2), padding="SAME",
                                    use_bias=self.use_bias, kernel_init=self.kernel_init), x)
    return wrap(nn.Conv(self.features, kernel, padding="SAME", use_bias=self.use_bias,
                        kernel_init=self.kernel_init), avg_pool_2x(x))
