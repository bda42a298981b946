"""Gradient penalties on critics whose input gradient is known in closed form."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import penalties

SHAPE = (5, 3, 3, 2)  # [n, H, W, C]


def _data(seed=0):
  rng = np.random.default_rng(seed)
  real = jnp.asarray(rng.uniform(-1, 1, SHAPE), jnp.float32)
  fake = jnp.asarray(rng.uniform(-1, 1, SHAPE), jnp.float32)
  keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.PRNGKey(seed), i))(jnp.arange(5))
  return real, fake, keys


def linear_critic(w, b=0.3):
  """D(x) = <w, x> + b: grad_x D = w for every x."""
  return lambda x: jnp.sum(x * w, axis=(1, 2, 3)) + b


def quadratic_critic(a):
  """D(x) = 1/2 sum a * x^2: grad_x D = a * x."""
  return lambda x: 0.5 * jnp.sum(a * jnp.square(x), axis=(1, 2, 3))


def _w(seed=1):
  return jnp.asarray(np.random.default_rng(seed).normal(size=SHAPE[1:]), jnp.float32)


@pytest.mark.parametrize("name,expected", [
    ("wgan_gp", lambda w: (np.linalg.norm(w) - 1) ** 2),
    ("dragan", lambda w: (np.linalg.norm(w) - 1) ** 2),
    ("r1", lambda w: np.sum(np.square(w))),
    ("r2", lambda w: np.sum(np.square(w))),
])
def test_linear_critic_values(name, expected):
  real, fake, keys = _data()
  w = _w()
  out = penalties.PENALTIES.get(name)(linear_critic(w), real, fake, keys)
  assert out.shape == (5,)
  np.testing.assert_allclose(np.asarray(out), np.full(5, expected(np.asarray(w, np.float64))),
                             rtol=1e-5)


def test_r1_and_r2_on_quadratic_critic():
  real, fake, keys = _data()
  a = jnp.abs(_w()) + 0.1
  an, rn, fn = (np.asarray(v, np.float64) for v in (a, real, fake))
  r1 = penalties.r1(quadratic_critic(a), real, fake, keys)
  r2 = penalties.r2(quadratic_critic(a), real, fake, keys)
  np.testing.assert_allclose(np.asarray(r1), np.sum((an * rn) ** 2, axis=(1, 2, 3)), rtol=1e-5)
  np.testing.assert_allclose(np.asarray(r2), np.sum((an * fn) ** 2, axis=(1, 2, 3)), rtol=1e-5)


def test_wgan_gp_on_quadratic_critic_uses_interpolates():
  real, fake, keys = _data()
  a = jnp.abs(_w()) + 0.1
  out = penalties.wgan_gp(quadratic_critic(a), real, fake, keys)
  # The interpolation weights are U[0, 1) draws from each example's own key.
  eps = np.array([float(jax.random.uniform(k, ())) for k in keys])[:, None, None, None]
  x_hat = eps * np.asarray(real, np.float64) + (1 - eps) * np.asarray(fake, np.float64)
  norms = np.linalg.norm((np.asarray(a, np.float64) * x_hat).reshape(5, -1), axis=1)
  np.testing.assert_allclose(np.asarray(out), (norms - 1) ** 2, rtol=1e-5)
  # target=0: the zero-centred variant.
  out0 = penalties.wgan_gp(quadratic_critic(a), real, fake, keys, target=0.0)
  np.testing.assert_allclose(np.asarray(out0), norms ** 2, rtol=1e-5)


def test_dragan_perturbs_around_real_data():
  real, fake, keys = _data()
  a = jnp.abs(_w()) + 0.1
  out = penalties.dragan(quadratic_critic(a), real, fake, keys, scale=0.5)
  rn, an = np.asarray(real, np.float64), np.asarray(a, np.float64)
  expected = []
  for i, key in enumerate(keys):
    noise_key, alpha_key = jax.random.split(key)
    u = np.asarray(jax.random.uniform(noise_key, SHAPE[1:]), np.float64)
    alpha = float(jax.random.uniform(alpha_key, ()))
    x_hat = rn[i] + alpha * 0.5 * rn[i].std() * u
    expected.append((np.linalg.norm(an * x_hat) - 1) ** 2)
  np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-4)
  # Different from the penalty at the unperturbed reals (the perturbation is not a no-op).
  at_real = (np.linalg.norm((an * rn).reshape(5, -1), axis=1) - 1) ** 2
  assert not np.allclose(np.asarray(out), at_real, rtol=1e-3)


def test_gradient_with_respect_to_critic_parameters():
  # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||  (per example; mean over 5 equal terms).
  real, fake, keys = _data()
  w = _w()
  grad = jax.grad(lambda v: jnp.mean(penalties.wgan_gp(linear_critic(v), real, fake, keys)))(w)
  wn = np.asarray(w, np.float64)
  norm = np.linalg.norm(wn)
  np.testing.assert_allclose(np.asarray(grad), 2 * (norm - 1) * wn / norm, rtol=1e-4)
  # R1: d/dw ||w||^2 = 2 w.
  grad = jax.grad(lambda v: jnp.mean(penalties.r1(linear_critic(v), real, fake, keys)))(w)
  np.testing.assert_allclose(np.asarray(grad), 2 * wn, rtol=1e-5)


def test_zero_gradient_critic_gives_finite_penalty_gradient():
  real, fake, keys = _data()
  w = jnp.zeros(SHAPE[1:])
  value, grad = jax.value_and_grad(
      lambda v: jnp.mean(penalties.wgan_gp(linear_critic(v), real, fake, keys)))(w)
  assert float(value) == pytest.approx(1.0)
  assert bool(jnp.all(jnp.isfinite(grad)))


def test_unknown_penalty_lists_valid_names():
  with pytest.raises(ValueError, match="dragan, none, r1, r2, wgan_gp"):
    penalties.PENALTIES.get("wgan-gp")
