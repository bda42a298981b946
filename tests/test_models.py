"""Model output shapes and parameter counts (the TensorFlow tutorial's model.summary())."""
import jax
import jax.numpy as jnp
import pytest

from jaxgan import models, train
from jaxgan.core import state
from jaxgan.experiment import builders
from jaxgan.games import standard
from tests import helpers


def _variables(pair, latent_dim=100, image_shape=(28, 28, 1)):
  return standard.init_variables(pair, jax.random.PRNGKey(0), latent_dim, image_shape)


def test_dcgan_tutorial_shapes_and_parameter_counts():
  pair = models.MODELS.get("dcgan_tutorial")(image_shape=(28, 28, 1), latent_dim=100,
                                             axis_name=None)
  g_vars, d_vars = _variables(pair)
  # Keras' model.summary() of the tutorial: G 2,305,472 trainable + 25,472 non-trainable
  # (BN moving mean/var), D 212,865.
  assert state.count_params(g_vars["params"]) == 2_305_472
  assert state.count_params(g_vars["batch_stats"]) == 25_472
  assert state.count_params(d_vars["params"]) == 212_865
  z = jnp.ones((3, 100))
  images = pair.generator.apply(g_vars, z, train=False)
  assert images.shape == (3, 28, 28, 1)
  assert float(jnp.max(jnp.abs(images))) <= 1.0
  logits = pair.discriminator.apply(d_vars, images, train=False)
  assert logits.shape == (3,)


def test_dcgan_tutorial_rejects_other_image_shapes():
  config = helpers.tiny_config()
  config.model.name = "dcgan_tutorial"
  with pytest.raises(builders.ConfigError, match=r"\(28, 28, 1\) or \(28, 28, 3\)"):
    builders.get_models(config, (32, 32, 3), axis_name=None)


def test_dcgan_tutorial_makes_three_channels_for_stacked_mnist():
  pair = models.MODELS.get("dcgan_tutorial")(image_shape=(28, 28, 3), latent_dim=100,
                                             axis_name=None)
  g_vars, d_vars = _variables(pair, image_shape=(28, 28, 3))
  z = jax.random.normal(jax.random.PRNGKey(0), (2, 100))
  images = pair.generator.apply(g_vars, z, train=False)
  assert images.shape == (2, 28, 28, 3)
  assert pair.discriminator.apply(d_vars, images, train=False).shape == (2,)
  # Only G's last layer (5*5*64*3 instead of *1) and D's first (5*5*3*64 + 64) grow.
  assert state.count_params(g_vars["params"]) == 2_305_472 + 5 * 5 * 64 * 2
  assert state.count_params(d_vars["params"]) == 212_865 + 5 * 5 * 64 * 2


def test_mlp_shapes_and_parameter_counts():
  pair = models.MODELS.get("mlp")(image_shape=(28, 28, 1), latent_dim=100, axis_name=None)
  g_vars, d_vars = _variables(pair)
  dense = lambda n_in, n_out: n_in * n_out + n_out
  # G: Dense layers 100-256-512-1024-784 and BN scale/bias after each hidden one; 1,489,936
  # is the Keras GAN example's trainable count, plus 3,584 BN moving statistics.
  g_expected = (dense(100, 256) + dense(256, 512) + dense(512, 1024) + dense(1024, 784)
                + 2 * (256 + 512 + 1024))
  assert state.count_params(g_vars["params"]) == g_expected == 1_489_936
  assert state.count_params(g_vars["batch_stats"]) == 2 * (256 + 512 + 1024)
  assert state.count_params(d_vars["params"]) == (
      dense(784, 1024) + dense(1024, 512) + dense(512, 256) + dense(256, 1))
  z = jax.random.normal(jax.random.PRNGKey(0), (3, 100))
  images = pair.generator.apply(g_vars, z, train=False)
  assert images.shape == (3, 28, 28, 1) and float(jnp.max(jnp.abs(images))) <= 1.0
  assert pair.discriminator.apply(d_vars, images, train=False).shape == (3,)


def test_mlp_generator_normalises_after_the_activation():
  """BN follows LeakyReLU (the course's order): in train mode, each hidden layer's BN output
  has batch mean 0 and variance ~1, so its input was the activation."""
  pair = models.MODELS.get("mlp")(image_shape=(28, 28, 1), latent_dim=100, axis_name=None,
                                  g_hidden=(64,))
  g_vars, _ = _variables(pair)
  z = jax.random.normal(jax.random.PRNGKey(1), (256, 100))
  _, captured = pair.generator.apply(g_vars, z, train=True, mutable=["batch_stats"],
                                     capture_intermediates=True)
  dense = captured["intermediates"]["Dense_0"]["__call__"][0]
  normed = captured["intermediates"]["BatchNorm_0"]["__call__"][0]
  activated = jnp.where(dense > 0, dense, 0.2 * dense)
  expected = (activated - activated.mean(0)) / jnp.sqrt(activated.var(0) + 1e-3)
  assert jnp.allclose(normed, expected, atol=1e-4)


@pytest.mark.parametrize("image_shape", [(28, 28, 1), (8, 8, 3)])
def test_tiny_pair_any_shape(image_shape):
  pair = models.MODELS.get("tiny")(image_shape=image_shape, latent_dim=8, axis_name=None)
  g_vars, d_vars = _variables(pair, 8, image_shape)
  images = pair.generator.apply(g_vars, jnp.ones((2, 8)), train=False)
  assert images.shape == (2, *image_shape)
  assert pair.discriminator.apply(d_vars, images, train=False).shape == (2,)


def test_dropout_train_mode_needs_and_uses_rng():
  pair = models.MODELS.get("dcgan_tutorial")(image_shape=(28, 28, 1), latent_dim=100,
                                             axis_name=None)
  _, d_vars = _variables(pair)
  x = jax.random.normal(jax.random.PRNGKey(1), (4, 28, 28, 1))
  a = pair.discriminator.apply(d_vars, x, train=True, rngs={"dropout": jax.random.PRNGKey(2)})
  b = pair.discriminator.apply(d_vars, x, train=True, rngs={"dropout": jax.random.PRNGKey(3)})
  c = pair.discriminator.apply(d_vars, x, train=False)
  assert not jnp.allclose(a, b) and not jnp.allclose(a, c)


def test_unknown_architecture_lists_valid_names():
  config = helpers.tiny_config()
  config.model.name = "dcgan_tutorail"
  valid = ("cyclegan_resnet, cyclegan_unet, dcgan_keras, dcgan_mnist, dcgan_radford, dcgan_stacked, "
           "dcgan_tutorial, mlp, progan, resnet, stylegan2, tiny, toy2d")
  with pytest.raises(builders.ConfigError, match=valid):
    builders.get_models(config, (28, 28, 1), axis_name=None)


def test_unknown_model_kwarg_is_an_error():
  config = helpers.tiny_config()
  config.model.kwargs.hiden = 3
  with pytest.raises(builders.ConfigError, match="hiden"):
    builders.check_config(config)


def test_mlp_trains_one_step_on_four_devices(tmp_path):
  mnist_dir = helpers.write_fake_mnist(str(tmp_path / "mnist"))
  config = helpers.tiny_config(mnist_dir, **{"model.name": "mlp", "model.latent_dim": 100,
                                             "num_train_steps": 1, "eval.every_steps": 0})
  result = train.train_and_evaluate(config, str(tmp_path / "w"))
  assert result["step"] == 1
  assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(result["g_state"].params))
