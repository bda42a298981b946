"""Loss values against hand computation (including +-100 logits) and gradient checks."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxgan import losses


def np_softplus(x):
  return math.log1p(math.exp(x)) if x < 30 else x + math.log1p(math.exp(-x))


@pytest.mark.parametrize("x", [-100.0, -5.0, -1e-3, 0.0, 0.7, 20.0, 100.0])
def test_softplus_matches_log1p_exp(x):
  np.testing.assert_allclose(float(losses.softplus(jnp.float32(x))), np_softplus(x),
                             rtol=1e-6, atol=1e-30)


def test_non_saturating_hand_computed():
  real = jnp.array([2.0, -1.0])
  fake = jnp.array([0.5, -3.0])
  out = losses.non_saturating(real, fake)
  # -log sigmoid(r) = log(1 + e^-r); -log(1 - sigmoid(f)) = log(1 + e^f).
  d = (math.log1p(math.exp(-2)) + math.log1p(math.exp(1))) / 2 + (
      math.log1p(math.exp(0.5)) + math.log1p(math.exp(-3))) / 2
  g = (math.log1p(math.exp(-0.5)) + math.log1p(math.exp(3))) / 2
  np.testing.assert_allclose(float(out.d), d, rtol=1e-6)
  np.testing.assert_allclose(float(out.g), g, rtol=1e-6)


def test_minimax_hand_computed():
  real = jnp.array([1.0])
  fake = jnp.array([-2.0])
  out = losses.minimax(real, fake)
  np.testing.assert_allclose(float(out.d), math.log1p(math.exp(-1)) + math.log1p(math.exp(-2)),
                             rtol=1e-6)
  # g = E[log(1 - sigmoid(f))] = -log(1 + e^f).
  np.testing.assert_allclose(float(out.g), -math.log1p(math.exp(-2)), rtol=1e-6)


@pytest.mark.parametrize("name", ["non_saturating", "minimax"])
def test_extreme_logits_are_finite_and_exact(name):
  fn = losses.LOSSES.get(name)
  real = jnp.array([100.0, -100.0])
  fake = jnp.array([100.0, -100.0])
  out = fn(real, fake)
  # d = mean(softplus(-real)) + mean(softplus(fake)) = (0 + 100)/2 + (100 + 0)/2 (e^-100 ~ 0).
  np.testing.assert_allclose(float(out.d), 100.0, rtol=1e-6)
  expected_g = 50.0 if name == "non_saturating" else -50.0
  np.testing.assert_allclose(float(out.g), expected_g, rtol=1e-6)
  grads = jax.grad(lambda r, f: fn(r, f).d + fn(r, f).g, argnums=(0, 1))(real, fake)
  assert all(bool(jnp.all(jnp.isfinite(g))) for g in grads)


def test_non_saturating_gradient_is_sigmoid():
  # d/df softplus(-f) = -sigmoid(-f): the non-saturating G gradient stays ~-1 at f = -100.
  fake = jnp.array([-100.0, 0.0, 3.0])
  grad = jax.grad(lambda f: losses.non_saturating(jnp.zeros(3), f).g)(fake)
  np.testing.assert_allclose(np.asarray(grad), -np.asarray(jax.nn.sigmoid(-fake)) / 3,
                             rtol=1e-6)
  # The minimax G gradient vanishes there instead: d/df -softplus(f) = -sigmoid(f).
  grad_mm = jax.grad(lambda f: losses.minimax(jnp.zeros(3), f).g)(fake)
  np.testing.assert_allclose(np.asarray(grad_mm), -np.asarray(jax.nn.sigmoid(fake)) / 3,
                             rtol=1e-6)


@pytest.mark.parametrize("name", ["non_saturating", "minimax"])
def test_check_grads(name):
  fn = losses.LOSSES.get(name)
  real = jnp.array([0.3, -1.2, 2.0], jnp.float64) if jax.config.jax_enable_x64 else jnp.array(
      [0.3, -1.2, 2.0])
  fake = real[::-1] * 0.5
  check_grads(lambda r, f: fn(r, f).d, (real, fake), order=1, modes=["rev"], atol=1e-2,
              rtol=1e-2)
  check_grads(lambda r, f: fn(r, f).g, (real, fake), order=1, modes=["rev"], atol=1e-2,
              rtol=1e-2)


def test_unknown_loss_lists_valid_names():
  with pytest.raises(ValueError, match="minimax, non_saturating"):
    losses.LOSSES.get("non_saturatin")
