"""ADA's augmentation pipeline (Karras et al., 2020, "Training Generative Adversarial Networks
with Limited Data"), in pure JAX: the transforms of NVlabs' stylegan2-ada-pytorch
`training/augment.py` (AugmentPipe) with its parameters, ranges and order.

  pixel blitting   xflip, rotate90, xint (integer translation)
  geometric        scale (isotropic), rotate (before and after anisotropic scaling, each with
                   probability 1 - sqrt(1 - rotate * p)), aniso, xfrac (fractional translation)
  colour           brightness, contrast, lumaflip, hue, saturation
  corruptions      noise (additive RGB), cutout

A transform fires in an example with probability (its multiplier) * p. The blit and geometric
transforms compose into one inverse 2D matrix per example, executed once: reflection padding,
2x upsampling with the Symlet-6 low-pass filter, a bilinear warp, filtered 2x downsampling
(the reference's steps). The colour transforms compose into one 4x4 matrix per example.

Departures from the reference, all for per-example determinism (the same image on any device
layout, any batch):
  * the reference pads the batch by the largest margin any of its examples needs; jaxgan pads
    every image by the most that margin can be (H - 1, W - 1), so an image does not depend on
    the other images of its batch (with the reference's smaller pad, what lies beyond it
    samples as zeros rather than reflections);
  * an example whose transforms all stayed off is returned unchanged (the reference still
    resamples it through the filters, a slight blur), so p = 0 is exactly the identity;
  * the image-space filtering group ('f') is not built.

Randomness: example i draws every parameter from its own key (`layers.per_example_keys`),
transform t from fold_in(key, t), its gate from sub-stream 0 and its value from 1.
"""
from __future__ import annotations

import dataclasses
from typing import Dict, NamedTuple, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan.plugins.augment import resample

BLIT = ("xflip", "rotate90", "xint")
GEOM = ("scale", "rotate", "aniso", "xfrac")
COLOR = ("brightness", "contrast", "lumaflip", "hue", "saturation")
CORRUPT = ("noise", "cutout")
TRANSFORMS = BLIT + GEOM + COLOR + CORRUPT

# The reference's pipelines (stylegan2-ada-pytorch train.py, augpipe_specs) that jaxgan builds.
PIPELINES = {"blit": BLIT, "geom": GEOM, "color": COLOR, "noise": ("noise",),
             "cutout": ("cutout",), "bg": BLIT + GEOM, "bgc": BLIT + GEOM + COLOR}


@dataclasses.dataclass(frozen=True)
class AdaSettings:
  """Probability multipliers (0: off) and ranges: AugmentPipe's arguments and defaults."""
  xflip: float = 0.0
  rotate90: float = 0.0
  xint: float = 0.0
  xint_max: float = 0.125      # integer translation range, relative to the image size
  scale: float = 0.0
  rotate: float = 0.0
  aniso: float = 0.0
  xfrac: float = 0.0
  scale_std: float = 0.2       # log2 std of isotropic scaling
  rotate_max: float = 1.0      # rotation range, 1 = full circle
  aniso_std: float = 0.2       # log2 std of anisotropic scaling
  xfrac_std: float = 0.125     # std of fractional translation, relative to the image size
  brightness: float = 0.0
  contrast: float = 0.0
  lumaflip: float = 0.0
  hue: float = 0.0
  saturation: float = 0.0
  brightness_std: float = 0.2
  contrast_std: float = 0.5    # log2 std
  hue_max: float = 1.0         # 1 = full circle
  saturation_std: float = 1.0  # log2 std
  noise: float = 0.0
  cutout: float = 0.0
  noise_std: float = 0.1
  cutout_size: float = 0.5     # relative to the image size

  @classmethod
  def pipeline(cls, name: str, **overrides) -> "AdaSettings":
    """The named pipeline (every transform of it at multiplier 1), then `overrides`."""
    if name not in PIPELINES:
      raise ValueError(f"unknown ADA pipeline {name!r}; valid: {', '.join(PIPELINES)}.")
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
      raise ValueError(f"unknown ADA setting(s) {unknown}; valid: {sorted(fields)}.")
    return cls(**{**{t: 1.0 for t in PIPELINES[name]}, **overrides})

  def uses(self, group: Tuple[str, ...]) -> bool:
    return any(getattr(self, t) > 0 for t in group)


class Params(NamedTuple):
  """One example's drawn augmentation (see `draw`)."""
  g_inv: jax.Array        # [3, 3]: output pixel (centred coordinates) -> input pixel
  color: jax.Array        # [4, 4]: colour in -> colour out (homogeneous RGB)
  noise_sigma: jax.Array  # [] std of additive noise (0: none)
  cutout_size: jax.Array  # [] side of the cutout square, relative (0: none)
  cutout_center: jax.Array  # [2] (x, y) relative
  fired: Dict[str, jax.Array]  # transform -> bool [], whether its gate opened


def _m(*rows) -> jax.Array:
  return jnp.stack([jnp.stack([jnp.asarray(v, jnp.float32) for v in row]) for row in rows])


def translate2d(tx, ty):
  return _m([1, 0, tx], [0, 1, ty], [0, 0, 1])


def scale2d(sx, sy):
  return _m([sx, 0, 0], [0, sy, 0], [0, 0, 1])


def rotate2d(theta):
  return _m([jnp.cos(theta), -jnp.sin(theta), 0], [jnp.sin(theta), jnp.cos(theta), 0],
            [0, 0, 1])


def translate3d(t):
  return _m([1, 0, 0, t], [0, 1, 0, t], [0, 0, 1, t], [0, 0, 0, 1])


def scale3d(s):
  return _m([s, 0, 0, 0], [0, s, 0, 0], [0, 0, s, 0], [0, 0, 0, 1])


LUMA = jnp.asarray(np.array([1, 1, 1, 0]) / np.sqrt(3), jnp.float32)  # The luma axis.


def rotate3d_about_luma(theta):
  vx, vy, vz = LUMA[0], LUMA[1], LUMA[2]
  s, c = jnp.sin(theta), jnp.cos(theta)
  cc = 1 - c
  return _m([vx * vx * cc + c, vx * vy * cc - vz * s, vx * vz * cc + vy * s, 0],
            [vy * vx * cc + vz * s, vy * vy * cc + c, vy * vz * cc - vx * s, 0],
            [vz * vx * cc - vy * s, vz * vy * cc + vx * s, vz * vz * cc + c, 0],
            [0, 0, 0, 1])


def draw(key: jax.Array, p: jax.Array, settings: AdaSettings,
         image_shape: Tuple[int, int, int]) -> Params:
  """One example's parameters: every transform's gate (uniform < multiplier * p) and value,
  composed in the reference's order."""
  height, width, channels = image_shape
  fired = {}

  def gate(name, probability=None):
    k = jax.random.fold_in(key, TRANSFORMS.index(name))
    chance = getattr(settings, name) * p if probability is None else probability
    fired[name] = jax.random.uniform(jax.random.fold_in(k, 0)) < chance
    return fired[name], jax.random.fold_in(k, 1)

  g = jnp.eye(3)
  if settings.xflip > 0:
    on, k = gate("xflip")
    i = jnp.where(on, jnp.floor(jax.random.uniform(k) * 2), 0.0)
    g = g @ scale2d(1 / (1 - 2 * i), 1.0)
  if settings.rotate90 > 0:
    on, k = gate("rotate90")
    i = jnp.where(on, jnp.floor(jax.random.uniform(k) * 4), 0.0)
    g = g @ rotate2d(np.pi / 2 * i)  # rotate2d_inv(-pi/2 i)
  if settings.xint > 0:
    on, k = gate("xint")
    t = jnp.where(on, (jax.random.uniform(k, (2,)) * 2 - 1) * settings.xint_max, 0.0)
    g = g @ translate2d(-jnp.round(t[0] * width), -jnp.round(t[1] * height))
  if settings.scale > 0:
    on, k = gate("scale")
    s = jnp.where(on, jnp.exp2(jax.random.normal(k) * settings.scale_std), 1.0)
    g = g @ scale2d(1 / s, 1 / s)
  p_rot = 1 - jnp.sqrt(jnp.clip(1 - settings.rotate * p, 0, 1))  # P(pre or post) = rotate * p
  if settings.rotate > 0:
    on, k = gate("rotate", p_rot)
    theta = jnp.where(on, (jax.random.uniform(k) * 2 - 1) * np.pi * settings.rotate_max, 0.0)
    g = g @ rotate2d(theta)  # rotate2d_inv(-theta), before anisotropic scaling
  if settings.aniso > 0:
    on, k = gate("aniso")
    s = jnp.where(on, jnp.exp2(jax.random.normal(k) * settings.aniso_std), 1.0)
    g = g @ scale2d(1 / s, s)
  if settings.rotate > 0:
    k = jax.random.fold_in(key, len(TRANSFORMS))  # The post-rotation's own stream.
    on = jax.random.uniform(jax.random.fold_in(k, 0)) < p_rot
    fired["rotate"] = fired["rotate"] | on
    theta = jnp.where(on, (jax.random.uniform(jax.random.fold_in(k, 1)) * 2 - 1) * np.pi *
                      settings.rotate_max, 0.0)
    g = g @ rotate2d(theta)
  if settings.xfrac > 0:
    on, k = gate("xfrac")
    t = jnp.where(on, jax.random.normal(k, (2,)) * settings.xfrac_std, 0.0)
    g = g @ translate2d(-t[0] * width, -t[1] * height)

  c = jnp.eye(4)
  if settings.brightness > 0:
    on, k = gate("brightness")
    c = translate3d(jnp.where(on, jax.random.normal(k) * settings.brightness_std, 0.0)) @ c
  if settings.contrast > 0:
    on, k = gate("contrast")
    c = scale3d(jnp.where(on, jnp.exp2(jax.random.normal(k) * settings.contrast_std), 1.0)) @ c
  outer = jnp.outer(LUMA, LUMA)
  if settings.lumaflip > 0:
    on, k = gate("lumaflip")
    i = jnp.where(on, jnp.floor(jax.random.uniform(k) * 2), 0.0)
    c = (jnp.eye(4) - 2 * outer * i) @ c  # Householder reflection.
  if settings.hue > 0 and channels > 1:
    on, k = gate("hue")
    theta = jnp.where(on, (jax.random.uniform(k) * 2 - 1) * np.pi * settings.hue_max, 0.0)
    c = rotate3d_about_luma(theta) @ c
  if settings.saturation > 0 and channels > 1:
    on, k = gate("saturation")
    s = jnp.where(on, jnp.exp2(jax.random.normal(k) * settings.saturation_std), 1.0)
    c = (outer + (jnp.eye(4) - outer) * s) @ c

  sigma, size, center = jnp.zeros(()), jnp.zeros(()), jnp.zeros((2,))
  if settings.noise > 0:
    on, k = gate("noise")
    sigma = jnp.where(on, jnp.abs(jax.random.normal(k)) * settings.noise_std, 0.0)
  if settings.cutout > 0:
    on, k = gate("cutout")
    size = jnp.where(on, settings.cutout_size, 0.0)
    center = jax.random.uniform(k, (2,))
  return Params(g, c, sigma, size, center, fired)


def warp(image: jax.Array, g_inv: jax.Array) -> jax.Array:
  """The geometric transform of one image [H, W, C] by its inverse matrix g_inv (output pixel
  -> input pixel, in coordinates centred on the image): the reference's pad, upsample, warp,
  downsample, with the largest padding (module docstring)."""
  height, width = image.shape[:2]
  taps = resample.normalized(resample.SYM6)
  hz_pad = len(taps) // 4
  image = jnp.pad(image, [(height - 1, height - 1), (width - 1, width - 1), (0, 0)],
                  mode="reflect")  # The same margin on both sides: no origin shift.
  image = resample.upsample2x(image, taps)
  g = scale2d(2, 2) @ g_inv @ scale2d(0.5, 0.5)
  g = translate2d(-0.5, -0.5) @ g @ translate2d(0.5, 0.5)
  out_h, out_w = (height + hz_pad * 2) * 2, (width + hz_pad * 2) * 2
  g = scale2d(2 / image.shape[1], 2 / image.shape[0]) @ g @ scale2d(out_w / 2, out_h / 2)
  image = resample.affine_sample(image, g[:2], out_h, out_w)
  return resample.downsample2x(image, taps, padding=-hz_pad * 2, flip_filter=True)


def apply(image: jax.Array, params: Params, settings: AdaSettings) -> jax.Array:
  """One image [H, W, C] (C = 1 or 3, in [-1, 1]) augmented by its drawn parameters."""
  height, width, channels = image.shape
  if channels not in (1, 3):
    raise ValueError(f"ADA augments RGB or greyscale images; got {channels} channels.")
  if settings.uses(BLIT + GEOM):
    identity = jnp.all(params.g_inv == jnp.eye(3))
    image = jnp.where(identity, image, warp(image, params.g_inv))
  if settings.uses(COLOR):
    c = params.color
    if channels == 3:
      image = image @ c[:3, :3].T + c[:3, 3]
    else:  # Greyscale: the mean of the three output channels' rows.
      row = jnp.mean(c[:3, :], axis=0)
      image = image * jnp.sum(row[:3]) + row[3]
  return image


def corrupt(image: jax.Array, params: Params, noise_key: jax.Array,
            settings: AdaSettings) -> jax.Array:
  """The image-space corruptions (after `apply`): additive noise, cutout."""
  height, width, _ = image.shape
  if settings.noise > 0:
    image = image + jax.random.normal(noise_key, image.shape) * params.noise_sigma
  if settings.cutout > 0:
    xs = (jnp.arange(width) + 0.5) / width
    ys = (jnp.arange(height) + 0.5) / height
    keep = ((jnp.abs(xs[None, :] - params.cutout_center[0]) >= params.cutout_size / 2) |
            (jnp.abs(ys[:, None] - params.cutout_center[1]) >= params.cutout_size / 2))
    image = image * keep[..., None].astype(image.dtype)
  return image


def augment(image: jax.Array, key: jax.Array, p: jax.Array, settings: AdaSettings
            ) -> jax.Array:
  """One image [H, W, C] augmented with probability multiplier p (a traced scalar)."""
  params = draw(key, p, settings, image.shape)
  image = apply(image, params, settings)
  return corrupt(image, params, jax.random.fold_in(key, len(TRANSFORMS) + 1), settings)
