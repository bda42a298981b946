"""The Keras-example DCGAN, Radford et al.'s DCGAN and configs/dcgan.py's 28x28 pair
(dcgan_mnist): shapes, parameter counts (from the layer formulas, the published totals and by
hand), BatchNorm placement, the N(0, 0.02) initialisation, resampling modes, errors, and the
same train steps on 1 and 4 devices."""
import flax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import models
from jaxgan.core import state
from jaxgan.experiment import builders
from jaxgan.games import standard
from jaxgan.models import resampling
from tests import helpers


def _pair_and_variables(name, image_shape, latent_dim=100, **kwargs):
  pair = models.MODELS.get(name)(image_shape=image_shape, latent_dim=latent_dim,
                                 axis_name=None, **kwargs)
  g_vars, d_vars = standard.init_variables(pair, jax.random.PRNGKey(0), latent_dim, image_shape)
  return pair, g_vars, d_vars


def _conv(k, n_in, n_out, bias=True):
  return k * k * n_in * n_out + (n_out if bias else 0)


def _up(k, n_in, n_out, mode, bias=True):
  """Parameters of a 2x upsampling layer: pixel shuffle convolves to 4x the channels."""
  return _conv(k, n_in, n_out * (4 if mode == "pixel_shuffle" else 1), bias)


def _check_images_and_logits(pair, g_vars, d_vars, latent_dim, image_shape):
  images = pair.generator.apply(g_vars, jnp.ones((3, latent_dim)), train=False)
  assert images.shape == (3, *image_shape)
  assert float(jnp.max(jnp.abs(images))) <= 1.0
  assert pair.discriminator.apply(d_vars, images, train=False).shape == (3,)


# Every mode once (all six pairs would only repeat the same layers).
@pytest.mark.parametrize("upsample,downsample", [("transposed", "strided"),
                                                 ("nearest", "avg_pool"),
                                                 ("pixel_shuffle", "strided")])
def test_dcgan_keras_shapes_and_parameter_counts(upsample, downsample):
  pair, g_vars, d_vars = _pair_and_variables("dcgan_keras", (28, 28, 1), upsample=upsample,
                                             downsample=downsample)
  g_expected = (100 * 7 * 7 * 128 + 7 * 7 * 128 + _conv(4, 128, 128)
                + _up(4, 128, 64, upsample) + _up(4, 64, 1, upsample))
  d_expected = _conv(4, 1, 64) + _conv(4, 64, 128) + 7 * 7 * 128 + 1
  assert state.count_params(g_vars["params"]) == g_expected
  assert state.count_params(d_vars["params"]) == d_expected
  if (upsample, downsample) == ("transposed", "strided"):  # added up by hand
    assert (g_expected, d_expected) == (1_027_905, 138_561)
  assert "batch_stats" not in g_vars and "batch_stats" not in d_vars
  _check_images_and_logits(pair, g_vars, d_vars, 100, (28, 28, 1))


def test_dcgan_radford_64x64_matches_the_published_model():
  pair, g_vars, d_vars = _pair_and_variables("dcgan_radford", (64, 64, 3))
  bn = lambda *widths: 2 * sum(widths)  # scale and bias per channel
  g_expected = (100 * 4 * 4 * 512 + _conv(4, 512, 256, False) + _conv(4, 256, 128, False)
                + _conv(4, 128, 64, False) + _conv(4, 64, 3, False) + bn(512, 256, 128, 64))
  d_expected = (_conv(4, 3, 64, False) + _conv(4, 64, 128, False) + _conv(4, 128, 256, False)
                + _conv(4, 256, 512, False) + bn(128, 256, 512) + 4 * 4 * 512 + 1)
  assert state.count_params(g_vars["params"]) == g_expected == 3_576_704
  assert state.count_params(d_vars["params"]) == d_expected == 2_765_568 + 1
  # BN after every G layer but the output; in D after every convolution but the first.
  assert sorted(g_vars["batch_stats"]) == [f"BatchNorm_{i}" for i in range(4)]
  assert [v["mean"].shape[0] for v in g_vars["batch_stats"].values()] == [512, 256, 128, 64]
  assert [v["mean"].shape[0] for v in d_vars["batch_stats"].values()] == [128, 256, 512]
  dense_kernel = np.asarray(g_vars["params"]["Dense_0"]["kernel"])
  assert abs(dense_kernel.std() - 0.02) < 0.001  # DCGAN's N(0, 0.02) initialisation
  _check_images_and_logits(pair, g_vars, d_vars, 100, (64, 64, 3))


@pytest.mark.parametrize("upsample", resampling.UPSAMPLE_MODES)
def test_dcgan_radford_other_sizes_and_modes(upsample):
  pair, g_vars, d_vars = _pair_and_variables("dcgan_radford", (32, 32, 1), latent_dim=16,
                                             base_features=8, upsample=upsample,
                                             downsample="avg_pool")
  # 32 = 4 * 2^3: the 4x4 layer has 8 * 2^2 = 32 channels; three BNs in D.
  assert g_vars["params"]["Dense_0"]["kernel"].shape == (16, 4 * 4 * 32)
  assert len(d_vars["batch_stats"]) == 2
  _check_images_and_logits(pair, g_vars, d_vars, 16, (32, 32, 1))


def test_dcgan_radford_spectral_norm_replaces_d_batch_norm():
  _, _, d_vars = _pair_and_variables("dcgan_radford", (16, 16, 1), base_features=4,
                                     spectral_norm=True)
  stats = str(jax.tree_util.tree_structure(d_vars["batch_stats"]))
  assert "BatchNorm" not in stats and "SpectralNorm" in stats
  biases = [leaf for path, leaf in jax.tree_util.tree_flatten_with_path(d_vars["params"])[0]
            if "bias" in jax.tree_util.keystr(path)]
  assert len(biases) == 3  # two convolutions and the head


@pytest.mark.parametrize("channels,g,d", [(1, 32, 32), (3, 8, 4)])
def test_dcgan_mnist_shapes_parameter_counts_and_batch_norm_placement(channels, g, d):
  pair, g_vars, d_vars = _pair_and_variables("dcgan_mnist", (28, 28, channels), g_width=g,
                                             d_width=d)
  bn = lambda n: 2 * n  # scale and offset
  g_expected = (100 * 7 * 7 * 4 * g + bn(4 * g) + _conv(4, 4 * g, 2 * g, False) + bn(2 * g)
                + _conv(4, 2 * g, g, False) + bn(g) + _conv(3, g, channels))
  d_expected = (_conv(4, channels, d) + _conv(4, d, 2 * d, False) + bn(2 * d)
                + _conv(3, 2 * d, 4 * d, False) + bn(4 * d) + 4 * 4 * 4 * d + 1)
  assert state.count_params(g_vars["params"]) == g_expected
  assert state.count_params(d_vars["params"]) == d_expected
  if (channels, g, d) == (1, 32, 32):  # the recipe's pair, added up by hand
    assert (g_expected, d_expected) == (791_777, 109_473)
  # BatchNorm: after G's Dense and both transposed convolutions (not its output layer); in D
  # after the second and third convolutions (not its input layer).
  assert len(g_vars["batch_stats"]) == 3 and len(d_vars["batch_stats"]) == 2
  _check_images_and_logits(pair, g_vars, d_vars, 100, (28, 28, channels))


def test_dcgan_mnist_weights_are_drawn_from_n_0_002():
  _, g_vars, d_vars = _pair_and_variables("dcgan_mnist", (28, 28, 1))
  for params in (g_vars["params"], d_vars["params"]):
    kernels = [np.asarray(v["kernel"]).ravel() for v in params.values() if "kernel" in v]
    std = np.std(np.concatenate(kernels))
    assert 0.019 < std < 0.021, std


def test_dcgan_mnist_width_below_1_is_a_config_error():
  config = helpers.tiny_config(**{"model.name": "dcgan_mnist", "model.kwargs.g_width": 0})
  with pytest.raises(builders.ConfigError, match="g_width=0"):
    builders.get_models(config, (28, 28, 1), axis_name=None)


@pytest.mark.parametrize("name,shape,valid", [
    ("dcgan_radford", (28, 28, 1), "(32, 32, 1)"),
    ("dcgan_radford", (64, 32, 3), "(64, 64, 3)"),
    ("dcgan_keras", (32, 32, 1), "(28, 28, 1)"),
    ("dcgan_mnist", (32, 32, 1), "(28, 28, 1)"),
])
def test_impossible_image_shapes_name_the_possible_ones(name, shape, valid):
  config = helpers.tiny_config(**{"model.name": name})
  with pytest.raises(builders.ConfigError, match=f"{name}.*{valid}".replace("(", r"\(")
                     .replace(")", r"\)")):
    builders.get_models(config, shape, axis_name=None)


@pytest.mark.parametrize("field,value,valid", [
    ("upsample", "bilinear", "transposed, nearest, pixel_shuffle"),
    ("downsample", "max_pool", "strided, avg_pool")])
def test_unknown_resampling_mode_is_a_config_error(field, value, valid):
  config = helpers.tiny_config(**{"model.name": "dcgan_radford", f"model.kwargs.{field}": value})
  with pytest.raises(builders.ConfigError, match=valid):
    builders.get_models(config, (16, 16, 1), axis_name=None)


def test_dcgan_keras_trains_on_four_devices():
  (g, _), metrics, (g0, _) = helpers.run_pmapped_steps(
      4, (28, 28, 1), num_steps=1, **{"model.name": "dcgan_keras",
                                      "model.kwargs.upsample": "pixel_shuffle"})
  assert metrics[0]["all_finite"] == 1.0
  assert all(jax.tree.leaves(jax.tree.map(lambda a, b: not np.allclose(a, b), g0.params,
                                          g.params)))


@pytest.mark.parametrize("image_shape,overrides", [
    ((16, 16, 1), {"model.name": "dcgan_radford", "model.kwargs.base_features": 4,
                   "model.kwargs.upsample": "nearest", "model.kwargs.downsample": "avg_pool"}),
    ((28, 28, 1), {"model.name": "dcgan_mnist", "model.kwargs.g_width": 4,
                   "model.kwargs.d_width": 4})])
def test_batch_norm_pairs_step_the_same_on_1_and_4_devices(image_shape, overrides):
  """BatchNorm in D and G: its statistics must be those of the global batch."""
  (g1, d1), m1, (g0, _) = helpers.run_pmapped_steps(1, image_shape, num_steps=2, **overrides)
  (g4, d4), m4, _ = helpers.run_pmapped_steps(4, image_shape, num_steps=2, **overrides)
  moved = jax.tree.map(lambda a, b: not np.allclose(a, b), g0.params, g1.params)
  assert all(jax.tree.leaves(moved))
  assert all(m["all_finite"] == 1.0 for m in m1)
  for a, b in ((g1, g4), (d1, d4)):
    a, b = flax.serialization.to_state_dict(a), flax.serialization.to_state_dict(b)
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-4, atol=2e-5), a, b)
  for a, b in zip(m1, m4):
    np.testing.assert_allclose(a["d_loss"], b["d_loss"], rtol=2e-5, atol=2e-6)
