"""The simultaneous update order (the TensorFlow DCGAN tutorial's step): both players'
updates from one forward pass equal the two separate updates made from the same states."""
import functools

import flax
import jax
import numpy as np
import pytest

from jaxgan.core import random_streams
from jaxgan.experiment import builders
from jaxgan.runtime import parallel
from tests import helpers

IMAGE_SHAPE = (8, 8, 1)
BATCH = 8

# The stabilisers the simultaneous order accepts, each active in one step. Spectral norm is
# added only where the two orders are not compared: in one pass G sees the fake logits of
# D's own pass, whose power iteration has already been advanced by D's real pass, where
# g_update's D starts again from the stored vectors (both are estimates of the same sigma).
STABILISED = {
    "loss.name": "wasserstein", "penalty.name": "wgan_gp", "penalty.weight": 1.0,
    "instance_noise.std": 0.1, "instance_noise.decay_steps": 10,
    "historical_averaging.weight": 0.01, "ema.decay": 0.9, "d_weight_clip": 0.5,
    "g_optimizer.clip_grad_norm": 1.0,
}
CONDITIONAL = {"model.num_classes": 3, "model.generator_conditioning": "batch_norm",
               "model.discriminator_conditioning": "projection"}


def _close(a, b, rtol=1e-5, atol=1e-6):
  a, b = flax.serialization.to_state_dict(a), flax.serialization.to_state_dict(b)
  jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=rtol, atol=atol), a, b)


@pytest.mark.parametrize("overrides", [{}, STABILISED, CONDITIONAL],
                         ids=["plain", "stabilised", "conditional"])
def test_one_pass_equals_separate_updates_from_the_same_states(overrides):
  """simultaneous_update(g, d) == (g_update(g, d), d_update(g, d)) with one key: G's
  gradient is taken through the D of before the step, as in the tutorial's two tapes."""
  config = helpers.tiny_config(batch_size=BATCH, n_critic=1, **overrides)
  experiment = builders.build(config, IMAGE_SHAPE)
  game, states = experiment.game, experiment.init_states()
  g_state, d_state = states["g"], states["d"]
  rng = np.random.default_rng(1)
  real = rng.uniform(-1, 1, (2, BATCH // 2, *IMAGE_SHAPE)).astype(np.float32)
  labels = (rng.integers(0, 3, (2, BATCH // 2)).astype(np.int32) if overrides is CONDITIONAL
            else None)

  def both_ways(g, d, real, key, labels):
    step = g.step
    joint = game.simultaneous_update(g, d, real, key, step, labels)
    new_d, d_metrics = game.d_update(g, d, real, key, step, labels)
    new_g, g_metrics = game.g_update(g, d, real, key, step, labels)
    return joint, (new_g, new_d, d_metrics, g_metrics)

  stack = lambda tree: jax.tree.map(lambda x: np.stack([np.asarray(x)] * 2), tree)
  key = random_streams.base_key(3)
  run = jax.pmap(both_ways, axis_name=parallel.AXIS_NAME, devices=jax.devices()[:2])
  joint, separate = jax.device_get(parallel.unreplicate(run(
      stack(g_state), stack(d_state), real, stack(key), labels)))
  for got, want in zip(joint, separate):
    _close(got, want)
  g_params, d_params = joint[0].params, joint[1].params
  moved = lambda a, b: any(jax.tree.leaves(jax.tree.map(lambda x, y: not np.allclose(x, y),
                                                        a, b)))
  assert moved(g_params, g_state.params) and moved(d_params, d_state.params)
  assert set(joint[2]) == set(separate[2]) and set(joint[3]) == set(separate[3])


def test_one_pass_differs_from_the_alternating_step():
  """A control for the test above: G's update through the *updated* D (alternating) is a
  different step, so the equality there is not vacuous."""
  alternating = helpers.run_pmapped_steps(1, IMAGE_SHAPE, 1, 1, BATCH)[0]
  simultaneous = helpers.run_pmapped_steps(1, IMAGE_SHAPE, 1, 1, BATCH,
                                           update_order="simultaneous")[0]
  _close(alternating[1], simultaneous[1])  # D's update: the same in both orders.
  with pytest.raises(AssertionError):
    _close(alternating[0].params, simultaneous[0].params)


def test_simultaneous_step_same_on_1_2_and_4_devices():
  run = functools.partial(helpers.run_pmapped_steps, image_shape=IMAGE_SHAPE, num_steps=3,
                          n_critic=1, batch=BATCH, update_order="simultaneous",
                          **STABILISED, **{"model.kwargs.spectral_norm": True})
  (g1, d1), m1, _ = run(1)
  assert m1[-1]["all_finite"] == 1.0
  for num_devices in (2, 4):
    (gn, dn), mn, _ = run(num_devices)
    _close(g1, gn, rtol=1e-4, atol=2e-5)  # Adam's first steps magnify summation-order noise.
    _close(d1, dn, rtol=1e-4, atol=2e-5)
    for name in ("d_loss", "g_loss", "d_penalty", "g_historical"):
      np.testing.assert_allclose([m[name] for m in m1], [m[name] for m in mn], rtol=2e-5,
                                 atol=2e-6, err_msg=f"{name} on {num_devices} devices")


@pytest.mark.parametrize("overrides, named", [
    ({"update_order": "simultanous"}, "must be one of"),
    ({"update_order": "simultaneous", "n_critic": 5}, "config.n_critic > 1"),
    ({"update_order": "simultaneous", "replay.buffer_size": 8,
      "balance.enabled": True}, "config.replay, config.balance"),
    ({"update_order": "simultaneous", "feature_matching.weight": 1.0},
     "config.feature_matching"),
])
def test_bad_update_orders_fail_before_compiling(overrides, named):
  with pytest.raises(builders.ConfigError, match=named):
    builders.check_config(helpers.tiny_config(**overrides))
