"""jaxgan.models.normalization against NumPy, and the DCGAN's normalisation options."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import models
from jaxgan.models import normalization

EPS = normalization.EPSILON


def _apply(kind, x, **kwargs):
  fn = lambda x: normalization.make(kind, train=True, axis_name=None, **kwargs)(x)
  import flax.linen as nn

  class Wrap(nn.Module):
    @nn.compact
    def __call__(self, x):
      return fn(x)
  module = Wrap()
  variables = module.init(jax.random.PRNGKey(0), x)
  return np.asarray(module.apply(variables, x, mutable=["batch_stats"])[0])


def _x(shape, seed=0):
  rng = np.random.default_rng(seed)
  return (rng.normal(size=shape) * 3 + 1.5).astype(np.float32)


def test_layer_norm_normalises_each_example_over_all_its_features():
  x = _x((3, 4, 4, 5))
  want = np.stack([(e - e.mean()) / np.sqrt(e.var() + EPS) for e in x])
  np.testing.assert_allclose(_apply("layer", jnp.asarray(x)), want, atol=1e-5)


def test_instance_norm_normalises_each_example_and_channel_over_space():
  x = _x((3, 4, 4, 5))
  mean = x.mean(axis=(1, 2), keepdims=True)
  var = x.var(axis=(1, 2), keepdims=True)
  np.testing.assert_allclose(_apply("instance", jnp.asarray(x)), (x - mean) / np.sqrt(var + EPS),
                             atol=1e-5)


def test_virtual_batch_norm_mixes_reference_and_own_statistics():
  n_ref = 4
  x = _x((n_ref + 3, 2, 2, 3))
  ref, examples = x[:n_ref].astype(np.float64), x[n_ref:].astype(np.float64)
  want = [(ref - ref.mean((0, 1, 2))) / np.sqrt(ref.var((0, 1, 2)) + EPS)]
  for e in examples:  # Explicitly: the reference's and the example's moments, N:1.
    mean = (n_ref * ref.mean((0, 1, 2)) + e.mean((0, 1))) / (n_ref + 1)
    square = (n_ref * (ref ** 2).mean((0, 1, 2)) + (e ** 2).mean((0, 1))) / (n_ref + 1)
    want.append(((e - mean) / np.sqrt(square - mean ** 2 + EPS))[None])
  got = _apply("virtual_batch", jnp.asarray(x), num_reference=n_ref)
  np.testing.assert_allclose(got, np.concatenate(want), atol=1e-4)
  # Each example's output depends on the reference and itself only, never on the others.
  alone = _apply("virtual_batch", jnp.asarray(x[:n_ref + 1]), num_reference=n_ref)
  np.testing.assert_allclose(alone, got[:n_ref + 1], atol=1e-6)


@pytest.mark.parametrize("g_norm,d_norm", [("layer", "layer"), ("instance", "instance"),
                                           ("virtual_batch", "none"), ("none", "none")])
def test_dcgan_options_build_and_keep_examples_independent(g_norm, d_norm):
  pair = models.MODELS.get("dcgan_tutorial")(
      image_shape=(28, 28, 1), latent_dim=8, axis_name=None, generator_normalization=g_norm,
      num_reference=5, discriminator_normalization=d_norm)
  z = jax.random.normal(jax.random.PRNGKey(1), (3, 8))
  g_vars = pair.generator.init(jax.random.PRNGKey(0), z, train=False)
  images = pair.generator.apply(g_vars, z, train=True, mutable=["batch_stats"])[0]
  assert images.shape == (3, 28, 28, 1)
  first = pair.generator.apply(g_vars, z[:1], train=True, mutable=["batch_stats"])[0]
  np.testing.assert_allclose(first, images[:1], atol=1e-5)  # No batch statistics.
  assert "batch_stats" not in g_vars
  d_vars = pair.discriminator.init(jax.random.PRNGKey(0), images, train=False)
  assert pair.discriminator.apply(d_vars, images, train=False).shape == (3,)


def test_default_dcgan_is_unchanged_and_wrong_names_list_the_valid_ones():
  pair = models.MODELS.get("dcgan_tutorial")(image_shape=(28, 28, 1), latent_dim=100,
                                             axis_name=None)
  z = jnp.zeros((2, 100))
  g_vars = pair.generator.init(jax.random.PRNGKey(0), z, train=False)
  count = lambda tree: sum(x.size for x in jax.tree.leaves(tree))
  assert count(g_vars["params"]) == 2_305_472 and count(g_vars["batch_stats"]) == 25_472
  with pytest.raises(ValueError, match="valid: batch, layer, instance, virtual_batch, none"):
    models.MODELS.get("dcgan_tutorial")(image_shape=(28, 28, 1), latent_dim=8,
                                        axis_name=None, generator_normalization="group")
  with pytest.raises(ValueError, match="valid: none, layer, instance"):
    models.MODELS.get("dcgan_tutorial")(image_shape=(28, 28, 1), latent_dim=8,
                                        axis_name=None, discriminator_normalization="batch")
