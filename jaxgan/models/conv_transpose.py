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
the sub-kernel ``j -> K[s*j - r + pad_lo]``, over the contiguous offsets ``j`` whose tap lies in
``[0, k)`` (``ceil(k/s)`` or ``floor(k/s)`` of them). We run one stride-1 convolution per phase
pair ``(r_h, r_w)`` with exactly its own taps, then interleave the phases ("depth to space")::

    x        [N, H, W, Cin]
    kernel   [kh, kw, Cin, Cout]               (the flax parameter, unchanged)
    W_r      [A_r, B_r, Cin, Cout]             (the taps of phase r, gathered from kernel)
    z_r      [N, ceil(out_h/sh), ceil(out_w/sw), Cout] = conv_stride1(pad(x), W_r)
    y        [N, out_h, out_w, Cout]           = stack z_r as [N, Q, sh, P, sw, C] -> reshape

Every term of the original sum appears exactly once, so the result is the same function up to
float summation order (~1e-6 relative), with no multiplications by inserted zeros: a 5x5 kernel
at stride 2 costs 25 taps per input pixel (9 + 6 + 6 + 4), where stacking all phases in one
convolution over a shared 3x3 window cost 36 (that form measured 123 ms for forward plus both
gradients of the DCGAN layer [256, 7, 7, 128] -> 64 channels, this one 96 ms). The forward
pass and its autodiff gradients are plain stride-1 convolutions plus static kernel gathers and
a stack, which XLA:CPU handles well: ~10x faster forward+backward than ``lax.conv_transpose``
(see ``tests/test_conv_transpose.py`` for the equality proof). For ``s = 1`` there is one phase
and the construction is the plain convolution ``lax.conv_transpose`` itself performs.

The input gradient of a strided convolution is the same kind of input-dilated convolution;
``strided_conv.py`` computes it with ``phase_conv`` below.
"""
from __future__ import annotations

import functools
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
# The phase decomposition, shared with strided_conv.py.
# ----------------------------------------------------------------------------------------------

def _same_pads_transpose(k: int, s: int) -> Tuple[int, int]:
  """(lo, hi) padding lax.conv_transpose uses for padding='SAME' (lax._conv_transpose_padding)."""
  pad_len = k + s - 2
  lo = k - 1 if s > k - 1 else -(-pad_len // 2)
  return lo, pad_len - lo


def _phase_taps(k: int, s: int, r: int, tap: Callable[[int, int], int]
                ) -> Tuple[int, np.ndarray]:
  """(j_lo, taps): the offsets j_lo, j_lo + 1, ... whose tap(j, r) lies in [0, k), and those
  taps. `tap` is linear in j with slope +-s, so the valid offsets are contiguous."""
  js = [j for j in range(-k - s, k + s + 1) if 0 <= tap(j, r) < k]
  if not js:
    return 0, np.zeros((0,), np.int32)
  return js[0], np.array([tap(j, r) for j in range(js[0], js[-1] + 1)], np.int32)


def _phase_output(x: Array, kernel: Array, q_hw: Tuple[int, int], rows: Tuple[int, np.ndarray],
                  cols: Tuple[int, np.ndarray], precision: Any,
                  preferred_element_type: Any) -> Array:
  """z[n, q, p] = sum_{a, b} x[n, q + jh + a, p + jw + b] . kernel[taps_h[a], taps_w[b]] for
  q < q_hw[0], p < q_hw[1] (x zero outside its extent): [N, Q, P, O]."""
  (jh, taps_h), (jw, taps_w) = rows, cols
  n, h, w = x.shape[:3]
  out_dtype = preferred_element_type or jnp.result_type(x, kernel)
  if not len(taps_h) or not len(taps_w):  # A phase no tap reaches: exact zeros.
    return jnp.zeros((n, *q_hw, kernel.shape[3]), out_dtype)
  sub_kernel = kernel[taps_h][:, taps_w]  # [A, B, I, O]
  # Output row q reads input rows q + jh ... q + jh + A - 1: pad (or crop) x to that range.
  pads = [(-jh, q_hw[0] - 1 + jh + len(taps_h) - 1 - (h - 1)),
          (-jw, q_hw[1] - 1 + jw + len(taps_w) - 1 - (w - 1))]
  # Negative amounts mean the window never reaches that border: crop. Positive amounts go to
  # the convolution's own padding (a separate jnp.pad measured ~2x slower fwd+bwd on XLA:CPU).
  if any(p < 0 for pair in pads for p in pair):
    x = lax.pad(x, jnp.zeros((), x.dtype),
                [(0, 0, 0)] + [(min(lo, 0), min(hi, 0), 0) for lo, hi in pads] + [(0, 0, 0)])
  return lax.conv_general_dilated(x, sub_kernel, (1, 1),
                                  [(max(lo, 0), max(hi, 0)) for lo, hi in pads],
                                  dimension_numbers=_DIMS, precision=precision,
                                  preferred_element_type=preferred_element_type)


def phase_conv(x: Array, kernel: Array, strides: Tuple[int, int], out_hw: Tuple[int, int],
               tap_h: Callable[[int, int], int], tap_w: Callable[[int, int], int],
               precision: Any = None, preferred_element_type: Any = None) -> Array:
  """out[n, s*q + r, ...] = sum_{j, ci} x[n, q + j, ..., ci] * kernel[tap(j, r), ..., ci, co].

  x: [N, H, W, I]; kernel: [kh, kw, I, O]; returns [N, out_h, out_w, O] from one stride-1
  convolution per output phase (only that phase's taps), interleaved.
  """
  (sh, sw), (kh, kw) = strides, kernel.shape[:2]
  q_hw = (-(-out_hw[0] // sh), -(-out_hw[1] // sw))
  phases = [[_phase_output(x, kernel, q_hw, _phase_taps(kh, sh, rh, tap_h),
                           _phase_taps(kw, sw, rw, tap_w), precision, preferred_element_type)
             for rw in range(sw)] for rh in range(sh)]
  # [N, Q, P, O] per (rh, rw) -> [N, Q, sh, P, sw, O] -> [N, Q*sh, P*sw, O].
  z = jnp.stack([jnp.stack(row, axis=3) for row in phases], axis=2)
  n, q, _, p, _, o = z.shape
  y = z.reshape(n, q * sh, p * sw, o)
  if y.shape[1:3] != tuple(out_hw):
    y = y[:, :out_hw[0], :out_hw[1], :]
  return y


# ----------------------------------------------------------------------------------------------
# Functional forms.
# ----------------------------------------------------------------------------------------------

def _phase_conv_transpose(x: Array, kernel: Array, strides: Tuple[int, int], precision: Any,
                          preferred_element_type: Any) -> Array:
  (sh, sw), (kh, kw) = strides, kernel.shape[:2]
  lo_h, _ = _same_pads_transpose(kh, sh)
  lo_w, _ = _same_pads_transpose(kw, sw)
  # y[s*q + r] = sum_j x[q + j] * K[s*j - r + pad_lo]   (derivation in the module docstring)
  return phase_conv(x, kernel, (sh, sw), (x.shape[1] * sh, x.shape[2] * sw),
                    lambda j, r: sh * j - r + lo_h, lambda j, r: sw * j - r + lo_w,
                    precision, preferred_element_type)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def _strided_conv_transpose(x: Array, kernel: Array, strides: Tuple[int, int], precision: Any,
                            preferred_element_type: Any) -> Array:
  return _phase_conv_transpose(x, kernel, strides, precision, preferred_element_type)


def _strided_fwd(x, kernel, strides, precision, preferred_element_type):
  y = _phase_conv_transpose(x, kernel, strides, precision, preferred_element_type)
  return y, (x, kernel)


def _strided_bwd(strides, precision, preferred_element_type, residuals, dy):
  x, kernel = residuals
  # The input gradient of lax.conv_transpose is a plain strided convolution: XLA:CPU's fast
  # path (28 ms for the DCGAN layer above, where the phase form's own gradient took 51 ms).
  # Its unused forward pass (input-dilated, slow) is removed by XLA.
  _, x_pullback = jax.vjp(
      lambda x: lax.conv_transpose(x, kernel, strides, "SAME", dimension_numbers=_DIMS,
                                   precision=precision,
                                   preferred_element_type=preferred_element_type), x)
  # Its kernel gradient is a convolution with a dilated window, slow on XLA:CPU: the phase
  # form's is not.
  _, kernel_pullback = jax.vjp(
      lambda k: _phase_conv_transpose(x, k, strides, precision, preferred_element_type),
      kernel)
  return x_pullback(dy)[0], kernel_pullback(dy)[0]


_strided_conv_transpose.defvjp(_strided_fwd, _strided_bwd)


def conv_transpose_same(x: Array, kernel: Array, strides: Sequence[int], precision: Any = None,
                        preferred_element_type: Any = None) -> Array:
  """== lax.conv_transpose(x, kernel, strides, 'SAME') (NHWC, HWIO, no kernel transpose).

  Forward pass and kernel gradient by phase decomposition; the input gradient (stride > 1)
  is lax.conv_transpose's own, a strided convolution.
  """
  strides = tuple(strides)
  if strides == (1, 1):
    return _phase_conv_transpose(x, kernel, strides, precision, preferred_element_type)
  return _strided_conv_transpose(x, kernel, strides, precision, preferred_element_type)


# ----------------------------------------------------------------------------------------------
# Flax modules.
# ----------------------------------------------------------------------------------------------

def pair(v: Union[int, Sequence[int], None], name: str) -> Tuple[int, int]:
  if v is None:
    v = 1
  if isinstance(v, int):
    return (v, v)
  v = tuple(v)
  if len(v) != 2 or not all(isinstance(e, (int, np.integer)) and e >= 1 for e in v):
    raise ValueError(f"{name} must be a positive int or a pair of positive ints (2-D only), "
                     f"got {v!r}")
  return (int(v[0]), int(v[1]))


def check_same_padding(padding: Any, cls: str) -> None:
  if not (isinstance(padding, str) and padding.upper() == "SAME"):
    raise ValueError(f"{cls} only supports padding='SAME', got {padding!r}; "
                     "use the flax.linen module for other paddings.")


def flatten_batch(inputs: Array, cls: str) -> Tuple[Array, Tuple[int, ...]]:
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
    kernel_size = pair(self.kernel_size, "kernel_size")
    strides = pair(self.strides, "strides")
    check_same_padding(self.padding, name)
    if pair(self.kernel_dilation, "kernel_dilation") != (1, 1):
      raise ValueError(f"{name} does not support kernel_dilation != 1")
    if self.transpose_kernel:
      raise ValueError(f"{name} does not support transpose_kernel=True")
    if self.mask is not None:
      raise ValueError(f"{name} does not support mask")
    x, batch_shape = flatten_batch(inputs, name)

    kernel = self.param("kernel", self.kernel_init,
                        kernel_size + (x.shape[-1], self.features), self.param_dtype)
    bias = (self.param("bias", self.bias_init, (self.features,), self.param_dtype)
            if self.use_bias else None)
    x, kernel, bias = promote_dtype(x, kernel, bias, dtype=self.dtype)

    y = conv_transpose_same(x, kernel, strides, self.precision, self.preferred_element_type)
    if bias is not None:
      y = y + bias.reshape((1, 1, 1, -1))
    return y.reshape(batch_shape + y.shape[1:])
