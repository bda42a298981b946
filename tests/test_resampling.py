"""Up/downsampling layers (jaxgan.models.resampling) against NumPy references."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.models import resampling


def _random(shape, seed=0):
  return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def test_nearest_upsample_repeats_each_pixel_in_a_2x2_block():
  x = _random((2, 3, 4, 5))
  expected = np.kron(x, np.ones((1, 2, 2, 1), np.float32))
  np.testing.assert_array_equal(resampling.nearest_upsample(jnp.asarray(x)), expected)


def test_depth_to_space_follows_the_documented_layout():
  x = _random((2, 3, 4, 4 * 5))
  y = np.asarray(resampling.depth_to_space(jnp.asarray(x)))
  assert y.shape == (2, 6, 8, 5)
  for h in range(3):
    for w in range(4):
      for i in range(2):
        for j in range(2):
          np.testing.assert_array_equal(y[:, 2 * h + i, 2 * w + j, :],
                                        x[:, h, w, (i * 2 + j) * 5:(i * 2 + j + 1) * 5])


def test_avg_pool_is_the_mean_of_each_2x2_block():
  x = _random((2, 6, 4, 3))
  expected = x.reshape(2, 3, 2, 2, 2, 3).mean(axis=(2, 4))
  np.testing.assert_allclose(resampling.avg_pool_2x(jnp.asarray(x)), expected, rtol=1e-6)


def _init_apply(module, x, *args):
  variables = module.init(jax.random.PRNGKey(0), x, *args)
  return variables["params"], module.apply(variables, x, *args)


@pytest.mark.parametrize("mode,kernel_multiple", [("transposed", 1), ("nearest", 1),
                                                  ("pixel_shuffle", 4)])
def test_upsample_shapes_parameters_and_function(mode, kernel_multiple):
  x = jnp.asarray(_random((2, 5, 6, 3)))
  params, y = _init_apply(resampling.Upsample(7, mode, kernel_size=3), x)
  assert y.shape == (2, 10, 12, 7)
  (layer,) = params.values()  # the one convolution
  assert layer["kernel"].shape[-1] == 7 * kernel_multiple
  assert layer["bias"].shape == (7 * kernel_multiple,)
  if mode == "nearest":  # a convolution of the enlarged image, with the same kernel
    conv = nn.Conv(7, (3, 3), padding="SAME")
    expected = conv.apply({"params": layer}, resampling.nearest_upsample(x))
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
  if mode == "pixel_shuffle":
    conv = nn.Conv(28, (3, 3), padding="SAME")
    expected = resampling.depth_to_space(conv.apply({"params": layer}, x))
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
  if mode == "transposed":  # jaxgan's ConvTranspose is flax's function
    expected = nn.ConvTranspose(7, (3, 3), strides=(2, 2), padding="SAME").apply(
        {"params": layer}, x)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mode", resampling.DOWNSAMPLE_MODES)
def test_downsample_shapes_and_function(mode):
  x = jnp.asarray(_random((2, 8, 6, 3)))
  params, y = _init_apply(resampling.Downsample(5, mode, kernel_size=3), x)
  assert y.shape == (2, 4, 3, 5)
  layer = params["Conv_0"]
  if mode == "strided":
    expected = nn.Conv(5, (3, 3), strides=(2, 2), padding="SAME").apply({"params": layer}, x)
  else:
    expected = nn.Conv(5, (3, 3), padding="SAME").apply({"params": layer},
                                                         resampling.avg_pool_2x(x))
  np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_unknown_modes_list_the_valid_ones():
  with pytest.raises(ValueError, match="transposed, nearest, pixel_shuffle"):
    resampling.check_mode("upsample", "bilinear")
  with pytest.raises(ValueError, match="strided, avg_pool"):
    resampling.check_mode("downsample", "max_pool")


def test_stages_counts_doublings_from_4x4():
  assert [resampling.stages(side) for side in (8, 16, 32, 64, 256)] == [1, 2, 3, 4, 6]
  assert [resampling.stages(side) for side in (4, 28, 48, 0)] == [0, 0, 0, 0]
  assert resampling.stages(8, minimum=2) == 0 and resampling.stages(16, minimum=2) == 2
