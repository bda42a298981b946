"""An XLA:CPU-friendly 2-D transposed convolution, as a Flax Linen module.

Why this file exists
--------------------
``flax.linen.ConvTranspose`` lowers to ``lax.conv_transpose``, i.e. a convolution whose *input*
is dilated (``lhs_dilation = strides``: ``s - 1`` zeros inserted between input pixels). On
XLA:CPU such convolutions miss the fast (Eigen) convolution path, and their gradients are worse
still: the kernel gradient of an input-dilated convolution is a convolution with a dilated
window. Measured on a 2-core CPU, the DCGAN layer ``[256,7,7,128] -> 64 ch, 5x5, stride 2``
takes ~60 ms forward but ~1 s forward+backward. The input gradient of a *strided* ``nn.Conv``
is the same kind of input-dilated convolution, so a discriminator's input gradient (needed to
train G through D) is slow for the same reason.

The fix: phase ("sub-pixel") decomposition
------------------------------------------
Look at one spatial axis. ``flax.linen.ConvTranspose`` with stride ``s``, kernel size ``k``,
``padding='SAME'`` and (flax default) ``transpose_kernel=False`` computes, for an input ``x`` of
length ``n``, an output of length ``s*n``::

    y[o] = sum_{m, t : s*m = o + t - pad_lo} x[m] * K[t],  t in [0, k), m in [0, n)

with ``pad_lo`` from ``lax._conv_transpose_padding`` (``k - 1`` if ``s > k - 1`` else
``ceil((k + s - 2) / 2)``). Split the output positions by their phase ``r = o mod s``:
``o = s*q + r``. Then ``t = s*(m - q) - r + pad_lo``; writing ``m = q + j``::

    y[s*q + r] = sum_j x[q + j] * K[s*j - r + pad_lo]        (terms with the tap outside [0,k) vanish)

For every phase ``r`` this is an ordinary stride-1 correlation of ``x`` (no inserted zeros) with
the sub-kernel ``j -> K[s*j - r + pad_lo]``. All phases share one window ``j in [j_lo, j_hi]``
(``ceil(k/s)`` or ``ceil(k/s)+1`` taps), so we stack the ``s`` sub-kernels along the output
channel axis (missing taps are zeros) and run ONE stride-1 convolution, then interleave the
phases ("depth to space")::

    x        [N, H, W, Cin]
    kernel   [kh, kw, Cin, Cout]          (the flax parameter, unchanged)
    W_phase  [A, B, Cin, sh*sw*Cout]      (gathered from kernel; A = #row taps, B = #col taps)
    z        [N, H, W, sh*sw*Cout]        = conv_stride1(pad(x), W_phase)     ('VALID')
    y        [N, H*sh, W*sw, Cout]        = z -> [N,H,W,sh,sw,C] -> [N,H,sh,W,sw,C] -> reshape

Every term of the original sum appears exactly once (zero taps only add exact zeros), so the
result is the same function up to float summation order (~1e-6 relative). Both the forward pass
and its autodiff gradients are now plain stride-1 convolutions plus a cheap kernel gather
(its gradient is a tiny scatter-add into the kernel) and transposes, which XLA:CPU handles
well: ~10x faster forward+backward on the layer above (see ``tests/test_conv_transpose.py`` for
the equality proof). For ``s = 1`` the construction degenerates to the plain convolution
``lax.conv_transpose`` itself performs.

The input gradient of a strided ``nn.Conv`` is the same kind of input-dilated convolution; a
custom_vjp with this phase formulation was measured for the DCGAN discriminator and gained
nothing beyond noise (~100 ms -> ~85 ms per layer), so it is not provided.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Tuple, Union

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax.linen.dtypes import promote_dtype
from jax import lax

Array = jax.Array
_DIMS = ("NHWC", "HWIO", "NHWC")


# ----------------------------------------------------------------------------------------------
# Static (numpy) bookkeeping: which kernel tap feeds which (window offset, phase).
# ----------------------------------------------------------------------------------------------

def _same_pads_transpose(k: int, s: int) -> Tuple[int, int]:
  """(lo, hi) padding lax.conv_transpose uses for padding='SAME' (lax._conv_transpose_padding)."""
  pad_len = k + s - 2
  lo = k - 1 if s > k - 1 else -(-pad_len // 2)
  return lo, pad_len - lo


def _phase_taps(k: int, s: int, tap: Callable[[int, int], int]) -> Tuple[int, np.ndarray]:
  """Tap table of one axis for `out[s*q + r] = sum_j in[q + j] * K[tap(j, r)]`.

  Returns (j_lo, table) with table[a, r] = tap(j_lo + a, r) for the contiguous window of
  offsets j that feed at least one phase r; taps outside [0, k) are set to k, which indexes the
  zero row appended to the kernel in `_phase_kernel`.
  """
  js = [j for j in range(-k - s, k + s + 1) if any(0 <= tap(j, r) < k for r in range(s))]
  j_lo, j_hi = min(js), max(js)
  table = np.full((j_hi - j_lo + 1, s), k, dtype=np.int32)
  for a in range(j_hi - j_lo + 1):
    for r in range(s):
      t = tap(j_lo + a, r)
      if 0 <= t < k:
        table[a, r] = t
  return j_lo, table


def _phase_kernel(kernel: Array, table_h: np.ndarray, table_w: np.ndarray) -> Array:
  """Gathers kernel [kh, kw, I, O] into the stacked phase kernel [A, B, I, sh*sw*O].

  Output channel order is (phase_h, phase_w, O), matching `_depth_to_space`.
  """
  kh, kw, i, o = kernel.shape
  # One zero row/column at index kh / kw stands for "no tap": exact zeros, differentiable.
  padded = jnp.pad(kernel, ((0, 1), (0, 1), (0, 0), (0, 0)))
  w = padded[table_h[:, None, :, None], table_w[None, :, None, :]]  # [A, B, sh, sw, I, O]
  a, b, sh, sw = w.shape[:4]
  return w.transpose(0, 1, 4, 2, 3, 5).reshape(a, b, i, sh * sw * o)


def _depth_to_space(z: Array, sh: int, sw: int) -> Array:
  """[N, Q, P, sh*sw*C] (channels ordered (phase_h, phase_w, C)) -> [N, Q*sh, P*sw, C]."""
  n, q, p, c = z.shape
  c //= sh * sw
  z = z.reshape(n, q, p, sh, sw, c).transpose(0, 1, 3, 2, 4, 5)
  return z.reshape(n, q * sh, p * sw, c)


def _phase_conv(x: Array, kernel: Array, strides: Tuple[int, int], out_hw: Tuple[int, int],
                tap_h: Callable[[int, int], int], tap_w: Callable[[int, int], int],
                precision: Any = None, preferred_element_type: Any = None) -> Array:
  """out[n, s*q + r, ...] = sum_{j, ci} x[n, q + j, ..., ci] * kernel[tap(j, r), ..., ci, co].

  x: [N, H, W, I]; kernel: [kh, kw, I, O]; returns [N, out_h, out_w, O] using one stride-1
  'VALID' convolution over the (zero-padded) undilated input plus a depth-to-space.
  """
  (sh, sw), (kh, kw) = strides, kernel.shape[:2]
  jh, table_h = _phase_taps(kh, sh, tap_h)
  jw, table_w = _phase_taps(kw, sw, tap_w)
  w = _phase_kernel(kernel, table_h, table_w)
  # Phase-row q runs over [0, ceil(out_h / sh)); it reads input rows q + j_lo ... q + j_hi.
  qh, qw = -(-out_hw[0] // sh), -(-out_hw[1] // sw)
  h, wd = x.shape[1:3]
  pads = [(-jh, qh - 1 + jh + table_h.shape[0] - 1 - (h - 1)),
          (-jw, qw - 1 + jw + table_w.shape[0] - 1 - (wd - 1))]
  # Negative amounts mean the window never reaches that border: crop it. Positive amounts go to
  # the convolution's own padding: a separate jnp.pad measured ~2x slower fwd+bwd on XLA:CPU.
  if any(p < 0 for pair in pads for p in pair):
    x = lax.pad(x, jnp.zeros((), x.dtype),
                [(0, 0, 0)] + [(min(lo, 0), min(hi, 0), 0) for lo, hi in pads] + [(0, 0, 0)])
  z = lax.conv_general_dilated(x, w, (1, 1), [(max(lo, 0), max(hi, 0)) for lo, hi in pads],
                               dimension_numbers=_DIMS, precision=precision,
                               preferred_element_type=preferred_element_type)
  y = _depth_to_space(z, sh, sw)
  if y.shape[1:3] != tuple(out_hw):
    y = y[:, :out_hw[0], :out_hw[1], :]
  return y


# ----------------------------------------------------------------------------------------------
# Functional forms.
# ----------------------------------------------------------------------------------------------

def conv_transpose_same(x: Array, kernel: Array, strides: Sequence[int], precision: Any = None,
                        preferred_element_type: Any = None) -> Array:
  """== lax.conv_transpose(x, kernel, strides, 'SAME') (NHWC, HWIO, no kernel transpose)."""
  (sh, sw), (kh, kw) = tuple(strides), kernel.shape[:2]
  lo_h, _ = _same_pads_transpose(kh, sh)
  lo_w, _ = _same_pads_transpose(kw, sw)
  # y[s*q + r] = sum_j x[q + j] * K[s*j - r + pad_lo]   (derivation in the module docstring)
  return _phase_conv(x, kernel, (sh, sw), (x.shape[1] * sh, x.shape[2] * sw),
                     lambda j, r: sh * j - r + lo_h, lambda j, r: sw * j - r + lo_w,
                     precision, preferred_element_type)


# ----------------------------------------------------------------------------------------------
# Flax modules.
# ----------------------------------------------------------------------------------------------

def _pair(v: Union[int, Sequence[int], None], name: str) -> Tuple[int, int]:
  if v is None:
    v = 1
  if isinstance(v, int):
    return (v, v)
  v = tuple(v)
  if len(v) != 2 or not all(isinstance(e, (int, np.integer)) and e >= 1 for e in v):
    raise ValueError(f"{name} must be a positive int or a pair of positive ints (2-D only), "
                     f"got {v!r}")
  return (int(v[0]), int(v[1]))


def _check_padding(padding: Any, cls: str) -> None:
  if not (isinstance(padding, str) and padding.upper() == "SAME"):
    raise ValueError(f"{cls} only supports padding='SAME', got {padding!r}; "
                     "use the flax.linen module for other paddings.")


def _flatten_batch(inputs: Array, cls: str) -> Tuple[Array, Tuple[int, ...]]:
  """As flax: all leading dims are batch dims ([..., H, W, C]); none means unbatched."""
  if inputs.ndim < 3:
    raise ValueError(f"{cls} is 2-D: expected inputs [..., H, W, C], got shape {inputs.shape}")
  batch_shape = inputs.shape[:-3]
  return inputs.reshape((-1,) + inputs.shape[-3:]), batch_shape


class ConvTranspose(nn.Module):
  """Drop-in for ``flax.linen.ConvTranspose`` (2-D, padding='SAME'), fast on XLA:CPU.

  Same parameters ('kernel' [kh, kw, in, features], 'bias' [features]), same initializers and the
  same function (to float32 rounding) as ``nn.ConvTranspose(features, kernel_size, strides,
  padding='SAME', use_bias=...)``, so checkpoints are interchangeable. Computed by phase
  decomposition (see the module docstring). Unsupported options (other paddings, kernel
  dilation, transpose_kernel, mask, non-2-D kernels) raise ValueError.
  """
  features: int
  kernel_size: Union[int, Sequence[int]]
  strides: Optional[Union[int, Sequence[int]]] = None
  padding: Any = "SAME"
  kernel_dilation: Optional[Union[int, Sequence[int]]] = None
  use_bias: bool = True
  mask: Optional[Array] = None
  dtype: Optional[Any] = None
  param_dtype: Any = jnp.float32
  precision: Any = None
  kernel_init: Callable = nn.linear.default_kernel_init
  bias_init: Callable = nn.initializers.zeros_init()
  transpose_kernel: bool = False
  preferred_element_type: Optional[Any] = None

  @nn.compact
  def __call__(self, inputs: Array) -> Array:
    name = type(self).__name__
    kernel_size = _pair(self.kernel_size, "kernel_size")
    strides = _pair(self.strides, "strides")
    _check_padding(self.padding, name)
    if _pair(self.kernel_dilation, "kernel_dilation") != (1, 1):
      raise ValueError(f"{name} does not support kernel_dilation != 1")
    if self.transpose_kernel:
      raise ValueError(f"{name} does not support transpose_kernel=True")
    if self.mask is not None:
      raise ValueError(f"{name} does not support mask")
    x, batch_shape = _flatten_batch(inputs, name)

    kernel = self.param("kernel", self.kernel_init,
                        kernel_size + (x.shape[-1], self.features), self.param_dtype)
    bias = (self.param("bias", self.bias_init, (self.features,), self.param_dtype)
            if self.use_bias else None)
    x, kernel, bias = promote_dtype(x, kernel, bias, dtype=self.dtype)

    y = conv_transpose_same(x, kernel, strides, self.precision, self.preferred_element_type)
    if bias is not None:
      y = y + bias.reshape((1, 1, 1, -1))
    return y.reshape(batch_shape + y.shape[1:])
