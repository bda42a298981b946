"""Sampling options (jaxgan.models.sampling_options): StyleGAN2's truncation trick and noise
mode, from `python -m jaxgan.sample` through the game and the conditional wrapper to the
mapping network; refused, before compiling, for a model that does not take them."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from jaxgan import evaluate, models, sample, train
from jaxgan.models import conditional, sampling_options, stylegan2
from tests import helpers


def _stylegan2(**kw):
  return models.MODELS.get("stylegan2")(
      image_shape=(16, 16, 1), latent_dim=16, axis_name=None, w_dim=16, mapping_layers=2,
      channel_base=256, channel_max=16, **kw)


def _with_w_avg(variables, key):
  """`variables` with a random tracked w_avg (at init it is 0, which hides a wrong average)."""
  return jax.tree_util.tree_map_with_path(
      lambda path, x: (jax.random.normal(key, x.shape) if stylegan2.W_AVG == path[0].key
                       else x), variables)


def test_truncation_is_w_avg_plus_psi_times_the_offset_on_the_cutoff_ws():
  g, _ = _stylegan2()
  z = jax.random.normal(jax.random.PRNGKey(1), (3, 16))
  variables = _with_w_avg(g.init(jax.random.PRNGKey(0), z, train=False), jax.random.PRNGKey(2))
  w_avg = np.asarray(variables[stylegan2.W_AVG]["mapping"][stylegan2.W_AVG])
  assert np.abs(w_avg).max() > 0.1
  ws = np.asarray(g.apply(variables, z, method="map"))  # [3, num_ws, 16], untruncated
  expected_ws = ws.copy()
  expected_ws[:, :2] = w_avg + 0.7 * (ws[:, :2] - w_avg)
  expected = g.apply(variables, jnp.asarray(expected_ws), "const", method="synthesize")
  got = g.apply(variables, z, train=False, truncation_psi=0.7, truncation_cutoff=2,
                noise_mode="const")
  np.testing.assert_allclose(got, expected, atol=1e-5)
  assert np.abs(np.asarray(got) - np.asarray(g.apply(variables, z, train=False))).max() > 1e-3


def test_the_conditional_wrapper_hands_the_options_to_its_base():
  g, _ = conditional.condition(_stylegan2(), 3, "mapping", "projection")
  z = jax.random.normal(jax.random.PRNGKey(1), (3, 16))
  labels = jnp.array([0, 1, 2])
  variables = _with_w_avg(g.init(jax.random.PRNGKey(0), z, train=False, labels=labels),
                          jax.random.PRNGKey(2))
  assert sampling_options.of(g) == ("truncation_psi", "truncation_cutoff", "noise_mode")
  # psi 0: every w is the (class-independent) average, so every row is the same image.
  images = np.asarray(g.apply(variables, z, train=False, labels=labels, truncation_psi=0.0))
  np.testing.assert_allclose(images, np.broadcast_to(images[:1], images.shape), atol=1e-6)
  untruncated = np.asarray(g.apply(variables, z, train=False, labels=labels))
  assert np.abs(untruncated[0] - untruncated[1]).max() > 1e-3


def test_requested_options_are_checked_for_range():
  assert sampling_options.requested() == {}
  assert sampling_options.requested(0.5, 3, "none") == {
      "truncation_psi": 0.5, "truncation_cutoff": 3, "noise_mode": "none"}
  with pytest.raises(ValueError, match="finite"):
    sampling_options.requested(truncation_psi=float("nan"))
  with pytest.raises(ValueError, match="truncation_cutoff must be >= 1"):
    sampling_options.requested(truncation_cutoff=0)
  with pytest.raises(ValueError, match="valid: const, none"):
    sampling_options.requested(noise_mode="random")


def test_sampling_a_trained_stylegan2_run_with_truncation(tmp_path, mnist_dir):
  workdir = str(tmp_path / "w")
  config = helpers.tiny_config(
      mnist_dir, num_train_steps=2, **{"model.name": "stylegan2", "dataset.image_size": 16,
                                       "model.latent_dim": 16})
  config.model.kwargs = ml_collections.ConfigDict(dict(
      w_dim=16, mapping_layers=2, channel_base=256, channel_max=16, mbstd_group_size=2))
  train.train_and_evaluate(config, workdir)
  plain, _ = sample.generate(workdir, num_samples=4, batch_size=4)
  again, _ = sample.generate(workdir, num_samples=4, batch_size=4,
                             options={"truncation_psi": 1.0, "noise_mode": "const"})
  np.testing.assert_array_equal(plain, again)  # The defaults when sampling, said aloud.
  average, _ = sample.generate(workdir, num_samples=4, batch_size=4,
                               options={"truncation_psi": 0.0})
  assert plain.shape == average.shape == (4, 16, 16, 1)
  np.testing.assert_array_equal(average, np.broadcast_to(average[:1], average.shape))
  assert (plain[0] != plain[1]).any()
  with pytest.raises(ValueError, match="takes no sampling option bogus"):
    sample.generate(workdir, num_samples=4, options={"bogus": 1})
  # jaxgan.evaluate samples with the options and records them with the protocol.
  small = {"num_samples": 12, "classifier_steps": 3, "kid_subsets": 2, "kid_subset_size": 6,
           "batch_size": 4}
  report = evaluate.evaluate_workdir(workdir, overrides=small, pictures_too=False,
                                     sampling={"truncation_psi": 0.0})
  assert report["provenance"]["protocol"]["sampling"] == {"truncation_psi": 0.0}
  assert report["generator"]["precision"] in (0.0, 1.0)  # 12 copies of one image.
  with pytest.raises(ValueError, match="takes no sampling option bogus"):
    evaluate.evaluate_workdir(workdir, overrides=small, sampling={"bogus": 1})
