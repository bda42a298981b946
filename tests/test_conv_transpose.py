"""jaxgan.models.conv_transpose computes exactly flax.linen's ConvTranspose function.

Same parameter trees (names, shapes, initial values), same outputs and same gradients w.r.t.
params and inputs, to float32 tolerance, over strides, kernel sizes, odd/even input sizes,
bias/no bias and channel counts. Small shapes: runs on CPU in a few seconds.
"""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.models.conv_transpose import ConvTranspose

TOL = dict(rtol=1e-5, atol=1e-5)

# (kernel, stride, (h, w), in_ch, out_ch, use_bias)
CASES = [
    (5, 1, (7, 7), 8, 4, False),    # DCGAN generator layer 1 (scaled down)
    (5, 2, (7, 7), 6, 3, False),    # DCGAN generator layer 2
    (5, 2, (8, 6), 4, 1, True),     # DCGAN generator layer 3 (1 output channel), even sizes
    (4, 2, (5, 6), 3, 5, True),     # even kernel, odd and even sizes
    (4, 1, (6, 5), 2, 3, False),
    (3, 2, (5, 4), 5, 2, True),
    (3, 1, (3, 3), 1, 1, False),
    (5, 3, (4, 5), 3, 2, True),     # stride 3
    (1, 2, (3, 4), 2, 3, True),     # kernel smaller than stride: some output phases are empty
]


def _ids(cases):
  return [f"k{k}s{s}_{h}x{w}_{ci}to{co}_{'bias' if b else 'nobias'}"
          for k, s, (h, w), ci, co, b in cases]


def _normal(shape):
  return np.random.default_rng(2).standard_normal(shape).astype(np.float32)


def _assert_close(actual, desired):
  # float32 tolerance, relative to the array's scale (sums of many products differ in order).
  scale = max(1.0, float(np.max(np.abs(desired))))
  np.testing.assert_allclose(actual, desired, rtol=TOL["rtol"], atol=TOL["atol"] * scale)


def _outputs_and_grads(module, params, x):
  """(y, (d loss/d params, d loss/d x)) for a non-linear loss, in one jit."""
  def loss(p, x):
    y = module.apply(p, x)
    weights = jnp.cos(jnp.arange(y.size, dtype=y.dtype)).reshape(y.shape)
    return jnp.sum(jnp.sin(y) * weights), y
  (_, y), g = jax.jit(jax.value_and_grad(loss, argnums=(0, 1), has_aux=True))(params, x)
  return y, g


def _check_equal(ref, mine, x, use_bias):
  # Same parameter tree, names and shapes (the values are checked in test_same_init).
  # (eval_shape / numpy keep the test fast: no eager op-by-op compilation.)
  ref_shapes = jax.eval_shape(ref.init, jax.random.key(0), x)
  mine_shapes = jax.eval_shape(mine.init, jax.random.key(0), x)
  assert jax.tree.structure(ref_shapes) == jax.tree.structure(mine_shapes)
  assert jax.tree.map(jnp.shape, ref_shapes) == jax.tree.map(jnp.shape, mine_shapes)
  assert sorted(ref_shapes["params"]) == (["bias", "kernel"] if use_bias else ["kernel"])

  # Random params (a non-zero bias too) so that every kernel tap matters.
  rng = np.random.default_rng(1)
  params = jax.tree.map(lambda l: rng.standard_normal(l.shape).astype(l.dtype), ref_shapes)

  y_ref, g_ref = _outputs_and_grads(ref, params, x)
  y_mine, g_mine = _outputs_and_grads(mine, params, x)
  assert y_ref.shape == y_mine.shape
  _assert_close(y_mine, y_ref)
  assert jax.tree.structure(g_ref) == jax.tree.structure(g_mine)
  jax.tree.map(lambda a, b: _assert_close(b, a), g_ref, g_mine)


@pytest.mark.parametrize("k, s, hw, cin, cout, use_bias", CASES, ids=_ids(CASES))
def test_conv_transpose_matches_flax(k, s, hw, cin, cout, use_bias):
  x = _normal((3,) + hw + (cin,))
  ref = nn.ConvTranspose(cout, (k, k), strides=(s, s), padding="SAME", use_bias=use_bias)
  mine = ConvTranspose(cout, (k, k), strides=(s, s), padding="SAME", use_bias=use_bias)
  _check_equal(ref, mine, x, use_bias)


def test_conv_transpose_rectangular_kernel_and_strides():
  x = _normal((2, 5, 4, 3))
  kw = dict(strides=(2, 1), padding="SAME", use_bias=True)
  _check_equal(nn.ConvTranspose(4, (5, 3), **kw), ConvTranspose(4, (5, 3), **kw), x, True)


@pytest.mark.parametrize("batch_shape", [(), (2, 3)])
def test_batch_dims_like_flax(batch_shape):
  x = _normal(batch_shape + (5, 5, 2))
  for ref, mine in ((nn.ConvTranspose(3, (4, 4), (2, 2)), ConvTranspose(3, (4, 4), (2, 2))),):
    params = jax.jit(ref.init)(jax.random.key(0), x)
    y_ref, y_mine = jax.jit(ref.apply)(params, x), jax.jit(mine.apply)(params, x)
    assert y_ref.shape == y_mine.shape == batch_shape + y_ref.shape[-3:]
    _assert_close(y_mine, y_ref)


@pytest.mark.parametrize("ref_cls, mine_cls", [(nn.ConvTranspose, ConvTranspose)])
def test_same_init(ref_cls, mine_cls):
  # Same initializers and rng use: identical initial params (checkpoints interchangeable).
  x = jnp.zeros((1, 6, 6, 3))
  ref_vars = ref_cls(4, (5, 5), strides=(2, 2), padding="SAME").init(jax.random.key(0), x)
  mine_vars = mine_cls(4, (5, 5), strides=(2, 2), padding="SAME").init(jax.random.key(0), x)
  assert jax.tree.structure(ref_vars) == jax.tree.structure(mine_vars)
  jax.tree.map(np.testing.assert_array_equal, ref_vars, mine_vars)


def test_dcgan_generator_layer_shapes():
  # The three generator layers of models/dcgan.py, at batch 2: output shapes and param shapes.
  for x_shape, feats, s, out_shape in (((2, 7, 7, 256), 128, 1, (2, 7, 7, 128)),
                                       ((2, 7, 7, 128), 64, 2, (2, 14, 14, 64)),
                                       ((2, 14, 14, 64), 1, 2, (2, 28, 28, 1))):
    x = jax.ShapeDtypeStruct(x_shape, jnp.float32)
    m = ConvTranspose(feats, (5, 5), strides=(s, s), padding="SAME", use_bias=False)
    y, v = jax.eval_shape(m.init_with_output, jax.random.key(0), x)
    assert y.shape == out_shape
    assert jax.tree.map(jnp.shape, v) == {"params": {"kernel": (5, 5, x_shape[-1], feats)}}


@pytest.mark.parametrize("module", [ConvTranspose])
@pytest.mark.parametrize("kwargs", [
    dict(padding="VALID"),
    dict(padding=((1, 1), (1, 1))),
    dict(padding="CIRCULAR"),
    dict(kernel_dilation=2),
    dict(kernel_size=(3,)),          # 1-D
    dict(kernel_size=(3, 3, 3)),     # 3-D
    dict(strides=(0, 1)),
])
def test_unsupported_configurations_raise(module, kwargs):
  kw = dict(features=2, kernel_size=(3, 3), strides=(2, 2), padding="SAME")
  kw.update(kwargs)
  with pytest.raises(ValueError):
    module(**kw).init(jax.random.key(0), jnp.zeros((1, 4, 4, 2)))


def test_unsupported_module_specific_options_raise():
  x = jnp.zeros((1, 4, 4, 2))
  with pytest.raises(ValueError, match="transpose_kernel"):
    ConvTranspose(2, (3, 3), transpose_kernel=True).init(jax.random.key(0), x)
  with pytest.raises(ValueError, match="2-D"):
    ConvTranspose(2, (3, 3)).init(jax.random.key(0), jnp.zeros((4, 2)))
