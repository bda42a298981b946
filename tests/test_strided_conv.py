"""jaxgan.models.strided_conv computes exactly flax.linen's Conv (padding 'SAME'), and its
phase-decomposed input gradient equals autodiff's, over strides, kernel sizes, odd and even
input sizes (including inputs smaller than the kernel) and channel counts."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.models import strided_conv

TOL = dict(rtol=1e-5, atol=1e-5)

# (kernel, stride, (h, w), in_ch, out_ch)
CASES = [
    (5, 2, (28, 28), 1, 4),   # DCGAN discriminator layer 1 (scaled down)
    (5, 2, (14, 14), 6, 8),   # DCGAN discriminator layer 2
    (4, 2, (9, 8), 3, 5),     # even kernel, odd and even sizes (asymmetric 'SAME' padding)
    (3, 2, (7, 6), 2, 3),
    (5, 3, (10, 11), 3, 2),   # stride 3, sizes not multiples of it
    (1, 2, (5, 4), 2, 3),     # kernel smaller than the stride: some input phases get nothing
    (5, 2, (3, 2), 2, 2),     # input smaller than the kernel
    (3, 1, (5, 5), 2, 3),     # stride 1: XLA's own convolution
]


@pytest.mark.parametrize("k, s, hw, ci, co", CASES,
                         ids=[f"k{k}s{s}_{h}x{w}_{ci}to{co}" for k, s, (h, w), ci, co in CASES])
def test_function_and_both_gradients_equal_flax_conv(k, s, hw, ci, co):
  ours = strided_conv.Conv(co, (k, k), strides=(s, s), padding="SAME")
  reference = nn.Conv(co, (k, k), strides=(s, s), padding="SAME")
  rng = np.random.default_rng(3)
  x = jnp.asarray(rng.standard_normal((2, *hw, ci)), jnp.float32)
  params = reference.init(jax.random.key(0), x)
  ours_params = ours.init(jax.random.key(0), x)
  # Same parameter tree and initial values: checkpoints are interchangeable.
  jax.tree.map(np.testing.assert_array_equal, params, ours_params)
  params = jax.tree.map(lambda p: p + 0.1 * rng.standard_normal(p.shape).astype(np.float32),
                        params)  # A non-zero bias too.
  y_ref = reference.apply(params, x)
  np.testing.assert_allclose(ours.apply(params, x), y_ref, **TOL)
  # A random cotangent through the layer, so every output position and channel counts.
  cotangent = jnp.asarray(rng.standard_normal(y_ref.shape), jnp.float32)
  loss = lambda module: lambda p, x: jnp.sum(module.apply(p, x) * cotangent)
  grads_ref = jax.grad(loss(reference), argnums=(0, 1))(params, x)
  grads = jax.grad(loss(ours), argnums=(0, 1))(params, x)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, **TOL), grads, grads_ref)


def test_input_gradient_against_numpy():
  """An independent check of the backward formula: dx from a NumPy loop over the forward
  definition y[o] = sum_t x[s*o + t - lo] * K[t] (one axis of 1-D images)."""
  rng = np.random.default_rng(4)
  n, k, s, ci, co = 9, 4, 2, 2, 3
  x = rng.standard_normal((1, n, 1, ci)).astype(np.float32)
  kernel = rng.standard_normal((k, 1, ci, co)).astype(np.float32)
  out = -(-n // s)
  lo = max((out - 1) * s + k - n, 0) // 2
  dy = rng.standard_normal((1, out, 1, co)).astype(np.float32)
  expected = np.zeros_like(x)
  for o in range(out):
    for t in range(k):
      i = s * o + t - lo
      if 0 <= i < n:
        expected[0, i, 0] += kernel[t, 0] @ dy[0, o, 0]
  module = strided_conv.Conv(co, (k, 1), strides=(s, 1), use_bias=False)
  params = {"params": {"kernel": jnp.asarray(kernel)}}
  dx = jax.grad(lambda x: jnp.sum(module.apply(params, x) * dy))(jnp.asarray(x))
  np.testing.assert_allclose(dx, expected, rtol=1e-5, atol=1e-5)


def test_unsupported_options_fail_clearly():
  x = jnp.zeros((1, 8, 8, 1))
  with pytest.raises(ValueError, match="padding='SAME'"):
    strided_conv.Conv(2, (3, 3), strides=2, padding="VALID").init(jax.random.key(0), x)
