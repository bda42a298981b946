"""SNGAN's ResNet pair and SAGAN's self-attention: a NumPy reference for attention, layer
formulas for the parameter counts, spectral norm on every D layer, errors, a 4-device step."""
import flax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import models
from jaxgan.core import state
from jaxgan.experiment import builders
from jaxgan.games import standard
from jaxgan.models.attention import SelfAttention
from tests import helpers


def _softmax(x, axis):
  e = np.exp(x - x.max(axis=axis, keepdims=True))
  return e / e.sum(axis=axis, keepdims=True)


def test_self_attention_matches_numpy_and_starts_as_identity():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(2, 4, 3, 16)).astype(np.float32)
  module = SelfAttention()
  params = module.init(jax.random.PRNGKey(0), x, train=False)["params"]
  np.testing.assert_array_equal(module.apply({"params": params}, x, train=False), x)
  params = flax.core.unfreeze(params)
  params["gamma"] = jnp.asarray(0.7)
  out = np.asarray(module.apply({"params": params}, x, train=False))
  flat = x.reshape(2, 12, 16).astype(np.float64)
  w = {name: np.asarray(params[name]["kernel"], np.float64)[0, 0] for name in "fgh"}
  f, g, h = flat @ w["f"], flat @ w["g"], flat @ w["h"]
  beta = _softmax(np.einsum("nic,njc->nij", f, g), axis=1)  # normalised over attended i
  o = np.einsum("nij,nic->njc", beta, h)
  np.testing.assert_allclose(out, (flat + 0.7 * o).reshape(x.shape), rtol=1e-4, atol=1e-5)


def _counts(name, image_shape, **kwargs):
  pair = models.MODELS.get(name)(image_shape=image_shape, latent_dim=100, axis_name=None,
                                 **kwargs)
  g_vars, d_vars = standard.init_variables(pair, jax.random.PRNGKey(0), 100, image_shape)
  images = pair.generator.apply(g_vars, jnp.ones((2, 100)), train=False)
  assert images.shape == (2, *image_shape)
  assert pair.discriminator.apply(d_vars, images, train=False).shape == (2,)
  return g_vars, d_vars


def test_sngan_cifar_shapes_and_parameter_counts():
  g_vars, d_vars = _counts("resnet", (32, 32, 3))
  conv = lambda k, i, o, bias=True: k * k * i * o + (o if bias else 0)
  up_block = (2 * 256 + conv(3, 256, 256, False) + 2 * 256 + conv(3, 256, 256, False)
              + conv(1, 256, 256, False))
  g_expected = 100 * 4096 + 3 * up_block + 2 * 256 + conv(3, 256, 3)
  d_expected = (conv(3, 3, 128) + conv(3, 128, 128) + conv(1, 3, 128)        # first block
                + 2 * conv(3, 128, 128) + conv(1, 128, 128)                     # down block
                + 2 * 2 * conv(3, 128, 128)                                     # two blocks
                + 128 + 1)                                                      # Dense 1
  assert state.count_params(g_vars["params"]) == g_expected
  assert state.count_params(d_vars["params"]) == d_expected
  # Spectral norm on every D layer: 10 convolutions and the Dense head, one u vector each.
  sn_layers = [path for path, _ in jax.tree_util.tree_flatten_with_path(d_vars["batch_stats"])[0]
               if path[-1].key.endswith("/u")]
  assert len(sn_layers) == 11


def test_attention_blocks_are_placed_at_the_resolution():
  g_vars, d_vars = _counts("resnet", (32, 32, 1), g_width=16, d_width=16,
                           attention_resolution=16)
  assert "SelfAttention_0" in g_vars["params"] and "SelfAttention_0" in d_vars["params"]
  # D's attention is spectrally normalised (its three 1x1 convolutions).
  assert "SelfAttention_0" in d_vars["batch_stats"]


@pytest.mark.parametrize("kwargs,shape,message", [
    ({"model.kwargs.attention_resolution": 32}, (32, 32, 3), "valid: 0 .none., 8, 16"),
    ({}, (28, 28, 1), r"resnet.*\(32, 32, 1\)"),
])
def test_resnet_config_errors(kwargs, shape, message):
  config = helpers.tiny_config(**{"model.name": "resnet", **kwargs})
  with pytest.raises(builders.ConfigError, match=message):
    builders.get_models(config, shape, axis_name=None)


def test_resnet_with_attention_trains_on_four_devices():
  """Two steps of the SAGAN-style pair (hinge loss). Cross-device equality of a BatchNorm
  generator's step is shown in test_dcgan_family.py; attention has no cross-device state."""
  overrides = {"model.name": "resnet", "model.kwargs.g_width": 16, "model.kwargs.d_width": 16,
               "model.kwargs.attention_resolution": 8, "loss.name": "hinge"}
  # Two steps: attention's f, g, h get gradients once gamma has left 0 (in the first step).
  (g, d), metrics, (g0, d0) = helpers.run_pmapped_steps(4, (16, 16, 1), num_steps=2,
                                                        **overrides)
  assert all(m["all_finite"] == 1.0 for m in metrics)
  assert float(g.params["SelfAttention_0"]["gamma"]) != 0.0
  assert float(d.params["SelfAttention_0"]["gamma"]) != 0.0
  moved = jax.tree.map(lambda a, b: not np.allclose(a, b), g0.params, g.params)
  assert all(jax.tree.leaves(moved))
