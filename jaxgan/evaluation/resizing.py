"""How FID protocols bring images to the extractor's input size, and into its input range.

Papers' FIDs differ in how 28x28 or 1024x1024 images reach Inception's 299x299 (Parmar et al.,
"On Aliased Resizing and Surprising Subtleties in GAN Evaluation", 2022: the resize alone moves
FID by several points). Each resize here reproduces one reference bit for bit in its math:

* `clean`: clean-fid's default: PIL's bicubic resize of each channel as a float32 ('F' mode)
  image, antialiased when shrinking (the cubic kernel, a = -0.5, widened by the shrink factor),
  horizontal pass first, then clipped to [0, 255].
* `legacy_tensorflow`: TensorFlow 1's `tf.image.resize_bilinear` (align_corners=False,
  half_pixel_centers=False): source pixel = output pixel * in/out, no antialiasing. TTUR's and
  StyleGAN2-ADA's published FIDs resize this way (NVIDIA's Inception does it inside the
  network).
* `legacy_pytorch`: pytorch-fid's `F.interpolate(mode="bilinear", align_corners=False)`:
  half-pixel centres, source coordinates clamped at 0, no antialiasing.

Every one is separable and linear, so it is a pair of matrices [out, in] built once per
(input size, output size) in float64 by NumPy (`resize_matrix`) and applied on the device as two
float32 matrix products (`resize`). Inputs and outputs are float pixel values in [0, 255].

`to_network_range` then maps [0, 255] to what the extractor's first layer expects: (x - 128) /
128 for NVIDIA's TorchScript Inception, which clean-fid's `clean` and `legacy_tensorflow` modes
and StyleGAN2-ADA use (the TF graph's own normalisation); x / 127.5 - 1 for pytorch-fid.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan.core import errors

RESIZES = ("clean", "legacy_tensorflow", "legacy_pytorch")


def _bicubic(x: np.ndarray, a: float = -0.5) -> np.ndarray:
  """Keys' cubic convolution kernel (PIL's BICUBIC, a = -0.5), support [-2, 2]."""
  x = np.abs(x)
  near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
  far = (((x - 5.0) * x + 8.0) * x - 4.0) * a
  return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


def _pil_bicubic_matrix(in_size: int, out_size: int) -> np.ndarray:
  """PIL's resampling coefficients for one axis: [out, in], rows summing to 1.

  Output pixel o is centred at source coordinate (o + 0.5) * in/out; when shrinking, the
  kernel is stretched by in/out (antialiasing); taps are the source pixels whose centres lie
  within the support (rounded as PIL rounds, cut at the borders) and the weights are
  renormalised over them.
  """
  scale = in_size / out_size
  filter_scale = max(scale, 1.0)
  support = 2.0 * filter_scale
  matrix = np.zeros((out_size, in_size))
  for o in range(out_size):
    centre = (o + 0.5) * scale
    first = max(int(centre - support + 0.5), 0)  # int() truncates toward 0, as C's cast.
    last = min(int(centre + support + 0.5), in_size)
    taps = np.arange(first, last)
    weights = _bicubic((taps - centre + 0.5) / filter_scale)
    total = weights.sum()
    matrix[o, first:last] = weights / total if total != 0.0 else weights
  return matrix


def _bilinear_matrix(in_size: int, out_size: int, half_pixel: bool) -> np.ndarray:
  """Bilinear interpolation without antialiasing, for one axis: [out, in].

  half_pixel=False: TF 1's source coordinate o * in/out; True: torch's (o + 0.5) * in/out - 0.5,
  clamped at 0. Both take the pixel below and the next one (clamped at the last).
  """
  scale = in_size / out_size
  out = np.arange(out_size, dtype=np.float64)
  source = np.maximum((out + 0.5) * scale - 0.5, 0.0) if half_pixel else out * scale
  low = np.minimum(np.floor(source).astype(np.int64), in_size - 1)
  high = np.minimum(low + 1, in_size - 1)
  frac = source - low
  matrix = np.zeros((out_size, in_size))
  np.add.at(matrix, (np.arange(out_size), low), 1.0 - frac)
  np.add.at(matrix, (np.arange(out_size), high), frac)
  return matrix


def check_resize(name: str) -> None:
  if name not in RESIZES:
    raise errors.InvalidInputError(f"Unknown resize {name!r}; valid: {', '.join(RESIZES)}.")


@functools.lru_cache(maxsize=32)
def resize_matrix(name: str, in_size: int, out_size: int) -> np.ndarray:
  """float64 [out_size, in_size]: one axis of resize `name` (module docstring)."""
  check_resize(name)
  if in_size < 1 or out_size < 1:
    raise errors.InvalidInputError(f"Cannot resize {in_size} pixels to {out_size}.")
  if name == "clean":
    return _pil_bicubic_matrix(in_size, out_size)
  return _bilinear_matrix(in_size, out_size, half_pixel=name == "legacy_pytorch")


def resize(images: jax.Array, size: tuple[int, int], name: str) -> jax.Array:
  """Pixel values [n, h, w, c] in [0, 255] -> float32 [n, size[0], size[1], c].

  The width pass first, then the height pass (PIL's order; the bilinear ones do not care), in
  float32 at full precision. `clean` clips to [0, 255] as clean-fid does (a cubic overshoots);
  bilinear cannot leave the range. Sizes already equal are passed through unchanged.
  """
  x = jnp.asarray(images, jnp.float32)
  n, h, w, c = x.shape
  if (h, w) == tuple(size):
    return x
  highest = jax.lax.Precision.HIGHEST
  if w != size[1]:
    across = jnp.asarray(resize_matrix(name, w, size[1]), jnp.float32)
    x = jnp.einsum("nhwc,ow->nhoc", x, across, precision=highest)
  if h != size[0]:
    down = jnp.asarray(resize_matrix(name, h, size[0]), jnp.float32)
    x = jnp.einsum("nhwc,oh->nowc", x, down, precision=highest)
  return jnp.clip(x, 0.0, 255.0) if name == "clean" else x


def to_network_range(pixels: jax.Array, name: str) -> jax.Array:
  """[0, 255] -> the extractor's input range for resize `name`'s reference (module
  docstring): (x - 128) / 128 (NVIDIA's Inception) or x / 127.5 - 1 (pytorch-fid)."""
  check_resize(name)
  if name == "legacy_pytorch":
    return pixels * jnp.float32(2.0 / 255.0) - 1.0
  return (pixels - 128.0) * jnp.float32(1.0 / 128.0)


def quantize(images: jax.Array) -> jax.Array:
  """Generated images in [-1, 1] -> float pixel values, rounded to integers in [0, 255], as
  saving them to PNG would (StyleGAN2-ADA's metrics: (x * 127.5 + 128) clamped and truncated
  to uint8, the same rounding). Real images are already integers."""
  return jnp.clip(jnp.round((jnp.asarray(images, jnp.float32) + 1.0) * 127.5), 0.0, 255.0)

