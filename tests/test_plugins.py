"""The stabilisers' arithmetic against NumPy: noise schedule, clipping, averages (the EMA also
against StyleGAN2-ADA's formula), feature matching, replay, minibatch layers, spectral norm and
learning-rate schedules."""
import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import optimizers
from jaxgan.models import layers, minibatch
from jaxgan.plugins import averaging, constraints, feature_matching
from jaxgan.core.config_checks import ConfigError
from jaxgan.plugins.ema import GeneratorEma
from jaxgan.plugins.instance_noise import InstanceNoise
from jaxgan.plugins.protocol import RunFacts
from jaxgan.plugins.replay import BUFFER, FILLED, Replay


def test_instance_noise_schedule_and_statistics():
  noise = InstanceNoise(std=0.2, decay_steps=100)
  for step, expected in ((0, 0.2), (25, 0.15), (100, 0.0), (250, 0.0)):
    np.testing.assert_allclose(float(noise.std_at(step)), expected, rtol=1e-6, atol=1e-8)
  np.testing.assert_allclose(float(InstanceNoise(0.3, 0).std_at(10**6)), 0.3, rtol=1e-6)
  images = jnp.zeros((64, 8, 8, 1))
  added = np.asarray(noise.add(images, jax.random.PRNGKey(0), 0, None))
  assert abs(added.mean()) < 0.01 and abs(added.std() - 0.2) < 0.01
  assert InstanceNoise(0.0).add(images, jax.random.PRNGKey(0), 0, None) is images


def test_clip_weights_bounds_every_parameter():
  params = {"a": jnp.array([-1.0, 0.005, 2.0]), "b": {"c": jnp.array([[0.02, -0.003]])}}
  clipped = constraints.clip_weights(params, 0.01)
  np.testing.assert_array_equal(np.asarray(clipped["a"]), np.float32([-0.01, 0.005, 0.01]))
  np.testing.assert_array_equal(np.asarray(clipped["b"]["c"]), np.float32([[0.01, -0.003]]))


def test_ema_matches_recursion_with_warmup():
  rng = np.random.default_rng(0)
  thetas = rng.normal(size=(30, 4)).astype(np.float32)
  ema, expected = jnp.asarray(thetas[0]), thetas[0].astype(np.float64)
  for t in range(1, 30):
    decay = averaging.ema_decay_at(0.9, t)
    ema = averaging.update_ema(ema, jnp.asarray(thetas[t]), decay)
    d = min(0.9, (1 + t) / (10 + t))
    expected = d * expected + (1 - d) * thetas[t]
  np.testing.assert_allclose(np.asarray(ema), expected, rtol=1e-5)


def test_historical_average_is_the_mean_of_all_past_parameters():
  rng = np.random.default_rng(1)
  thetas = rng.normal(size=(12, 3)).astype(np.float32)
  average = jnp.asarray(thetas[0])
  for t in range(1, 12):
    average = averaging.update_param_average(average, jnp.asarray(thetas[t]), t, decay=0.0)
  np.testing.assert_allclose(np.asarray(average), thetas.mean(axis=0), rtol=1e-5)
  params = {"w": jnp.array([1.0, 2.0]), "b": jnp.array(3.0)}
  avg = {"w": jnp.array([0.0, 0.0]), "b": jnp.array(1.0)}
  assert float(averaging.historical_penalty(params, avg)) == pytest.approx(1 + 4 + 4)
  grad = jax.grad(averaging.historical_penalty)(params, avg)
  np.testing.assert_allclose(np.asarray(grad["w"]), [2.0, 4.0])


def test_feature_matching_value_and_device_layout():
  rng = np.random.default_rng(2)
  real = rng.normal(size=(8, 6)).astype(np.float32)
  fake = rng.normal(size=(8, 6)).astype(np.float32)
  expected = np.mean((real.mean(0) - fake.mean(0)) ** 2)
  whole = feature_matching.feature_matching_loss(jnp.asarray(real), jnp.asarray(fake), None)
  np.testing.assert_allclose(float(whole), expected, rtol=1e-5)

  # The gradient with respect to a shared parameter (fake features = fake * s), averaged over
  # devices as the train step does, equals the one-device gradient of the global loss.
  loss = lambda r, f, s, axis: feature_matching.feature_matching_loss(r, f * s, axis)
  s = jnp.linspace(0.5, 1.5, 6)
  one = jax.grad(loss, argnums=2)(jnp.asarray(real), jnp.asarray(fake), s, None)
  split = jax.pmap(lambda r, f: jax.lax.pmean(jax.grad(loss, argnums=2)(r, f, s, "i"), "i"),
                   axis_name="i", devices=jax.devices()[:4])(real.reshape(4, 2, 6),
                                                             fake.reshape(4, 2, 6))
  for device_grad in np.asarray(split):
    np.testing.assert_allclose(device_grad, np.asarray(one), rtol=1e-5, atol=1e-8)


def test_replay_fills_in_order_then_overwrites_distinct_random_slots():
  replay = Replay(size=6, fraction=1.0)
  extras = replay.init((1, 1, 1))
  batch = lambda v: jnp.full((4, 1, 1, 1), v, jnp.float32) + jnp.arange(4.0)[:, None, None,
                                                                               None] / 10
  # Empty buffer: nothing can be replayed, the fakes pass through.
  np.testing.assert_array_equal(np.asarray(replay.mix(extras, batch(1.0), jax.random.PRNGKey(0),
                                                      None)), np.asarray(batch(1.0)))
  extras, filled = replay.push(extras, batch(1.0), jax.random.PRNGKey(1), None)
  assert int(filled) == 4
  np.testing.assert_allclose(np.asarray(extras[BUFFER])[:4, 0, 0, 0], [1.0, 1.1, 1.2, 1.3])
  extras, filled = replay.push(extras, batch(2.0), jax.random.PRNGKey(2), None)
  assert int(filled) == 6  # Wrapped: slots 4, 5, 0, 1.
  np.testing.assert_allclose(np.asarray(extras[BUFFER])[:, 0, 0, 0],
                             [2.2, 2.3, 1.2, 1.3, 2.0, 2.1], rtol=1e-6)
  extras, _ = replay.push(extras, batch(3.0), jax.random.PRNGKey(3), None)
  values = [round(float(v), 1) for v in np.asarray(extras[BUFFER])[:, 0, 0, 0]]
  assert sorted(v for v in values if v >= 3) == [3.0, 3.1, 3.2, 3.3]  # 4 distinct slots.
  # fraction=1: every fake comes from the (full) buffer.
  mixed = np.asarray(replay.mix(extras, batch(9.0), jax.random.PRNGKey(4), None))[:, 0, 0, 0]
  assert {round(float(v), 1) for v in mixed} <= set(values)


def test_replay_fraction_is_respected_on_average():
  replay = Replay(size=512, fraction=0.25)
  extras = {BUFFER: jnp.ones((512, 1, 1, 1)), FILLED: jnp.int32(512)}
  mixed = replay.mix(extras, jnp.zeros((4000, 1, 1, 1)), jax.random.PRNGKey(0), None)
  assert abs(float(jnp.mean(mixed)) - 0.25) < 0.03


def test_minibatch_stddev_matches_numpy():
  x = np.random.default_rng(3).normal(size=(8, 3, 3, 2)).astype(np.float32)
  out = np.asarray(minibatch.MinibatchStddev(4).apply({}, jnp.asarray(x)))
  assert out.shape == (8, 3, 3, 3)
  np.testing.assert_array_equal(out[..., :2], x)
  for g in range(2):
    group = x[4 * g:4 * g + 4].astype(np.float64)
    expected = np.mean(np.sqrt(group.var(axis=0) + 1e-8))
    np.testing.assert_allclose(out[4 * g:4 * g + 4, ..., 2], expected, rtol=1e-5)
  with pytest.raises(ValueError, match="does not divide"):
    minibatch.MinibatchStddev(3).apply({}, jnp.asarray(x))


def test_minibatch_discrimination_matches_numpy_and_device_layout():
  x = np.random.default_rng(4).normal(size=(8, 5)).astype(np.float32)
  layer = minibatch.MinibatchDiscrimination(num_kernels=3, kernel_dim=2)
  variables = layer.init(jax.random.PRNGKey(0), jnp.asarray(x))
  out = np.asarray(layer.apply(variables, jnp.asarray(x)))
  t = np.asarray(variables["params"]["T"], np.float64)
  m = (x.astype(np.float64) @ t).reshape(8, 3, 2)
  expected = np.zeros((8, 3))
  for i in range(8):
    for j in range(8):
      if i != j:
        expected[i] += np.exp(-np.abs(m[i] - m[j]).sum(-1))
  np.testing.assert_allclose(out[:, 5:], expected, rtol=1e-5)
  np.testing.assert_array_equal(out[:, :5], x)
  sharded = minibatch.MinibatchDiscrimination(num_kernels=3, kernel_dim=2, axis_name="i")
  split = jax.pmap(lambda v: sharded.apply(variables, v), axis_name="i",
                   devices=jax.devices()[:4])(x.reshape(4, 2, 5))
  np.testing.assert_allclose(np.asarray(split).reshape(8, 8), out, rtol=1e-5)


def test_spectral_norm_normalises_the_largest_singular_value():
  x = jnp.ones((2, 10))

  class Wrapped(nn.Module):
    @nn.compact
    def __call__(self, x, train):
      return layers.maybe_spectral_norm(nn.Dense(6), True, x, train)

  module = Wrapped()
  variables = module.init(jax.random.PRNGKey(0), x, train=False)
  for _ in range(30):  # Power iterations, one per training call.
    _, updates = module.apply(variables, x, train=True, mutable=["batch_stats"])
    variables = {**variables, **updates}
  kernel = np.asarray(variables["params"]["Dense_0"]["kernel"], np.float64)
  # Applying the layer to the identity recovers its effective (normalised) kernel.
  eye = jnp.eye(10)
  effective = np.asarray(module.apply(variables, eye, train=False)) - np.asarray(
      module.apply(variables, jnp.zeros((10, 10)), train=False))
  sigma = np.linalg.svd(kernel, compute_uv=False)[0]
  np.testing.assert_allclose(np.linalg.svd(effective, compute_uv=False)[0], 1.0, rtol=1e-3)
  np.testing.assert_allclose(effective, kernel / sigma, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("name,kwargs,at", [
    ("constant", {"warmup_steps": 10}, {0: 0.0, 5: 0.5, 10: 1.0, 99: 1.0}),
    ("linear", {"end_factor": 0.1}, {0: 1.0, 50: 0.55, 100: 0.1}),
    ("cosine", {"warmup_steps": 20}, {0: 0.0, 10: 0.5, 20: 1.0, 60: 0.5, 100: 0.0}),
])
def test_schedules(name, kwargs, at):
  schedule = optimizers.SCHEDULES.get(name)(1.0, 100, **kwargs)
  for step, expected in at.items():
    np.testing.assert_allclose(float(schedule(step)), expected, atol=1e-6)


def test_gradient_clipping_and_bad_settings():
  opt = optimizers.make_optimizer("sgd", 1.0, {}, clip_grad_norm=1.0)
  params = {"w": jnp.zeros(2)}
  updates, _ = opt.update({"w": jnp.array([3.0, 4.0])}, opt.init(params), params)
  np.testing.assert_allclose(np.asarray(updates["w"]), [-0.6, -0.8], rtol=1e-6)
  with pytest.raises(ValueError, match="end_factor"):
    optimizers.make_optimizer("adam", 1e-3, {}, schedule="constant",
                              schedule_kwargs={"end_factor": 0.1})
  with pytest.raises(ValueError, match="constant, constant_then_linear, cosine, linear"):
    optimizers.make_optimizer("adam", 1e-3, {}, schedule="step")


def _reference_ema_beta(batch_size, ema_kimg, ema_rampup, cur_nimg):
  """StyleGAN2-ADA's training_loop.py, "Update G_ema", in plain Python (ema_rampup None: 0)."""
  ema_nimg = ema_kimg * 1000
  if ema_rampup:
    ema_nimg = min(ema_nimg, cur_nimg * ema_rampup)
  return 0.5 ** (batch_size / max(ema_nimg, 1e-8))


@pytest.mark.parametrize("rampup", [0.0, 0.05])
def test_ema_in_images_follows_stylegan2_ada(rampup):
  """The decay at several image counts, then the EMA itself over G's first updates: the
  first update copies G when ramped up (0 images shown before it)."""
  for images in (0, 32, 3_200, 64_000, 10**6):
    got = float(averaging.ema_decay_in_images(32, 10.0, rampup, images))
    assert got == pytest.approx(_reference_ema_beta(32, 10.0, rampup, images), rel=1e-6, abs=0)

  @flax.struct.dataclass
  class State:
    step: jax.Array
    params: jax.Array
    extras: dict

  ema = GeneratorEma.from_section(RunFacts(batch_size=8, model_name="x"), decay=0.0,
                                  kimg=0.05, rampup=rampup)
  rng = np.random.default_rng(0)
  thetas = rng.normal(size=(12, 3)).astype(np.float32)
  state = State(jnp.zeros((), jnp.int32), jnp.asarray(thetas[0]),
                ema.init_extras("g", State(0, jnp.asarray(thetas[0]), {}), None, False))
  expected = thetas[0].astype(np.float64)
  for t in range(1, 12):  # G's update t: the images before it are (t - 1) batches.
    state = state.replace(step=jnp.asarray(t, jnp.int32), params=jnp.asarray(thetas[t]))
    state = ema.after_update("g", state)
    beta = _reference_ema_beta(8, 0.05, rampup, (t - 1) * 8)
    expected = beta * expected + (1 - beta) * thetas[t]
    np.testing.assert_allclose(np.asarray(state.extras[averaging.EMA_PARAMS]), expected,
                               rtol=1e-5, err_msg=str(t))
  if rampup:  # n = min(50, 0) at the first update: beta 0, the average is G's copy.
    assert _reference_ema_beta(8, 0.05, rampup, 0) == 0.0


def test_ema_settings_are_one_or_the_other():
  run = RunFacts(batch_size=8, model_name="x")
  assert GeneratorEma.from_section(run, decay=0.999) == GeneratorEma(0.999)  # As before.
  assert GeneratorEma.from_section(run, decay=0.0) is None
  with pytest.raises(ConfigError, match="set one"):
    GeneratorEma.from_section(run, decay=0.999, kimg=10.0)
  with pytest.raises(ConfigError, match="set ema.kimg too"):
    GeneratorEma.from_section(run, decay=0.0, rampup=0.05)
  with pytest.raises(ConfigError, match="ema.kimg"):
    GeneratorEma.from_section(run, decay=0.0, kimg=-1.0)
