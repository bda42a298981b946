"""A strided 2-D convolution whose input gradient is fast on XLA:CPU, as a Flax Linen module.

Why this file exists
--------------------
The input gradient of a strided convolution (what trains G through D, and D's lower layers
through its upper ones) is, under autodiff, a convolution of the output cotangent with
``s - 1`` zeros inserted between its pixels (``lhs_dilation = strides``). XLA:CPU has no fast
path for input-dilated convolutions: measured on the 2-core development machine with jax
0.10.2, the input gradient of the DCGAN discriminator's ``[512, 14, 14, 64] -> 128 ch, 5x5,
stride 2`` layer takes ~160 ms, three times its forward pass (~53 ms).

The fix: the same phase decomposition as ``conv_transpose.py``
--------------------------------------------------------------
On one axis, ``y[o] = sum_t x[s*o + t - lo] * K[t]`` (``lo`` the 'SAME' padding before the
first pixel). Its input gradient, split by the phase ``r = i mod s`` of the input position
``i = s*q + r`` and writing the output position as ``o = q + j``, is::

    dx[s*q + r] = sum_j dy[q + j] * K[r + lo - s*j]

an ordinary stride-1 correlation of the undilated cotangent for every phase: exactly the form
``conv_transpose.phase_conv`` computes, with the kernel's channel axes swapped. So the
input gradient here is one stride-1 convolution per phase, interleaved; the forward pass and
the kernel gradient are XLA's own (both fast). The result equals autodiff's to float rounding
(``tests/test_strided_conv.py``).
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Optional, Sequence, Tuple, Union

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax.linen.dtypes import promote_dtype
from jax import lax

from jaxgan.models import conv_transpose

Array = jax.Array
_DIMS = ("NHWC", "HWIO", "NHWC")


def _forward(x: Array, kernel: Array, strides: Tuple[int, int]) -> Array:
  return lax.conv_general_dilated(x, kernel, strides, "SAME", dimension_numbers=_DIMS)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def strided_conv_same(x: Array, kernel: Array, strides: Tuple[int, int]) -> Array:
  """== lax.conv_general_dilated(x, kernel, strides, 'SAME') (NHWC, HWIO); fast input grad.

  x: [N, H, W, I]; kernel: [kh, kw, I, O]; returns [N, ceil(H/sh), ceil(W/sw), O].
  """
  return _forward(x, kernel, strides)


def _fwd(x, kernel, strides):
  return _forward(x, kernel, strides), (x, kernel)


def _bwd(strides, residuals, dy):
  x, kernel = residuals
  (sh, sw), (kh, kw) = strides, kernel.shape[:2]
  # 'SAME' padding before the first pixel, as the forward convolution pads.
  (lo_h, _), (lo_w, _) = lax.padtype_to_pads(x.shape[1:3], (kh, kw), (sh, sw), "SAME")
  # dx[s*q + r] = sum_j dy[q + j] * K[r + lo - s*j]   (derivation in the module docstring)
  dx = conv_transpose.phase_conv(
      dy, jnp.swapaxes(kernel, 2, 3), (sh, sw), x.shape[1:3],
      lambda j, r: r + lo_h - sh * j, lambda j, r: r + lo_w - sw * j)
  _, kernel_pullback = jax.vjp(lambda k: _forward(x, k, strides), kernel)
  return dx.astype(x.dtype), kernel_pullback(dy)[0]


strided_conv_same.defvjp(_fwd, _bwd)


class Conv(nn.Module):
  """Drop-in for ``flax.linen.Conv`` (2-D, padding='SAME'), with a fast input gradient.

  Same parameters ('kernel' [kh, kw, in, features], 'bias' [features]), initialisers and
  function as ``nn.Conv(features, kernel_size, strides, padding='SAME')``, and the same class
  name, so Flax names it Conv_0, Conv_1, ... as before: checkpoints are interchangeable.
  Strides of 1 use XLA's convolution as it is (its gradient is already a plain convolution).
  Other options raise ValueError: use ``nn.Conv`` for them.
  """
  features: int
  kernel_size: Union[int, Sequence[int]]
  strides: Optional[Union[int, Sequence[int]]] = None
  padding: Any = "SAME"
  use_bias: bool = True
  dtype: Optional[Any] = None
  param_dtype: Any = jnp.float32
  kernel_init: Callable = nn.linear.default_kernel_init
  bias_init: Callable = nn.initializers.zeros_init()

  @nn.compact
  def __call__(self, inputs: Array) -> Array:
    name = type(self).__name__
    kernel_size = conv_transpose.pair(self.kernel_size, "kernel_size")
    strides = conv_transpose.pair(self.strides, "strides")
    conv_transpose.check_same_padding(self.padding, name)
    x, batch_shape = conv_transpose.flatten_batch(inputs, name)
    kernel = self.param("kernel", self.kernel_init,
                        kernel_size + (x.shape[-1], self.features), self.param_dtype)
    bias = (self.param("bias", self.bias_init, (self.features,), self.param_dtype)
            if self.use_bias else None)
    x, kernel, bias = promote_dtype(x, kernel, bias, dtype=self.dtype)
    y = (strided_conv_same(x, kernel, strides) if strides != (1, 1)
         else _forward(x, kernel, strides))
    if bias is not None:
      y = y + bias.reshape((1, 1, 1, -1))
    return y.reshape(batch_shape + y.shape[1:])
