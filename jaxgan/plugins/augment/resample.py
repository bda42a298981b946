"""Resampling for the geometric augmentations, one image at a time (vmap for a batch).

The operations NVlabs' ADA pipeline (stylegan2-ada-pytorch, `training/augment.py`) runs an
affine warp with, in pure JAX and differentiable with respect to the image:

  `upfirdn(x, f, up, down, pad0, pad1, gain, flip_filter)` along one axis: insert up-1 zeros
    after every sample, pad with zeros (negative: crop), convolve with the FIR filter f, keep
    every down-th sample (the separable form of torch_utils/ops/upfirdn2d.py's reference
    implementation: each axis gets gain ** (1/2));
  `upsample2x`, `downsample2x`: its upsample2d/downsample2d with the padding they compute;
  `affine_sample`: torch's affine_grid + grid_sample (bilinear, zeros outside,
    align_corners=False) for one image and one 2x3 matrix.

Images are [H, W, C] (channels last, as everywhere in jaxgan).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

# The orthogonal low-pass filter ADA's geometric group uses (Symlet 6).
SYM6 = np.array([0.015404109327027373, 0.0034907120842174702, -0.11799011114819057,
                 -0.048311742585633, 0.4910559419267466, 0.787641141030194,
                 0.3379294217276218, -0.07263752278646252, -0.021060292512300564,
                 0.04472490177066578, 0.0017677118642428036, -0.007800708325034148])


def normalized(taps: np.ndarray) -> np.ndarray:
  """setup_filter's normalisation: the taps sum to 1 (a constant signal keeps its value)."""
  return taps / taps.sum()


def upfirdn(x: jax.Array, taps: np.ndarray, axis: int, up: int = 1, down: int = 1,
            pad0: int = 0, pad1: int = 0, gain: float = 1.0,
            flip_filter: bool = False) -> jax.Array:
  """Upsample, pad, FIR-filter and downsample `x` along `axis` (see the module docstring)."""
  x = jnp.moveaxis(x, axis, 0)
  length = x.shape[0]
  if up > 1:
    x = jnp.zeros((length * up,) + x.shape[1:], x.dtype).at[::up].set(x)
  x = jnp.pad(x, [(max(pad0, 0), max(pad1, 0))] + [(0, 0)] * (x.ndim - 1))
  x = x[max(-pad0, 0):x.shape[0] - max(-pad1, 0)]
  weights = np.asarray(taps, np.float64) * np.sqrt(gain)
  if not flip_filter:  # torch's conv2d correlates: the unflipped filter convolves.
    weights = weights[::-1]
  # One correlation over the axis, every other axis folded into the batch ("VALID", then
  # every down-th sample: the stride).
  rest = x.shape[1:]
  lhs = jnp.moveaxis(x.reshape(x.shape[0], -1), 0, 1)[..., None]  # [rest, length, 1]
  rhs = jnp.asarray(weights, x.dtype).reshape(-1, 1, 1)
  y = jax.lax.conv_general_dilated(lhs, rhs, window_strides=(down,), padding="VALID",
                                   dimension_numbers=("NWC", "WIO", "NWC"),
                                   precision=jax.lax.Precision.HIGHEST)
  y = jnp.moveaxis(y[..., 0], 1, 0).reshape((-1,) + rest)
  return jnp.moveaxis(y, 0, axis)


def upsample2x(image: jax.Array, taps: np.ndarray) -> jax.Array:
  """upfirdn2d.upsample2d(x, f, up=2): [H, W, C] -> [2H, 2W, C]."""
  n = len(taps)
  for axis in (1, 0):  # Width, then height (the reference's order).
    image = upfirdn(image, taps, axis, up=2, pad0=(n + 1) // 2, pad1=(n - 2) // 2, gain=4.0)
  return image


def downsample2x(image: jax.Array, taps: np.ndarray, padding: int = 0,
                 flip_filter: bool = False) -> jax.Array:
  """upfirdn2d.downsample2d(x, f, down=2, padding, flip_filter)."""
  n = len(taps)
  for axis in (1, 0):
    image = upfirdn(image, taps, axis, down=2, pad0=padding + (n - 1) // 2,
                    pad1=padding + (n - 2) // 2, flip_filter=flip_filter)
  return image


def affine_sample(image: jax.Array, theta: jax.Array, out_height: int,
                  out_width: int) -> jax.Array:
  """torch.nn.functional.grid_sample(image, affine_grid(theta, size, align_corners=False),
  mode="bilinear", padding_mode="zeros", align_corners=False) for one image [H, W, C] and a
  2x3 matrix mapping normalised output coordinates to normalised input coordinates."""
  height, width = image.shape[:2]
  xs = (2 * jnp.arange(out_width) + 1) / out_width - 1
  ys = (2 * jnp.arange(out_height) + 1) / out_height - 1
  gx = theta[0, 0] * xs[None, :] + theta[0, 1] * ys[:, None] + theta[0, 2]
  gy = theta[1, 0] * xs[None, :] + theta[1, 1] * ys[:, None] + theta[1, 2]
  ix = ((gx + 1) * width - 1) / 2  # Pixel coordinates of the input, centres at integers.
  iy = ((gy + 1) * height - 1) / 2
  x0, y0 = jnp.floor(ix), jnp.floor(iy)
  out = 0.0
  for dy in (0, 1):
    for dx in (0, 1):
      xi, yi = x0 + dx, y0 + dy
      weight = (1 - jnp.abs(ix - xi)) * (1 - jnp.abs(iy - yi))
      inside = (xi >= 0) & (xi <= width - 1) & (yi >= 0) & (yi <= height - 1)
      value = image[jnp.clip(yi, 0, height - 1).astype(jnp.int32),
                    jnp.clip(xi, 0, width - 1).astype(jnp.int32)]
      out = out + jnp.where(inside, weight, 0.0)[..., None] * value
  return out
