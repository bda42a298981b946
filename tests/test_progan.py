"""ProGAN: the growing networks against NumPy and the paper, the growth schedule by hand, the
progressive game's fade, resets, device independence, resume mid-fade and its errors."""
import functools
import json
import math
import os
import types

import flax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import models, sample, train
from jaxgan.core import random_streams
from jaxgan.data import pipeline, sources
from jaxgan.evaluation import generation
from jaxgan.experiment import builders
from jaxgan.games import growth, progressive, protocol
from jaxgan.losses import wasserstein
from jaxgan.models import progan, resampling
from jaxgan.runtime import parallel
from tests import helpers

# 8x8 images (MNIST resized): stages 4x4 and 8x8. At batch 8, 16 images at 4x4 and a fade of
# 24: phases (4x4 stable) steps 0-1, (8x8 fade-in) 2-4 (alpha 0, 1/3, 2/3), (8x8 stable) 5-.
PROGAN = {"model.name": "progan", "model.latent_dim": 8, "dataset.image_size": 8,
          "model.kwargs": {"fmap_base": 32, "fmap_max": 16, "minibatch_stddev_group": 2},
          "game.name": "progressive",
          "game.kwargs": {"stable_kimg": 0.016, "fade_kimg": 0.024},
          "loss.name": "wasserstein", "loss.kwargs": {"drift": 0.001},
          "penalty.name": "wgan_gp"}


def _pair(side=16, channels=1, **kwargs):
  kwargs = {"fmap_base": 64, "fmap_max": 16, **kwargs}
  return models.MODELS.get("progan")(image_shape=(side, side, channels), latent_dim=8,
                                     axis_name=None, **kwargs)


def _init(pair, side=16, channels=1, n=4):
  g_vars = pair.generator.init(jax.random.PRNGKey(0), jnp.zeros((n, 8)), train=False)
  d_vars = pair.discriminator.init(jax.random.PRNGKey(1), jnp.zeros((n, side, side, channels)),
                                   train=False)
  return g_vars, d_vars


# --- Layers against NumPy ------------------------------------------------------------------

def _conv_same_numpy(x, w):
  """Stride-1 'SAME' convolution, x [n, H, W, Ci], w [k, k, Ci, Co], odd k."""
  k = w.shape[0]
  p = k // 2
  padded = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
  out = np.zeros(x.shape[:3] + (w.shape[-1],))
  for dy in range(k):
    for dx in range(k):
      out += padded[:, dy:dy + x.shape[1], dx:dx + x.shape[2]] @ w[dy, dx]
  return out


def test_equalised_layers_draw_unit_normal_weights_and_scale_them_by_he_constant():
  x = np.random.default_rng(0).normal(size=(3, 5, 5, 6)).astype(np.float32)
  conv = progan.EqualizedConv(4, 3, gain=math.sqrt(2))
  variables = conv.init(jax.random.PRNGKey(0), x)
  w = np.asarray(variables["params"]["kernel"])
  bias = np.arange(4, dtype=np.float32)
  variables = {"params": {"kernel": w, "bias": bias}}
  expected = _conv_same_numpy(x, w * math.sqrt(2) / math.sqrt(3 * 3 * 6)) + bias
  np.testing.assert_allclose(conv.apply(variables, x), expected, rtol=1e-5, atol=1e-5)

  dense = progan.EqualizedDense(300, gain=0.5)
  params = dense.init(jax.random.PRNGKey(1), jnp.zeros((1, 400)))["params"]
  kernel = np.asarray(params["kernel"])
  assert abs(kernel.std() - 1.0) < 0.01 and abs(kernel.mean()) < 0.01  # N(0, 1), unscaled
  assert not np.any(params["bias"])
  h = np.random.default_rng(1).normal(size=(2, 400)).astype(np.float32)
  np.testing.assert_allclose(dense.apply({"params": params}, h),
                             h @ (kernel * 0.5 / 20.0), rtol=1e-4, atol=1e-5)


def test_pixel_norm_and_resampling_against_numpy():
  x = np.random.default_rng(0).normal(size=(2, 4, 4, 3)).astype(np.float32)
  np.testing.assert_allclose(progan.pixel_norm(x),
                             x / np.sqrt(np.mean(x ** 2, axis=-1, keepdims=True) + 1e-8),
                             rtol=1e-5)
  down = np.asarray(resampling.downscale(x, 2))
  np.testing.assert_allclose(down[1, 1, 0], x[1, 2:4, 0:2].mean(axis=(0, 1)), rtol=1e-6)
  up = np.asarray(resampling.upscale(down, 2))
  assert up.shape == x.shape and np.all(up[:, 2:4, 0:2] == down[:, 1:2, 0:1])
  # Leading axes (the batch's n_critic axis) pass through.
  assert resampling.downscale(np.zeros((3, 2, 8, 8, 1)), 4).shape == (3, 2, 2, 2, 1)


def test_the_papers_1024_networks_have_its_parameter_counts():
  """Table 2 of the paper: 23.1M parameters in G and in D (latent 512, fmap_base 8192)."""
  pair = models.MODELS.get("progan")(image_shape=(1024, 1024, 3), latent_dim=512,
                                     axis_name=None)
  g = jax.eval_shape(lambda: pair.generator.init(jax.random.PRNGKey(0), jnp.zeros((1, 512))))
  d = jax.eval_shape(lambda: pair.discriminator.init(jax.random.PRNGKey(0),
                                                     jnp.zeros((1, 1024, 1024, 3))))
  count = lambda tree: sum(x.size for x in jax.tree.leaves(tree))
  assert round(count(g["params"]) / 1e5) == 231
  assert round(count(d["params"]) / 1e5) == 231
  # Every resolution's layers exist from the start (the checkpoint never grows).
  names = set(g["params"])
  assert {f"to_rgb_{4 * 2 ** s}x{4 * 2 ** s}" for s in range(9)} <= names


# --- The fade-in -----------------------------------------------------------------------------

def test_generator_fade_in_runs_from_the_previous_stage_to_the_new_one():
  pair = _pair()
  g_vars, _ = _init(pair)
  z = jax.random.normal(jax.random.PRNGKey(2), (4, 8))
  at = lambda stage, alpha=None: np.asarray(
      pair.generator.clone(stage=stage, alpha=alpha).apply(g_vars, z))
  for stage in (1, 2):
    old, new = at(stage - 1), at(stage)
    assert old.shape == new.shape == (4, 16, 16, 1)
    np.testing.assert_array_equal(at(stage, 0.0), old)
    np.testing.assert_array_equal(at(stage, 1.0), new)
    np.testing.assert_allclose(at(stage, 0.25), 0.25 * new + 0.75 * old, rtol=1e-5, atol=1e-6)
  # A low stage's image is its 4x4 output, each pixel repeated over a 4x4 block.
  four = at(0)
  np.testing.assert_array_equal(four, np.repeat(np.repeat(four[:, ::4, ::4], 4, 1), 4, 2))
  # The full network is the last stage.
  np.testing.assert_array_equal(pair.generator.apply(g_vars, z), at(2))


def test_discriminator_fade_in_runs_from_the_previous_stage_to_the_new_one():
  pair = _pair()
  _, d_vars = _init(pair)
  x = jax.random.uniform(jax.random.PRNGKey(3), (4, 16, 16, 1), minval=-1, maxval=1)
  at = lambda stage, alpha=None: np.asarray(
      pair.discriminator.clone(stage=stage, alpha=alpha).apply(d_vars, x))
  for stage in (1, 2):
    old, new = at(stage - 1), at(stage)
    assert not np.allclose(old, new)
    np.testing.assert_allclose(at(stage, 0.0), old, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(at(stage, 1.0), new)
  # D at a low stage sees only the image averaged down to it.
  blocky = resampling.upscale(resampling.downscale(x, 4), 4)
  np.testing.assert_allclose(pair.discriminator.clone(stage=0).apply(d_vars, blocky), at(0),
                             rtol=1e-5, atol=1e-6)


def test_real_images_are_blended_like_the_generators_output():
  x = np.random.default_rng(0).uniform(-1, 1, (2, 3, 16, 16, 1)).astype(np.float32)
  block = lambda a, f: a.reshape(2, 3, 16 // f, f, 16 // f, f, 1).mean(axis=(3, 5))
  repeat = lambda a, f: a.repeat(f, axis=2).repeat(f, axis=3)
  x8, x4 = block(x, 2), block(x, 4)  # Stage 1 (8x8) of 16x16 images, and the stage below.
  expected = repeat(0.3 * x8 + 0.7 * repeat(x4, 2), 2)
  np.testing.assert_allclose(progressive.real_images_at(x, 1, 2, jnp.float32(0.3)), expected,
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(progressive.real_images_at(x, 1, 2, None), repeat(x8, 2),
                             rtol=1e-6)
  np.testing.assert_array_equal(progressive.real_images_at(x, 2, 2, None), x)


# --- The schedule ------------------------------------------------------------------------

def test_growth_schedule_by_hand():
  """Stages 4x4..16x16, stable 100 images, fade 50, 32 images per step: 4x4 for steps 0-3
  (images 0-127 < 100 at step 3's start: 96), fade to 8x8 at images 100-149 (step 4: 128),
  8x8 stable 150-249 (steps 5-7), fade to 16x16 250-299 (steps 8, 9), then 16x16."""
  schedule = growth.GrowthSchedule(0, 2, stable_images=100, fade_images=50,
                                   batch_sizes={0: 32, 1: 32, 2: 32})
  assert [(p.key, p.first_step, p.end_step) for p in schedule.phases] == [
      ((0, False), 0, 4), ((1, True), 4, 5), ((1, False), 5, 8), ((2, True), 8, 10),
      ((2, False), 10, None)]
  assert [schedule.phase_at(s).key for s in (0, 3, 4, 5, 7, 8, 9, 10, 10 ** 6)] == [
      (0, False), (0, False), (1, True), (1, False), (1, False), (2, True), (2, True),
      (2, False), (2, False)]
  fade = schedule.phase((2, True))
  assert float(fade.alpha(8)) == pytest.approx((8 * 32 - 250) / 50)
  assert float(fade.alpha(9)) == pytest.approx((9 * 32 - 250) / 50)
  assert float(schedule.phase((1, True)).alpha(4)) == pytest.approx(28 / 50)
  assert float(schedule.phase((2, False)).alpha(11)) == 1.0
  assert schedule.milestones(12) == {4: "4x4", 8: "8x8", 12: "16x16"}
  assert schedule.milestones(6) == {4: "4x4", 6: "8x8"}
  # No fade-in: straight from one stable phase to the next; initial resolution 8x8.
  assert [p.key for p in growth.GrowthSchedule(1, 2, 64, 0, {1: 32, 2: 32}).phases] == [
      (1, False), (2, False)]
  with pytest.raises(ValueError, match="no growth phase"):
    schedule.phase((3, True))


def test_growth_schedule_with_a_batch_per_resolution_by_hand():
  """Batch 64 at 4x4, 16 at 8x8, n_critic 2 (128 and 32 images per step); stable 300 images,
  fade 100: 4x4 for steps 0-2 (images 0, 128, 256 < 300), the fade-in at 8x8's batch for
  step 3 (384 images shown, 416 after it >= 400), then 8x8 stable (the last stage: to the
  end)."""
  schedule = growth.GrowthSchedule(0, 1, stable_images=300, fade_images=100,
                                   batch_sizes={0: 64, 1: 16}, n_critic=2)
  assert [(p.key, p.first_step, p.end_step, p.first_image, p.batch_size)
          for p in schedule.phases] == [((0, False), 0, 3, 0, 64), ((1, True), 3, 4, 384, 16),
                                        ((1, False), 4, None, 416, 16)]
  fade = schedule.phase((1, True))
  assert float(fade.alpha(3)) == pytest.approx(0.84)  # (384 - 300) / 100: began mid-step.
  assert fade.images_before(3) == 384
  assert schedule.phase((1, False)).images_before(10) == 416 + 6 * 32


def test_the_data_stream_follows_a_changing_batch():
  """With a plan, step s reads stream positions [first, first + n_critic * B) of the same
  epoch permutations, each process its rows of every D batch."""
  data = sources.ImageData(images=np.arange(50, dtype=np.uint8).reshape(50, 1, 1, 1),
                           labels=None, num_classes=0)
  plan = lambda step: (step * 16, 8) if step < 2 else (32 + (step - 2) * 8, 4)
  make = lambda process: pipeline.StepBatches(
      data, seed=3, global_batch_size=8, n_critic=2, process_index=process,
      local_device_count=1, global_device_count=2, plan=plan)
  stream = np.random.default_rng([3, 0]).permutation(50)
  first, second = make(0), make(1)
  # Step 2: positions 32..39 in two D batches of 4; process 0 holds rows 0-1 of each.
  np.testing.assert_array_equal(first.example_indices(2), [stream[32:34], stream[36:38]])
  np.testing.assert_array_equal(second.example_indices(2), [stream[34:36], stream[38:40]])
  np.testing.assert_array_equal(first.example_indices(1), [stream[16:20], stream[24:28]])
  assert first.batch(2)["image"].shape == (1, 2, 2, 1, 1, 1)


# --- The game ------------------------------------------------------------------------------

def _experiment(**overrides):
  config = helpers.tiny_config(**{**PROGAN, **overrides})
  return config, builders.build(config, (8, 8, 1))


@functools.lru_cache(maxsize=None)
def _plain_run():
  """Four steps on one device (the tests below share it): 4x4, 4x4, then fading in 8x8."""
  return _run_programs(1, 4)


def _run_programs(num_devices, steps, **overrides):
  """`steps` train steps of the tiny ProGAN on `num_devices` devices, each in its phase's
  program, on random images; returns the host states after each step."""
  config, experiment = _experiment(**overrides)
  game = experiment.game
  states = jax.tree.map(lambda x: np.stack([np.asarray(x)] * num_devices),
                        experiment.init_states())
  keys = jax.tree.map(lambda x: np.stack([x] * num_devices), random_streams.base_key(config.seed))
  rng = np.random.default_rng(0)
  compiled, history = {}, []
  for step in range(steps):
    program = protocol.growth_of(game).program(step)
    if program not in compiled:
      compiled[program] = experiment.pmapped_step(program=program,
                                                  devices=jax.devices()[:num_devices])
    images = rng.uniform(-1, 1, (1, config.batch_size, 8, 8, 1)).astype(np.float32)
    batch = {"image": images.reshape(1, num_devices, -1, 8, 8, 1).swapaxes(0, 1)}
    states, metrics = compiled[program](states, batch, keys)
    history.append((jax.device_get(parallel.unreplicate(states)),
                    jax.device_get(parallel.unreplicate(metrics))))
  return experiment, history


@pytest.mark.slow  # ~19 s each (the default suite keeps under 10 minutes on 2 cores)
@pytest.mark.parametrize("num_devices", [2, 4])
def test_progressive_steps_are_the_same_on_1_2_and_4_devices(num_devices):
  _, one = _plain_run()
  _, many = _run_programs(num_devices, 4)
  # Float rounding only: the device sum's order. Adam's step is lr * m / sqrt(v), ~lr
  # (2e-4) where moments are fresh (steps 0 and 2), so a near-zero gradient's rounding moves
  # a parameter by a fraction of that; a layout-dependent result (e.g. minibatch-stddev
  # groups crossing devices) moves most of them by ~lr, and the losses.
  for (a, metrics_a), (b, metrics_b) in zip(one, many):
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=2e-5, atol=5e-5),
                 flax.serialization.to_state_dict(a), flax.serialization.to_state_dict(b))
    for name in ("d_loss", "g_loss", "d_penalty"):
      assert metrics_a[name] == pytest.approx(metrics_b[name], rel=1e-4, abs=1e-5)
  assert [m["resolution"] for _, m in one] == [4, 4, 8, 8]
  assert [m["fade_alpha"] for _, m in one] == pytest.approx([1, 1, 0, 1 / 3])


def test_without_growing_the_progressive_game_is_the_standard_game():
  """initial_resolution = the data's side: one phase, the standard step on the full network
  (two programs: equal to float rounding, helpers.assert_states_close)."""
  full = {"game.kwargs": {**PROGAN["game.kwargs"], "initial_resolution": 8}}
  _, grown = _run_programs(1, 2, **full)
  _, standard = _run_programs(1, 2, **{"game.name": "standard", "game.kwargs": {}})
  for (a, _), (b, _) in zip(grown, standard):
    a["g"] = a["g"].replace(model_state={k: v for k, v in a["g"].model_state.items()
                                         if k != "growth"})
    helpers.assert_states_close(a, b)


def test_optimizer_moments_reset_when_a_phase_begins_and_growth_state_follows():
  _, history = _plain_run()
  counts = [int(states["d"].opt_state[0].count) for states, _ in history]  # Adam's count
  assert counts == [1, 2, 1, 2]  # Step 2 begins the fade-in: fresh moments.
  grown = [s["g"].model_state["growth"] for s, _ in history]
  assert [float(g["stage"]) for g in grown] == [0, 0, 1, 1]
  assert [float(g["alpha"]) for g in grown] == pytest.approx([1, 1, 0, 1 / 3])
  _, kept = _run_programs(1, 4, **{"game.kwargs": {**PROGAN["game.kwargs"],
                                                   "reset_optimizer": False}})
  assert [int(s["d"].opt_state[0].count) for s, _ in kept] == [1, 2, 3, 4]


@pytest.mark.slow
def test_learning_rate_scale_of_a_resolution_scales_its_updates():
  """D's first update at 4x4 with scale 2 moves its parameters exactly twice as far (Adam's
  step is proportional to its rate)."""
  _, plain = _run_programs(1, 1)
  _, doubled = _run_programs(1, 1, **{"game.kwargs": {**PROGAN["game.kwargs"],
                                                      "learning_rate_scales": {4: 2.0}}})
  _, experiment_states = _experiment()
  initial = experiment_states.init_states()["d"].params
  delta = lambda states: jax.tree.map(lambda a, b: np.asarray(a) - np.asarray(b),
                                      states[0][0]["d"].params, initial)
  # Up to the rounding of parameters ~N(0, 1) in float32 (~1e-7).
  jax.tree.map(lambda a, b: np.testing.assert_allclose(b, 2 * a, rtol=1e-4, atol=5e-7),
               delta(plain), delta(doubled))


def test_sampling_follows_the_stage_the_generator_reached():
  experiment, history = _plain_run()  # The last, step 3, at 8x8 with alpha 1/3.
  game = experiment.game
  states = history[-1][0]
  variables = states["g"].sampling_variables()
  inputs = game.sample_inputs(jax.random.PRNGKey(0), 3)
  images = np.asarray(generation.jitted_generate(game)(variables, inputs))
  params = {k: v for k, v in variables.items() if k != "growth"}
  expected = game.sampling_pair.generator.clone(stage=1, alpha=jnp.float32(1 / 3)).apply(
      params, inputs["z"])
  np.testing.assert_allclose(images, np.clip(expected, -1, 1), rtol=1e-5, atol=1e-6)
  assert images.shape == (3, 8, 8, 1)


@pytest.mark.slow  # Three runs: ~30 s.
def test_training_resumed_mid_fade_equals_uninterrupted(tmp_path, mnist_dir):
  """With batch 16 at 4x4 (one step of 16 images), 8 at 8x8: the fade-in is steps 1-3."""
  grow = {"game.kwargs": {**PROGAN["game.kwargs"], "batch_sizes": {4: 16}}}
  config = lambda steps: helpers.tiny_config(mnist_dir, num_train_steps=steps,
                                             checkpoint_every_steps=3, **{**PROGAN, **grow})
  straight = train.train_and_evaluate(config(5), str(tmp_path / "straight"))
  workdir = str(tmp_path / "resumed")
  train.train_and_evaluate(config(3), workdir)  # Stops one step into the fade-in.
  resumed = train.train_and_evaluate(config(5), workdir)
  jax.tree.map(np.testing.assert_array_equal,
               flax.serialization.to_state_dict(straight["states"]),
               flax.serialization.to_state_dict(resumed["states"]))
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    records = [json.loads(line) for line in f]
  assert [(r["step"], r["resolution"]) for r in records] == [(2, 8), (3, 8), (4, 8), (5, 8)]
  assert [r["fade_alpha"] for r in records] == pytest.approx([0, 1 / 3, 2 / 3, 1])
  # The fixed latents at the end of 4x4 (step 1) and of 8x8 (the end), side by side. (The
  # first run's end, step 3, was one for it, and is left out of the picture now.)
  assert sorted(os.listdir(os.path.join(workdir, "samples", "milestones"))) == [
      "step_0000001.npz", "step_0000003.npz", "step_0000005.npz"]
  assert os.path.isfile(os.path.join(workdir, "milestones.png"))
  # jaxgan.sample reads the checkpoint's stage: 8x8 now, at full size; --grid draws the
  # samples of an unconditional model (it used to refuse: one row per class only).
  grid = os.path.join(workdir, "grid.png")
  images, classes = sample.generate(workdir, 3, grid_path=grid)
  assert images.shape == (3, 8, 8, 1) and images.dtype == np.uint8 and classes is None
  assert os.path.isfile(grid)


def test_a_dispatch_of_several_steps_never_crosses_a_phase():
  """config.steps_per_dispatch=4 with a program change at step 6: steps 4-7 run one by one."""
  experiment = types.SimpleNamespace(
      settings=types.SimpleNamespace(steps_per_dispatch=4, num_train_steps=14,
                                     dataset=types.SimpleNamespace(prefetch=2)),
      game=types.SimpleNamespace(program=lambda step: step >= 6))
  dispatcher = train._Dispatcher(experiment, batches=None)  # pylint: disable=protected-access
  assert [dispatcher.size(step) for step in (0, 4, 5, 6, 7, 8, 12)] == [4, 1, 1, 1, 1, 4, 1]
  assert dispatcher._upcoming(4) == [(4, 1), (5, 1)]  # What is prefetched: the next 2 calls.
  dispatcher.close()


# --- Bad input ---------------------------------------------------------------------------

@pytest.mark.parametrize("overrides, message", [
    ({"dataset.image_size": 0}, r"side 4 \* 2\^k .*image_size=32"),
    ({"model.name": "tiny", "model.kwargs": {}}, "needs a growing architecture"),
    ({"game.kwargs": {"initial_resolution": 16}}, r"initial_resolution=16: valid .*\[4, 8\]"),
    ({"game.kwargs": {"learning_rate_scales": {12: 1.0}}}, r"\[12\] are not resolutions"),
    ({"game.kwargs": {"learning_rate_scales": {4: 0.0}}}, "every value must be > 0"),
    ({"game.kwargs": {"fade_kimg": -1.0}}, "fade_kimg must be >= 0"),
    ({"game.kwargs": {"batch_sizes": {4: 6}}}, r"batch 6 \(.*\) must be a multiple of the 4 "),
    ({"game.kwargs": {"batch_sizes": {8: 12}}}, r"leaves 3 images per device, which D's "),
    ({"game.kwargs": {"batch_sizes": {16: 8}}}, r"\[16\] are not resolutions of 8x8"),
    ({"model.num_classes": 10}, "unconditional"),
])
def test_bad_progressive_settings_are_named_before_training(tmp_path, mnist_dir, overrides,
                                                            message):
  config = helpers.tiny_config(mnist_dir, **{**PROGAN, **overrides})
  with pytest.raises(builders.ConfigError, match=message):
    train.train_and_evaluate(config, str(tmp_path / "w"))
  assert not os.path.exists(tmp_path / "w" / "checkpoints")


def test_wasserstein_drift_term_by_hand():
  real, fake = jnp.array([1.0, 3.0]), jnp.array([0.5, -0.5])
  out = wasserstein(real, fake, drift=0.01)
  assert float(out.d) == pytest.approx(0.0 - 2.0 + 0.01 * 5.0)
  assert float(out.aux["drift"]) == pytest.approx(5.0)
  assert float(out.g) == 0.0
  assert "drift" not in wasserstein(real, fake).aux
