"""FIR resampling in plain XLA, with the semantics of StyleGAN2's `upfirdn2d` (NVlabs
stylegan2-ada-pytorch, torch_utils/ops/upfirdn2d.py `_upfirdn2d_ref`, and
torch_utils/ops/conv2d_resample.py `conv2d_resample`), on NHWC arrays, without custom ops,
so it runs on CPU, GPU and TPU alike.

upfirdn2d(x, f, up, down, padding, gain), x [n, H, W, C]:
  1. upsample by inserting up - 1 zeros after every pixel:      [n, H*up, W*up, C]
  2. pad (or crop, where negative) by padding = (x0, x1, y0, y1)
  3. convolve every channel with the 2-D filter f * gain (a true convolution: f flipped)
  4. keep every down-th pixel.
  Output side: (H * up + y0 + y1 - fh) // down + 1 (and likewise for W).

StyleGAN2 resamples with f = outer([1, 3, 3, 1]) / 64 (`setup_filter`): upsampling uses gain
up^2 = 4, so the mean of a constant image is kept. `conv_up` / `conv_down` are the two cases
of `conv2d_resample` StyleGAN2's layers use: a k x k convolution at twice the resolution of
its input (the FIR filter applied to the zero-inserted input first) and a k x k convolution
at half of it (filtered first, then a stride-2 convolution). Padding is applied once, at the
start, as `conv2d_resample` does, so border pixels equal the official op's.

Convolutions here are correlations (as `torch.nn.functional.conv2d` with flip_weight=True);
the official code uses true convolution for its upsampling layers (flip_weight=False, "slightly
faster"). Trained from scratch the two are the same family (N(0, 1) initial weights are
flip-invariant); only a port of official weights would need the kernels flipped.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

STYLEGAN2_TAPS = (1, 3, 3, 1)
_DIMS = ("NHWC", "HWIO", "NHWC")


def setup_filter(taps: Sequence[float] = STYLEGAN2_TAPS) -> np.ndarray:
  """The separable 2-D filter outer(taps, taps), normalised to sum 1: float32 [k, k]."""
  f = np.asarray(taps, np.float64)
  if f.ndim != 1 or f.size < 1 or f.sum() == 0:
    raise ValueError(f"FIR taps must be a non-empty 1-D list with a non-zero sum; got {taps}.")
  f2 = np.outer(f, f)
  return (f2 / f2.sum()).astype(np.float32)


def upfirdn2d(x: jax.Array, f: np.ndarray, up: int = 1, down: int = 1,
              padding: Tuple[int, int, int, int] = (0, 0, 0, 0), gain: float = 1.0
              ) -> jax.Array:
  """Upsample, pad, FIR-filter, downsample (module docstring). x [n, H, W, C]."""
  n, h, w, c = x.shape
  if up > 1:  # Zeros *after* each pixel: [a, 0, b, 0], as the reference (not lhs_dilation).
    x = jnp.pad(x.reshape(n, h, 1, w, 1, c),
                ((0, 0), (0, 0), (0, up - 1), (0, 0), (0, up - 1), (0, 0)))
    x = x.reshape(n, h * up, w * up, c)
  x0, x1, y0, y1 = padding
  x = lax.pad(x, jnp.zeros((), x.dtype), ((0, 0, 0), (y0, y1, 0), (x0, x1, 0), (0, 0, 0)))
  kernel = np.asarray(f, np.float64)[::-1, ::-1] * gain  # Flipped: a true convolution.
  factors = _separate(kernel)
  if factors is not None:
    for axis, taps in zip((1, 2), factors):
      x = _correlate_1d(x, taps, axis, down)
    return x
  kernel = jnp.asarray(np.broadcast_to(kernel[:, :, None, None], (*kernel.shape, 1, c)),
                       x.dtype)
  return lax.conv_general_dilated(x, kernel, (down, down), "VALID", dimension_numbers=_DIMS,
                                  feature_group_count=c)


def _separate(kernel: np.ndarray):
  """(column taps, row taps) with outer(column, row) == kernel, or None where the kernel is
  not separable. StyleGAN2's filters are outer products (`setup_filter`)."""
  i, j = np.unravel_index(np.argmax(np.abs(kernel)), kernel.shape)
  if kernel[i, j] == 0:
    return None
  column, row = kernel[:, j] / kernel[i, j], kernel[i, :]
  if not np.allclose(np.outer(column, row), kernel, rtol=1e-6, atol=1e-9):
    return None
  return column, row


def _correlate_1d(x: jax.Array, taps: np.ndarray, axis: int, down: int) -> jax.Array:
  """Valid 1-D correlation of x with taps along axis, keeping every down-th output, as a sum
  of strided slices: XLA fuses it into one pass, where a depthwise convolution (one channel
  per group) runs several times slower on the CPU."""
  k, length = taps.shape[0], x.shape[axis]
  out = (length - k) // down + 1
  if out < 1:
    raise ValueError(f"upfirdn2d: {length} pixels after padding are fewer than the {k} taps.")
  total = None
  for t, tap in enumerate(taps):
    if tap == 0:
      continue
    piece = lax.slice_in_dim(x, t, t + (out - 1) * down + 1, stride=down, axis=axis)
    piece = piece * jnp.asarray(tap, x.dtype)
    total = piece if total is None else total + piece
  if total is None:
    shape = list(x.shape)
    shape[axis] = out
    return jnp.zeros(shape, x.dtype)
  return total


def upsample2d(x: jax.Array, f: np.ndarray) -> jax.Array:
  """2x FIR upsampling [n, H, W, C] -> [n, 2H, 2W, C] (upfirdn2d.upsample2d, gain 4)."""
  fh = f.shape[0]
  p0, p1 = (fh + 1) // 2, (fh - 2) // 2
  return upfirdn2d(x, f, up=2, padding=(p0, p1, p0, p1), gain=4.0)


def downsample2d(x: jax.Array, f: np.ndarray) -> jax.Array:
  """2x FIR downsampling [n, H, W, C] -> [n, H/2, W/2, C] (upfirdn2d.downsample2d)."""
  fh = f.shape[0]
  p0, p1 = (fh - 1) // 2, (fh - 2) // 2
  return upfirdn2d(x, f, down=2, padding=(p0, p1, p0, p1))


def conv(x: jax.Array, kernel: jax.Array, groups: int = 1) -> jax.Array:
  """k x k correlation, 'SAME' for odd k, stride 1. kernel [k, k, C_in / groups, C_out]."""
  p = kernel.shape[0] // 2
  return lax.conv_general_dilated(x, kernel, (1, 1), ((p, p), (p, p)), dimension_numbers=_DIMS,
                                  feature_group_count=groups)


def conv_up(x: jax.Array, kernel: jax.Array, f: np.ndarray, groups: int = 1) -> jax.Array:
  """conv2d_resample(up=2, padding=k // 2): [n, H, W, C_in] -> [n, 2H, 2W, C_out]."""
  p, fh = kernel.shape[0] // 2, f.shape[0]
  lo, hi = p + (fh + 1) // 2, p + (fh - 2) // 2
  x = upfirdn2d(x, f, up=2, padding=(lo, hi, lo, hi), gain=4.0)
  return lax.conv_general_dilated(x, kernel, (1, 1), "VALID", dimension_numbers=_DIMS,
                                  feature_group_count=groups)


def conv_down(x: jax.Array, kernel: jax.Array, f: np.ndarray) -> jax.Array:
  """conv2d_resample(down=2, padding=k // 2): [n, H, W, C_in] -> [n, H/2, W/2, C_out] (a 1x1
  kernel: the skip of D's residual blocks)."""
  p, fh = kernel.shape[0] // 2, f.shape[0]
  lo, hi = p + (fh - 1) // 2, p + (fh - 2) // 2
  x = upfirdn2d(x, f, padding=(lo, hi, lo, hi))
  return lax.conv_general_dilated(x, kernel, (2, 2), "VALID", dimension_numbers=_DIMS)
