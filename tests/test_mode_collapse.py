"""Mode-collapse remedies: unrolled GAN and PacGAN packing in the standard game, the Stacked
MNIST DCGAN of Metz et al., and the 2-D mixture toy with its mode count."""
import functools

import flax
import jax
import ml_collections
import numpy as np
import pytest

from jaxgan.core import random_streams
from jaxgan.data import mixture
from jaxgan.evaluation import metrics
from jaxgan.experiment import builders
from jaxgan.games import common
from jaxgan.games.standard import StandardGame
from jaxgan.models import MODELS
from jaxgan.plugins import Unrolled
from jaxgan.plugins.packing import pack
from jaxgan.runtime import parallel
from tests import helpers

POINTS = (1, 1, 2)


def _run_game(experiment, batches, num_devices=1):
  """The experiment's states after one pmapped step per batch (global [n_critic, B, ...])."""
  p_step = helpers.pmapped_run_step(experiment, num_devices)
  stack = lambda tree: jax.tree.map(lambda x: np.stack([np.asarray(x)] * num_devices), tree)
  states, keys = stack(experiment.init_states()), stack(random_streams.base_key(experiment.seed))
  for images in batches:
    split = images.reshape(images.shape[0], num_devices, -1, *images.shape[2:]).swapaxes(0, 1)
    states, metrics_ = p_step(states, {"image": split}, keys)
  return jax.device_get(parallel.unreplicate(states)), jax.device_get(
      parallel.unreplicate(metrics_))


# ------------------------------------------------------------------------------- unrolled


@pytest.mark.slow  # Two compilations (~10 s): CI's slow set keeps the default suite < 10 min.
def test_unrolling_zero_steps_is_the_plain_step():
  config = helpers.tiny_config(n_critic=1)
  plain = builders.build(config, (8, 8, 1))
  parts = plain.game.parts
  zero = plain._replace(game=StandardGame(parts._replace(
      plugins=parts.plugins + (Unrolled(steps=0),))))
  batches = np.random.default_rng(0).uniform(-1, 1, (2, 1, 8, 8, 8, 1)).astype(np.float32)
  (a, _), (b, _) = _run_game(plain, batches), _run_game(zero, batches)
  helpers.assert_states_close(a, b)  # Two programs: equal to float rounding.


def _linear_config(backprop, eta=0.5):
  sgd = lambda lr: ml_collections.ConfigDict(
      {"name": "sgd", "learning_rate": lr, "kwargs": {}, "schedule": "constant",
       "schedule_kwargs": {}, "clip_grad_norm": 0.0})
  return helpers.tiny_config(**{
      "model.name": "tests.linear_pair:build", "model.latent_dim": 3, "n_critic": 1,
      "batch_size": 4, "loss.name": "wasserstein", "g_optimizer": sgd(1.0),
      "d_optimizer": sgd(0.1), "unrolled.steps": 1, "unrolled.optimizer": "sgd",
      "unrolled.learning_rate": eta, "unrolled.backprop": backprop})


@pytest.mark.parametrize("backprop", [True, False])
def test_one_sgd_unroll_gives_the_hand_derived_generator_gradient(backprop):
  """Linear G(z) = zA + b, linear critic D(x) = x.w + c, WGAN loss, one SGD unroll of rate
  eta: D's loss gradient in w is F - R (F, R: mean fake and real point), so
  w1 = w - eta (F - R), and G's loss -(w1 . F + c) has gradient in b
     backprop:      -w1 + eta F = -w + 2 eta F - eta R   (w1 depends on F)
     no backprop:   -w1                                    (w1 held fixed)
  and in A the outer product of the mean latent with it. G's SGD of rate 1 makes the
  update minus the gradient."""
  eta = 0.5
  experiment = builders.build(_linear_config(backprop, eta), POINTS)
  real = np.random.default_rng(1).normal(size=(1, 1, 4, *POINTS)).astype(np.float32)
  before = experiment.init_states()
  after, _ = _run_game(experiment, real)
  a, b = (np.asarray(before["g"].params[k], np.float64) for k in ("A", "b"))
  step_key = random_streams.step_key(random_streams.base_key(experiment.seed), 0)
  g_key = random_streams.of(step_key, random_streams.G_UPDATE)
  z = common.latents(random_streams.of(g_key, random_streams.NOISE), 4, 3, None)
  z_mean = np.asarray(z).mean(0)
  fake_mean = z_mean @ a + b
  real_mean = real.reshape(4, 2).mean(0)
  w = np.asarray(after["d"].params["w"], np.float64)  # D after its real update
  w1 = w - eta * (fake_mean - real_mean)
  grad_b = -w1 + eta * fake_mean if backprop else -w1
  np.testing.assert_allclose(before["g"].params["b"] - after["g"].params["b"], grad_b,
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(before["g"].params["A"] - after["g"].params["A"],
                             np.outer(z_mean, grad_b), rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # Two unrolled compilations (~12 s): CI's slow set.
def test_unrolling_through_adam_is_finite_and_changes_g_only():
  batches = np.random.default_rng(2).uniform(-1, 1, (2, 1, 8, 8, 8, 1)).astype(np.float32)
  runs = {}
  for backprop in (True, False):
    config = helpers.tiny_config(n_critic=1, **{"unrolled.steps": 3,
                                                "unrolled.backprop": backprop})
    runs[backprop] = _run_game(builders.build(config, (8, 8, 1)), batches[:1])
  for states, step_metrics in runs.values():
    assert step_metrics["all_finite"] == 1.0 and np.isfinite(step_metrics["g_grad_norm"])
    assert np.isfinite(step_metrics["g_loss"])
  # D's real update is the same (the unroll is G's); G's gradient is not (compared as norms:
  # Adam's first step, ~lr sign(g), would hide the difference in the parameters).
  helpers.assert_states_close(runs[True][0]["d"].params, runs[False][0]["d"].params)
  assert not np.isclose(runs[True][1]["g_grad_norm"], runs[False][1]["g_grad_norm"],
                        rtol=1e-4)


def test_unrolled_settings_are_checked():
  with pytest.raises(builders.ConfigError, match="valid: d, sgd"):
    builders.resolve(helpers.tiny_config(**{"unrolled.steps": 2, "unrolled.optimizer": "adm"}))
  with pytest.raises(builders.ConfigError, match="learning_rate must be > 0"):
    builders.resolve(helpers.tiny_config(**{"unrolled.steps": 2, "unrolled.optimizer": "sgd"}))
  with pytest.raises(builders.ConfigError, match="update_order"):
    builders.resolve(helpers.tiny_config(**{"unrolled.steps": 2,
                                            "update_order": "simultaneous"}))


# -------------------------------------------------------------------------------- packing


def test_pack_joins_consecutive_samples_along_channels():
  n, c, m = 6, 2, 3
  images = np.zeros((n, 2, 2, c), np.float32)
  images += np.arange(n)[:, None, None, None] * 10 + np.arange(c)  # value = 10 i + channel
  packs = np.asarray(pack(images, m))
  assert packs.shape == (n // m, 2, 2, m * c)
  for j in range(n // m):
    for i in range(m):
      for ch in range(c):
        np.testing.assert_array_equal(packs[j, :, :, i * c + ch], 10 * (j * m + i) + ch)
  with pytest.raises(ValueError, match="multiple of 4"):
    pack(images, 4)


def test_packed_d_is_built_for_packs_and_checked():
  experiment = builders.build(helpers.tiny_config(**{"packing.size": 2}), (8, 8, 1))
  d_vars = experiment.init_states()["d"].params
  first = jax.tree.leaves(d_vars["Conv_0"])
  assert any(leaf.ndim == 4 and leaf.shape[2] == 2 for leaf in first)  # 2 input channels
  with pytest.raises(builders.ConfigError, match="multiple of config.packing.size=3"):
    builders.resolve(helpers.tiny_config(**{"packing.size": 3}))  # batch_size 8
  with pytest.raises(builders.ConfigError, match="class-conditional"):
    builders.build(helpers.tiny_config(**{"packing.size": 2, "model.num_classes": 10}),
                   (8, 8, 1))


PACKED = {"packing.size": 2, "penalty.name": "r1", "penalty.weight": 1.0}


@functools.lru_cache(maxsize=None)
def _run_layout(num_devices, unrolled_steps):
  return helpers.run_pmapped_steps(num_devices, num_steps=2, n_critic=1,
                                   **{**PACKED, "unrolled.steps": unrolled_steps})


# Packing alone, 1 vs 4 devices, by default; with unrolling too, and 1 vs 2, in the CI-only
# `slow` set (the unrolled step compiles for ~10 s).
@pytest.mark.parametrize("num_devices,unrolled_steps", [
    (4, 0), pytest.param(2, 2, marks=pytest.mark.slow),
    pytest.param(4, 2, marks=pytest.mark.slow)])
def test_packing_and_unrolling_same_on_1_2_and_4_devices(num_devices, unrolled_steps):
  (g1, d1), m1, _ = _run_layout(1, unrolled_steps)
  (gn, dn), mn, _ = _run_layout(num_devices, unrolled_steps)
  for a, b in ((g1, gn), (d1, dn)):
    a, b = flax.serialization.to_state_dict(a), flax.serialization.to_state_dict(b)
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-4, atol=2e-5), a, b)
  for name in ("d_loss", "g_loss", "d_penalty"):
    np.testing.assert_allclose([m[name] for m in m1], [m[name] for m in mn], rtol=2e-5,
                               atol=2e-6, err_msg=name)


# ----------------------------------------------------------------- models and the 2-D toy


def test_stacked_dcgan_has_the_reference_layer_sizes():
  pair = MODELS.get("dcgan_stacked")(image_shape=(28, 28, 3), latent_dim=256, axis_name=None)
  z = jax.ShapeDtypeStruct((2, 256), np.float32)
  g_vars = jax.eval_shape(lambda z: pair.generator.init(jax.random.key(0), z, train=False), z)
  images = jax.eval_shape(lambda v, z: pair.generator.apply(v, z, train=False), g_vars, z)
  assert images.shape == (2, 28, 28, 3)
  d_vars = jax.eval_shape(lambda x: pair.discriminator.init(jax.random.key(1), x, train=False),
                          images)
  logits = jax.eval_shape(lambda v, x: pair.discriminator.apply(v, x, train=False), d_vars,
                          images)
  assert logits.shape == (2,)
  count = lambda tree: sum(x.size for x in jax.tree.leaves(tree))
  # By hand from the reference's layers (weights + biases, BN scale + offset):
  g = (256 * 1024 + 1024) + 2 * 64 + (9 * 64 * 32 + 32) + 2 * 32 + (9 * 32 * 16 + 16) \
      + 2 * 16 + (9 * 16 * 8 + 8) + 2 * 8 + (9 * 8 * 3 + 3)
  d = (9 * 3 * 2 + 2) + 2 * 2 + (9 * 2 * 4 + 4) + 2 * 4 + (9 * 4 * 8 + 8) + 2 * 8 \
      + (4 * 4 * 8 + 1)
  assert count(g_vars["params"]) == g and count(d_vars["params"]) == d


def _mixture_modes_by_loops(points, centres, std, min_count):
  counts, good = np.zeros(len(centres), int), 0
  for p in points:
    d = [np.sqrt((p[0] - c[0]) ** 2 + (p[1] - c[1]) ** 2) for c in centres]
    k = int(np.argmin(d))
    if d[k] <= 3 * std:
      counts[k] += 1
      good += 1
  probs = counts[counts > 0] / counts.sum()
  kl = sum(p * np.log(p * len(centres)) for p in probs)
  return int(np.sum(counts >= min_count)), good / len(points), kl


@pytest.mark.parametrize("name", ["ring", "grid"])
def test_mixture_mode_count_matches_a_loop(name):
  mix = mixture.get(name)
  rng = np.random.default_rng(3)
  # Half the samples from three modes (some blurred beyond 3 std), half uniform noise.
  modes = rng.integers(0, 3, 300)
  near = mix.centres[modes] + rng.normal(size=(300, 2)) * mix.std * rng.uniform(0.5, 4, (300, 1))
  points = np.concatenate([near, rng.uniform(-5, 5, (300, 2))])
  got = metrics.mixture_modes(points, mix.centres, mix.std, min_count=5)
  modes_, share, kl = _mixture_modes_by_loops(points, mix.centres, mix.std, 5)
  assert (got["modes"], got["num_modes"]) == (modes_, mix.num_modes)
  np.testing.assert_allclose([got["high_quality"], got["kl"]], [share, kl], rtol=1e-12)
  # The data itself covers every mode, nearly all samples high-quality, KL near 0.
  data = metrics.mixture_modes(mix.sample(2500, rng), mix.centres, mix.std)
  assert data["modes"] == mix.num_modes and data["high_quality"] > 0.98 and data["kl"] < 0.02


def test_mixtures_have_the_published_layouts():
  ring, grid = mixture.get("ring"), mixture.get("grid")
  np.testing.assert_allclose(np.linalg.norm(ring.centres, axis=1), 1.0)
  assert ring.num_modes == 8 and ring.std == 0.01
  assert grid.num_modes == 25 and grid.std == 0.05
  assert sorted(set(grid.centres[:, 0])) == [-4, -2, 0, 2, 4]
  np.testing.assert_array_equal(ring.batch(0, 5, 4), ring.batch(0, 5, 4))
  assert ring.batch(0, 5, 4).shape == (4, 1, 1, 2)
  with pytest.raises(ValueError, match="valid: ring, grid"):
    mixture.get("rings")
