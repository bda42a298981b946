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


ALL_LOSSES = ["non_saturating", "minimax", "least_squares", "wasserstein", "hinge",
              "relativistic_average"]


def _np_softplus(x):
  return np.logaddexp(x, 0.0)


def _np_bce(x, t):
  return t * _np_softplus(-x) + (1 - t) * _np_softplus(x)


def reference(name, r, f, **kw):
  """Independent float64 NumPy versions of every loss, written from the papers' formulas."""
  r, f = np.asarray(r, np.float64), np.asarray(f, np.float64)
  if name in ("non_saturating", "minimax"):
    rl, fl = kw.get("real_label", 1.0), kw.get("fake_label", 0.0)
    d = np.mean(_np_bce(r, rl)) + np.mean(_np_bce(f, fl))
    # G: -log D(G(z)) or log(1 - D(G(z))) with D = sigmoid.
    g = np.mean(_np_softplus(-f)) if name == "non_saturating" else -np.mean(_np_softplus(f))
  elif name == "least_squares":
    a, b, c = kw.get("a", 0.0), kw.get("b", 1.0), kw.get("c", 1.0)
    d = 0.5 * np.mean((r - b) ** 2) + 0.5 * np.mean((f - a) ** 2)
    g = 0.5 * np.mean((f - c) ** 2)
  elif name == "wasserstein":
    d, g = np.mean(f) - np.mean(r), -np.mean(f)
  elif name == "hinge":
    d = np.mean(np.maximum(0, 1 - r)) + np.mean(np.maximum(0, 1 + f))
    g = -np.mean(f)
  elif name == "relativistic_average":
    rr, ff = r - np.mean(f), f - np.mean(r)
    d = -np.mean(-_np_softplus(-rr)) - np.mean(-_np_softplus(ff))  # log sig(x) = -sp(-x)
    g = -np.mean(-_np_softplus(-ff)) - np.mean(-_np_softplus(rr))
  return d, g


@pytest.mark.parametrize("name", ALL_LOSSES)
@pytest.mark.parametrize("scale", [1.0, 100.0])
def test_matches_numpy_reference(name, scale):
  rng = np.random.default_rng(7)
  r = (rng.normal(size=16) * scale).astype(np.float32)
  f = (rng.normal(size=16) * scale).astype(np.float32)
  if scale == 100.0:  # Include the extremes exactly.
    r[:2], f[:2] = [100.0, -100.0], [-100.0, 100.0]
  out = losses.LOSSES.get(name)(jnp.asarray(r), jnp.asarray(f))
  d, g = reference(name, r, f)
  np.testing.assert_allclose(float(out.d), d, rtol=2e-5, atol=1e-5)
  np.testing.assert_allclose(float(out.g), g, rtol=2e-5, atol=1e-5)
  grads = jax.grad(lambda a, b: losses.LOSSES.get(name)(a, b).d +
                   losses.LOSSES.get(name)(a, b).g, argnums=(0, 1))(jnp.asarray(r),
                                                                  jnp.asarray(f))
  assert all(bool(jnp.all(jnp.isfinite(x))) for x in grads)


@pytest.mark.parametrize("kw", [{"real_label": 0.9}, {"real_label": 0.9, "fake_label": 0.1}])
def test_label_smoothing_values(kw):
  r, f = np.array([2.0, -0.5], np.float32), np.array([0.3, -4.0], np.float32)
  out = losses.non_saturating(jnp.asarray(r), jnp.asarray(f), **kw)
  np.testing.assert_allclose(float(out.d), reference("non_saturating", r, f, **kw)[0],
                             rtol=1e-6)
  # Hand value of one term: BCE(2, 0.9) = 0.9 log(1 + e^-2) + 0.1 log(1 + e^2).
  one = losses.binary_cross_entropy(jnp.float32(2.0), 0.9)
  np.testing.assert_allclose(float(one), 0.9 * math.log1p(math.exp(-2)) +
                             0.1 * math.log1p(math.exp(2)), rtol=1e-6)
  # With smoothing, D's optimum on a real is logit log(0.9/0.1), not +infinity.
  grad = jax.grad(lambda x: losses.binary_cross_entropy(x, 0.9))(jnp.float32(math.log(9.0)))
  np.testing.assert_allclose(float(grad), 0.0, atol=1e-6)


def test_label_outside_unit_interval_is_refused():
  with pytest.raises(ValueError, match="real_label"):
    losses.non_saturating(jnp.zeros(2), jnp.zeros(2), real_label=1.5)


def test_least_squares_pearson_coding_and_gradient():
  r, f = jnp.array([0.5, 2.0]), jnp.array([-1.0, 0.0])
  out = losses.least_squares(r, f, a=-1.0, b=1.0, c=0.0)
  # d = 1/2 mean((r-1)^2) + 1/2 mean((f+1)^2) = 1/2 * (0.25+1)/2 + 1/2 * (0+1)/2
  np.testing.assert_allclose(float(out.d), 0.3125 + 0.25, rtol=1e-6)
  np.testing.assert_allclose(float(out.g), 0.5 * (1.0 + 0.0) / 2, rtol=1e-6)
  # Analytic: dd/dr_i = (r_i - b) / n.
  grad = jax.grad(lambda x: losses.least_squares(x, f, a=-1.0, b=1.0, c=0.0).d)(r)
  np.testing.assert_allclose(np.asarray(grad), (np.asarray(r) - 1.0) / 2, rtol=1e-6)


def test_hinge_and_wasserstein_analytic_gradients():
  r, f = jnp.array([0.5, 2.0, -3.0]), jnp.array([-2.0, 0.0, 0.5])
  # Hinge: dd/dr_i = -1/n where r_i < 1; dd/df_i = 1/n where f_i > -1.
  gr, gf = jax.grad(lambda a, b: losses.hinge(a, b).d, argnums=(0, 1))(r, f)
  np.testing.assert_allclose(np.asarray(gr), [-1 / 3, 0, -1 / 3], rtol=1e-6)
  np.testing.assert_allclose(np.asarray(gf), [0, 1 / 3, 1 / 3], rtol=1e-6)
  out = losses.wasserstein(r, f)
  # E[r] - E[f] = (-0.5 / 3) - (-1.5 / 3) = 1/3.
  np.testing.assert_allclose(float(out.aux["wasserstein_estimate"]), 1 / 3, rtol=1e-6)
  gr, gf = jax.grad(lambda a, b: losses.wasserstein(a, b).d, argnums=(0, 1))(r, f)
  np.testing.assert_allclose(np.asarray(gr), [-1 / 3] * 3, rtol=1e-6)
  np.testing.assert_allclose(np.asarray(gf), [1 / 3] * 3, rtol=1e-6)


def test_relativistic_average_couples_the_batch():
  # Shifting every logit by the same constant changes nothing: only differences matter.
  r, f = jnp.array([1.0, -0.5, 2.0]), jnp.array([0.2, -1.0, 0.4])
  a, b = losses.relativistic_average(r, f), losses.relativistic_average(r + 5.0, f + 5.0)
  np.testing.assert_allclose([float(a.d), float(a.g)], [float(b.d), float(b.g)], rtol=1e-5)
  # And G's loss depends on the real logits.
  grad_real = jax.grad(lambda x: losses.relativistic_average(x, f).g)(r)
  assert float(jnp.abs(grad_real).sum()) > 0


@pytest.mark.parametrize("name", ALL_LOSSES)
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
