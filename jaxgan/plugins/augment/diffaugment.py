"""DiffAugment (Zhao et al., 2020, "Differentiable Augmentation for Data-Efficient GAN
Training"; mit-han-lab/data-efficient-gans, DiffAugment_pytorch.py), in pure JAX.

Policies (applied in the order named, e.g. "color,translation,cutout"):
  color        brightness x + (u - 0.5); saturation (x - mean_c x) * 2u + mean_c x;
               contrast (x - mean x) * (u + 0.5) + mean x   (u ~ U[0, 1) per example)
  translation  a shift by integers in [-r H, r H] x [-r W, r W] (r = 1/8, rounded), the
               vacated pixels zero
  cutout       a zeroed square of side round(H / 2) x round(W / 2) at a uniform centre, cut
               at the border
Every transform applies to every image (there is no probability). The transforms with their
parameters given are separate functions, for tests; `augment` draws the parameters of one
image from its key.
"""
from __future__ import annotations

from typing import Tuple

import jax
import jax.numpy as jnp

POLICIES = ("color", "translation", "cutout")
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def brightness(x: jax.Array, u: jax.Array) -> jax.Array:
  return x + (u - 0.5)


def saturation(x: jax.Array, u: jax.Array) -> jax.Array:
  mean = jnp.mean(x, axis=-1, keepdims=True)
  return (x - mean) * (u * 2) + mean


def contrast(x: jax.Array, u: jax.Array) -> jax.Array:
  mean = jnp.mean(x)
  return (x - mean) * (u + 0.5) + mean


def _half_size(side: int, ratio: float) -> int:
  return int(side * ratio + 0.5)


def translate(x: jax.Array, shift: Tuple[jax.Array, jax.Array]) -> jax.Array:
  """out[i, j] = x[i + dy, j + dx] (zero where that is outside), shift = (dy, dx) ints."""
  height, width = x.shape[:2]
  sy, sx = _half_size(height, TRANSLATION_RATIO), _half_size(width, TRANSLATION_RATIO)
  padded = jnp.pad(x, [(sy, sy), (sx, sx), (0, 0)])
  return jax.lax.dynamic_slice(padded, (sy + shift[0], sx + shift[1], 0), x.shape)


def cut_out(x: jax.Array, offset: Tuple[jax.Array, jax.Array]) -> jax.Array:
  """x with rows [oy - h // 2, oy - h // 2 + h) x columns [ox - w // 2, ...) zeroed."""
  height, width = x.shape[:2]
  h, w = _half_size(height, CUTOUT_RATIO), _half_size(width, CUTOUT_RATIO)
  rows, cols = jnp.arange(height)[:, None], jnp.arange(width)[None, :]
  top, left = offset[0] - h // 2, offset[1] - w // 2
  inside = (rows >= top) & (rows < top + h) & (cols >= left) & (cols < left + w)
  return jnp.where(inside[..., None], jnp.zeros_like(x), x)


def augment(x: jax.Array, key: jax.Array, policy: Tuple[str, ...]) -> jax.Array:
  """One image [H, W, C] augmented by `policy` (names from POLICIES), drawn from `key`."""
  height, width = x.shape[:2]
  for i, name in enumerate(policy):
    k = jax.random.fold_in(key, i)
    if name == "color":
      u = jax.random.uniform(k, (3,))
      x = contrast(saturation(brightness(x, u[0]), u[1]), u[2])
    elif name == "translation":
      sy, sx = _half_size(height, TRANSLATION_RATIO), _half_size(width, TRANSLATION_RATIO)
      ky, kx = jax.random.split(k)
      x = translate(x, (jax.random.randint(ky, (), -sy, sy + 1),
                        jax.random.randint(kx, (), -sx, sx + 1)))
    elif name == "cutout":
      h, w = _half_size(height, CUTOUT_RATIO), _half_size(width, CUTOUT_RATIO)
      ky, kx = jax.random.split(k)
      x = cut_out(x, (jax.random.randint(ky, (), 0, height + (1 - h % 2)),
                      jax.random.randint(kx, (), 0, width + (1 - w % 2))))
    else:
      raise ValueError(f"unknown DiffAugment policy {name!r}; valid: {', '.join(POLICIES)}.")
  return x
