"""configs/dcgan.py's pair (jaxgan/models/dcgan_mnist.py): shapes, parameter counts from the
layer formulas and by hand, BatchNorm placement, the N(0, 0.02) initialisation, and equal
train steps on 1 and 4 devices (BatchNorm over the global batch)."""
import flax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import models
from jaxgan.core import state
from jaxgan.experiment import builders
from jaxgan.games import standard
from tests import helpers


def _pair_and_variables(image_shape, **kwargs):
  pair = models.MODELS.get("dcgan_mnist")(image_shape=image_shape, latent_dim=100,
                                          axis_name=None, **kwargs)
  g_vars, d_vars = standard.init_variables(pair, jax.random.PRNGKey(0), 100, image_shape)
  return pair, g_vars, d_vars


def _conv(k, n_in, n_out, bias):
  return k * k * n_in * n_out + (n_out if bias else 0)


@pytest.mark.parametrize("channels,g,d", [(1, 32, 32), (3, 8, 4)])
def test_shapes_parameter_counts_and_batch_norm_placement(channels, g, d):
  pair, g_vars, d_vars = _pair_and_variables((28, 28, channels), g_width=g, d_width=d)
  bn = lambda n: 2 * n  # scale and offset
  g_expected = (100 * 7 * 7 * 4 * g + bn(4 * g) + _conv(4, 4 * g, 2 * g, False) + bn(2 * g)
                + _conv(4, 2 * g, g, False) + bn(g) + _conv(3, g, channels, True))
  d_expected = (_conv(4, channels, d, True) + _conv(4, d, 2 * d, False) + bn(2 * d)
                + _conv(3, 2 * d, 4 * d, False) + bn(4 * d) + 4 * 4 * 4 * d + 1)
  assert state.count_params(g_vars["params"]) == g_expected
  assert state.count_params(d_vars["params"]) == d_expected
  if (channels, g, d) == (1, 32, 32):  # the recipe's pair, added up by hand
    assert (g_expected, d_expected) == (791_777, 109_473)
  # BatchNorm: after G's Dense and both transposed convolutions (not its output layer); in D
  # after the second and third convolutions (not its input layer).
  assert len(g_vars["batch_stats"]) == 3 and len(d_vars["batch_stats"]) == 2
  images = pair.generator.apply(g_vars, jnp.ones((3, 100)), train=False)
  assert images.shape == (3, 28, 28, channels)
  assert float(jnp.max(jnp.abs(images))) <= 1.0
  assert pair.discriminator.apply(d_vars, images, train=False).shape == (3,)


def test_weights_are_drawn_from_n_0_002():
  _, g_vars, d_vars = _pair_and_variables((28, 28, 1))
  for params in (g_vars["params"], d_vars["params"]):
    kernels = [np.asarray(v["kernel"]).ravel() for v in params.values() if "kernel" in v]
    std = np.std(np.concatenate(kernels))
    assert 0.019 < std < 0.021, std


@pytest.mark.parametrize("kwargs,match", [
    ({}, r"dcgan_mnist.*\(28, 28, 1\)"), ({"model.kwargs.g_width": 0}, "g_width=0")])
def test_bad_shapes_and_widths_are_config_errors(kwargs, match):
  config = helpers.tiny_config(**{"model.name": "dcgan_mnist", **kwargs})
  shape = (32, 32, 1) if not kwargs else (28, 28, 1)
  with pytest.raises(builders.ConfigError, match=match):
    builders.get_models(config, shape, axis_name=None)


def test_steps_are_the_same_on_1_and_4_devices():
  overrides = {"model.name": "dcgan_mnist", "model.kwargs.g_width": 4,
               "model.kwargs.d_width": 4}
  (g1, d1), m1, (g0, _) = helpers.run_pmapped_steps(1, (28, 28, 1), num_steps=2, **overrides)
  (g4, d4), m4, _ = helpers.run_pmapped_steps(4, (28, 28, 1), num_steps=2, **overrides)
  assert all(jax.tree.leaves(jax.tree.map(lambda a, b: not np.allclose(a, b), g0.params,
                                          g1.params)))
  assert all(m["all_finite"] == 1.0 for m in m1)
  for a, b in ((g1, g4), (d1, d4)):
    a, b = flax.serialization.to_state_dict(a), flax.serialization.to_state_dict(b)
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-4, atol=2e-5), a, b)
