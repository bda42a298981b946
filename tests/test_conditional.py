"""Class-conditional GANs: conditional BatchNorm, the projection head and the concatenation
forms against NumPy references, parameter counts, errors, the labelled replay buffer, the
conditional train step on 1, 2 and 4 devices, a model that learns which class is which, and
the tools (training grid, class accuracy, `jaxgan.sample --label`)."""

import flax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import models, sample, train
from jaxgan.core import random_streams
from jaxgan.evaluation import generation, metrics
from jaxgan.experiment import builders
from jaxgan.games.standard import init_variables
from jaxgan.models import conditional, layers, minibatch
from jaxgan.plugins.replay import BUFFER, FILLED, LABELS, Replay
from jaxgan.workdir import metric_logging, saved_run
from tests import helpers

K = 3  # classes in the small tests


def _params(variables):
  return flax.core.unfreeze(variables)["params"]


def test_conditional_batch_norm_matches_numpy():
  rng = np.random.default_rng(0)
  x = rng.normal(2.0, 3.0, (6, 4, 4, 5)).astype(np.float32)
  labels = np.array([0, 1, 2, 2, 1, 0])
  codes = conditional.one_hot(labels, K)
  cbn = layers.ConditionalBatchNorm(use_running_average=False, epsilon=1e-3)
  variables = flax.core.unfreeze(cbn.init(jax.random.PRNGKey(0), x, codes))
  # Fresh: plain BatchNorm (gains 1, offsets 0).
  fresh, _ = cbn.apply(variables, x, codes, mutable=["batch_stats"])
  plain, _ = nn_batch_norm(x)
  np.testing.assert_allclose(fresh, plain, rtol=1e-5, atol=1e-5)
  gains, offsets = rng.normal(size=(K, 5)), rng.normal(size=(K, 5))
  variables["params"]["gain"]["kernel"] = jnp.asarray(gains, jnp.float32)
  variables["params"]["bias"]["kernel"] = jnp.asarray(offsets, jnp.float32)
  out, _ = cbn.apply(variables, x, codes, mutable=["batch_stats"])
  mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
  expected = ((x - mean) / np.sqrt(var + 1e-3) * (1 + gains[labels])[:, None, None, :]
              + offsets[labels][:, None, None, :])
  np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def nn_batch_norm(x):
  bn = flax.linen.BatchNorm(use_running_average=False, epsilon=1e-3)
  variables = bn.init(jax.random.PRNGKey(0), x)
  return bn.apply(variables, x, mutable=["batch_stats"])


def test_projection_head_matches_numpy_and_reduces_to_the_plain_head():
  rng = np.random.default_rng(1)
  x = rng.normal(size=(4, 2, 2, 3)).astype(np.float32)
  labels = np.array([2, 0, 1, 2])
  head = minibatch.DiscriminatorHead()
  variables = head.init(jax.random.PRNGKey(0), x, False, conditional.one_hot(labels, K))
  p = _params(variables)
  logits = head.apply(variables, x, False, conditional.one_hot(labels, K))
  phi = x.reshape(4, -1)
  embedding = np.asarray(p["class_embedding"]["kernel"])  # [K, F]
  expected = (phi @ np.asarray(p["Dense_0"]["kernel"])[:, 0] + np.asarray(p["Dense_0"]["bias"])
              + np.sum(embedding[labels] * phi, axis=1))
  np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-5)
  plain = {"params": {"Dense_0": p["Dense_0"]}}
  np.testing.assert_allclose(head.apply(plain, x, False), expected - np.sum(
      embedding[labels] * phi, axis=1), rtol=1e-5, atol=1e-5)


def _tutorial(image_shape=(28, 28, 1)):
  return models.MODELS.get("dcgan_tutorial")(image_shape=image_shape, latent_dim=100,
                                             axis_name=None)


def test_concat_forms_feed_the_base_models_one_hot_inputs():
  base = _tutorial()
  g, d = conditional.condition(base, 10, "concat", "concat")
  pair = models.GanPair(g, d)
  g_vars, d_vars = init_variables(pair, jax.random.PRNGKey(0), 100, (28, 28, 1))
  rng = np.random.default_rng(2)
  z = rng.normal(size=(3, 100)).astype(np.float32)
  labels = np.array([7, 0, 3])
  one_hot = np.eye(10, dtype=np.float32)[labels]
  base_g_vars = {c: v["base"] for c, v in flax.core.unfreeze(g_vars).items()}
  np.testing.assert_allclose(
      g.apply(g_vars, z, train=False, labels=labels),
      base.generator.apply(base_g_vars, np.concatenate([z, one_hot], 1), train=False),
      rtol=1e-6)
  x = rng.uniform(-1, 1, (3, 28, 28, 1)).astype(np.float32)
  maps = np.broadcast_to(one_hot[:, None, None, :], (3, 28, 28, 10))
  base_d_vars = {c: v["base"] for c, v in flax.core.unfreeze(d_vars).items()}
  np.testing.assert_allclose(
      d.apply(d_vars, x, train=False, labels=labels),
      base.discriminator.apply(base_d_vars, np.concatenate([x, maps], -1), train=False),
      rtol=1e-6)


def _count(tree):
  return sum(int(np.size(x)) for x in jax.tree.leaves(tree))


def test_parameter_counts_of_each_form():
  """Extra parameters from the layer formulas (tutorial DCGAN, 10 classes)."""
  plain = init_variables(_tutorial(), jax.random.PRNGKey(0), 100, (28, 28, 1))
  counts = {}
  for g_mode, d_mode in (("concat", "concat"), ("batch_norm", "projection")):
    pair = models.GanPair(*conditional.condition(_tutorial(), 10, g_mode, d_mode))
    g_vars, d_vars = init_variables(pair, jax.random.PRNGKey(0), 100, (28, 28, 1))
    counts["g_" + g_mode] = _count(_params(g_vars)) - _count(_params(plain[0]))
    counts["d_" + d_mode] = _count(_params(d_vars)) - _count(_params(plain[1]))
  assert counts["g_concat"] == 10 * 7 * 7 * 256          # Dense rows for the one-hot
  assert counts["d_concat"] == 5 * 5 * 10 * 64           # first conv's label-map inputs
  bn_channels = [7 * 7 * 256, 128, 64]                   # G's three BatchNorms
  # Per-class gain and offset tables replace BatchNorm's own scale and offset.
  assert counts["g_batch_norm"] == sum(2 * 10 * c - 2 * c for c in bn_channels)
  assert counts["d_projection"] == 10 * 7 * 7 * 128      # the class embedding [K, F]


def test_labels_steer_the_generator():
  pair = models.GanPair(*conditional.condition(_tutorial(), 10, "batch_norm", "projection"))
  g_vars, _ = init_variables(pair, jax.random.PRNGKey(0), 100, (28, 28, 1))
  g_vars = flax.core.unfreeze(g_vars)
  gains = g_vars["params"]["base"]["ConditionalBatchNorm_2"]["gain"]
  gains["kernel"] = jnp.asarray(np.random.default_rng(0).normal(size=gains["kernel"].shape),
                                jnp.float32)
  z = jnp.ones((2, 100))
  a = pair.generator.apply(g_vars, z, train=False, labels=jnp.array([1, 1]))
  b = pair.generator.apply(g_vars, z, train=False, labels=jnp.array([1, 2]))
  np.testing.assert_array_equal(a[0], b[0])
  assert float(jnp.max(jnp.abs(a[1] - b[1]))) > 1e-3


def test_errors_name_the_problem():
  with pytest.raises(ValueError, match="needs labels"):
    g, _ = conditional.condition(_tutorial(), 10, "concat", "concat")
    g.init(jax.random.PRNGKey(0), jnp.zeros((1, 100)), train=False)
  keras = models.MODELS.get("dcgan_keras")(image_shape=(28, 28, 1), latent_dim=100,
                                           axis_name=None)
  with pytest.raises(ValueError, match="no class-conditional BatchNorm"):
    conditional.condition(keras, 10, "batch_norm", "concat")
  config = helpers.tiny_config(**{"model.num_classes": 10,
                                  "model.generator_conditioning": "cbn"})
  with pytest.raises(builders.ConfigError, match="valid: concat, batch_norm"):
    builders.check_config(config)
  config = helpers.tiny_config(**{"model.num_classes": 1})
  with pytest.raises(builders.ConfigError, match="num_classes >= 2"):
    builders.check_config(config)
  config = helpers.tiny_config(**{"model.name": "dcgan_keras", "model.num_classes": 10,
                                  "model.generator_conditioning": "batch_norm"})
  with pytest.raises(builders.ConfigError, match="use generator conditioning 'concat'"):
    builders.build(config, (28, 28, 1))
  config = helpers.tiny_config(**{"model.num_classes": 10})
  with pytest.raises(builders.ConfigError, match="has no labels"):
    builders.check_labels(config, 0, has_labels=False)
  with pytest.raises(builders.ConfigError, match="has 3 classes"):
    builders.check_labels(config, 3, has_labels=True)
  with pytest.raises(ValueError, match="not class-conditional"):
    generation.requested_classes(builders.build(helpers.tiny_config(), (8, 8, 1)).game, 4, label=3)
  conditional_game = builders.build(helpers.tiny_config(**{"model.num_classes": 10}),
                                    (8, 8, 1)).game
  with pytest.raises(ValueError, match="classes 0..9"):
    generation.requested_classes(conditional_game, 4, label=10)


def test_replay_keeps_each_fakes_class():
  replay = Replay(size=8, fraction=0.5)
  extras = replay.init((1, 1, 1), with_labels=True)
  for i in range(3):  # Pixel value = class: the pairing must survive buffer and mix.
    labels = jnp.array([(i + j) % K for j in range(4)], jnp.int32)
    fake = labels.astype(jnp.float32)[:, None, None, None]
    extras, _ = replay.push(extras, fake, jax.random.PRNGKey(i), None, labels)
  np.testing.assert_array_equal(np.asarray(extras[BUFFER])[:, 0, 0, 0],
                                np.asarray(extras[LABELS]))
  fresh_labels = jnp.arange(64, dtype=jnp.int32) % K
  fresh = fresh_labels.astype(jnp.float32)[:, None, None, None] + 0.5  # never in the buffer
  key = jax.random.PRNGKey(9)
  mixed, mixed_labels = replay.mix_with_labels(extras, fresh, fresh_labels, key, None)
  mixed, mixed_labels = np.asarray(mixed)[:, 0, 0, 0], np.asarray(mixed_labels)
  np.testing.assert_array_equal(  # the same rows as the label-free mix
      mixed, np.asarray(replay.mix(extras, fresh, key, None))[:, 0, 0, 0])
  replayed = mixed != np.asarray(fresh)[:, 0, 0, 0]
  assert 10 < replayed.sum() < 54
  np.testing.assert_array_equal(np.floor(mixed), mixed_labels)
  with pytest.raises(ValueError, match="needs the fakes' labels"):
    replay.push(extras, fresh[:4], key, None)


def test_class_accuracy_by_hand():
  assert metrics.class_accuracy(np.array([0, 1, 2, 2]), np.array([0, 1, 1, 2])) == 0.75
  with pytest.raises(ValueError):
    metrics.class_accuracy(np.array([0, 1]), np.array([0]))


COND = {"model.num_classes": K, "replay.buffer_size": 16, "penalty.name": "wgan_gp",
        "penalty.weight": 10.0, "feature_matching.weight": 1.0}


# The concat pair on 1, 2 and 4 devices is CI-only (`slow`, 33 s).
@pytest.mark.parametrize("g_mode,d_mode", [pytest.param("concat", "concat", marks=pytest.mark.slow),
                                           ("batch_norm", "projection")])
def test_conditional_step_is_the_same_on_1_2_and_4_devices(g_mode, d_mode):
  overrides = {**COND, "model.generator_conditioning": g_mode,
               "model.discriminator_conditioning": d_mode}
  runs = [helpers.run_pmapped_steps(n, num_steps=2, **overrides) for n in (1, 2, 4)]
  (g1, d1), m1, _ = runs[0]
  for (g, d), m, _ in runs[1:]:
    for a, b in zip(jax.tree.leaves((g1.params, d1.params, d1.extras)),
                    jax.tree.leaves((g.params, d.params, d.extras))):
      np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(m[-1]["d_loss"], m1[-1]["d_loss"], rtol=1e-5)
  assert int(d1.extras[FILLED]) == 16 and d1.extras[LABELS].shape == (16,)


def _one_device_step(config, shape):
  """(experiment, step): the pmapped train step on one device, called with unreplicated
  values: step(states, batch, key) -> (states, metrics)."""
  experiment = builders.build(config, shape)
  p_step = helpers.pmapped_run_step(experiment, 1)
  add = lambda tree: jax.tree.map(lambda x: jnp.asarray(x)[None], tree)
  drop = lambda tree: jax.tree.map(lambda x: x[0], tree)
  return experiment, lambda states, batch, key: drop(p_step(add(states), add(batch), add(key)))


def test_step_requires_and_uses_labels():
  config = helpers.tiny_config(**{"model.num_classes": K, "batch_size": 8})
  shape = (8, 8, 1)
  experiment, step = _one_device_step(config, shape)
  states = experiment.init_states()
  images = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (1, 8, *shape)), jnp.float32)
  key = random_streams.base_key(0)
  with pytest.raises(ValueError, match="needs the batch's labels"):
    step(states, {"image": images}, key)
  labels = jnp.arange(8, dtype=jnp.int32)[None] % K
  d_a = step(states, {"image": images, "label": labels}, key)[0]["d"]
  d_b = step(states, {"image": images, "label": (labels + 1) % K}, key)[0]["d"]
  assert not all(np.allclose(a, b) for a, b in zip(jax.tree.leaves(d_a.params),
                                                   jax.tree.leaves(d_b.params)))


@pytest.mark.parametrize("g_mode,d_mode", [("concat", "concat"), ("batch_norm", "projection")])
def test_a_conditional_gan_learns_which_class_is_which(g_mode, d_mode):
  """Class 0 is dark, class 1 bright: after training, G(z, 0) must be darker than G(z, 1)
  for the same z. An unconditional model, or labels lost on the way, cannot do this."""
  config = helpers.tiny_config(**{"model.num_classes": 2, "batch_size": 32,
                                  "model.generator_conditioning": g_mode,
                                  "model.discriminator_conditioning": d_mode,
                                  "g_optimizer.learning_rate": 2e-3,
                                  "d_optimizer.learning_rate": 2e-3})
  shape = (4, 4, 1)
  experiment, step = _one_device_step(config, shape)
  states = experiment.init_states()
  rng = np.random.default_rng(0)
  key = random_streams.base_key(0)
  for _ in range(300):
    labels = rng.integers(0, 2, (1, 32)).astype(np.int32)
    images = np.where(labels[..., None, None, None] == 0, -0.7, 0.7) + rng.normal(
        0, 0.1, (1, 32, *shape))
    states, _ = step(states, {"image": images.astype(np.float32), "label": labels}, key)
  z = jax.random.normal(jax.random.PRNGKey(1), (64, config.model.latent_dim))
  variables = states["g"].variables()
  generate = experiment.game.generate
  dark = generate(variables, {"z": z, "labels": jnp.zeros(64, jnp.int32)})
  bright = generate(variables, {"z": z, "labels": jnp.ones(64, jnp.int32)})
  assert float(jnp.mean(dark)) < -0.3 and float(jnp.mean(bright)) > 0.3


def test_train_sample_and_evaluate_a_conditional_run(tmp_path):
  mnist = helpers.write_fake_mnist(str(tmp_path / "mnist"), n=64)
  workdir = str(tmp_path / "w")
  config = helpers.tiny_config(mnist, **{
      "model.num_classes": 10, "model.generator_conditioning": "batch_norm",
      "model.discriminator_conditioning": "projection", "eval.every_steps": 4,
      "eval.num_samples": 24, "eval.classifier_steps": 2, "eval.batch_size": 8})
  train.train_and_evaluate(config, workdir)
  records = [r for r in metric_logging.read_metrics(workdir) if "eval_class_accuracy" in r]
  assert records and 0.0 <= records[-1]["eval_class_accuracy"] <= 1.0
  assert (tmp_path / "w" / "samples" / "step_0000004.png").exists()
  images, classes = sample.generate(workdir, num_samples=6, batch_size=4, label=7,
                                    grid_path=str(tmp_path / "grid.png"))
  assert images.shape == (6, 28, 28, 1) and list(classes) == [7] * 6
  assert (tmp_path / "grid.png").stat().st_size > 0
  _, classes = sample.generate(workdir, num_samples=12, batch_size=5)
  np.testing.assert_array_equal(classes, np.arange(12) % 10)
  # The sampler's rows are the training generator's, class by class.
  run = saved_run.load_run(workdir)
  generate = generation.make_generate(run.game, run.sampling_variables(), jax.random.PRNGKey(0), 5)
  z = jax.random.normal(jax.random.fold_in(jax.random.PRNGKey(0), 5), (5, 8))
  expected = run.game.generate(run.sampling_variables(), {
      "z": z, "labels": jnp.asarray(np.arange(5, 10) % 10, jnp.int32)})
  np.testing.assert_allclose(generate(10)[5:], expected, rtol=1e-5, atol=1e-6)
