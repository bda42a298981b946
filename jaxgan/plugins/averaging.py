"""Running averages of parameters: EMA of G for sampling, and historical averaging.

Both live in a player's `PlayerState.extras` and are updated after each of its updates.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from jaxgan.core import state

EMA_PARAMS = state.EMA_PARAMS  # Named by the state, which samples with it.
PARAM_AVERAGE = "param_average"


def ema_decay_at(decay: float, updates: jax.Array) -> jax.Array:
  """The decay used after `updates` updates: min(decay, (1 + t) / (10 + t)).

  The warm-up (as in TensorFlow's ExponentialMovingAverage with num_updates) stops the
  average from being dominated by the random initial weights early in training.
  """
  t = jnp.asarray(updates, jnp.float32)
  return jnp.minimum(decay, (1.0 + t) / (10.0 + t))


def ema_decay_in_images(batch_size: int, kimg: float, rampup: float,
                        images_before: jax.Array) -> jax.Array:
  """StyleGAN2-ADA's EMA decay (training/training_loop.py, "Update G_ema"): a half-life of
  kimg * 1000 images, 0.5 ** (batch_size / max(n, 1e-8)) with n = kimg * 1000, or with a
  ramp-up (rampup > 0) n = min(kimg * 1000, images_before * rampup), images_before being the
  images shown before this update (0 at the first: the average starts as a copy of G)."""
  n = jnp.asarray(kimg * 1000.0, jnp.float32)
  if rampup > 0:
    n = jnp.minimum(n, jnp.asarray(images_before, jnp.float32) * jnp.float32(rampup))
  return jnp.power(jnp.float32(0.5), jnp.float32(batch_size) / jnp.maximum(n, 1e-8))


def update_ema(ema: Any, params: Any, decay: jax.Array) -> Any:
  """ema <- decay * ema + (1 - decay) * params, leaf by leaf."""
  return jax.tree.map(lambda e, p: decay * e + (1.0 - decay) * p, ema, params)


def update_param_average(average: Any, params: Any, updates: jax.Array, decay: float) -> Any:
  """The running parameter average after `updates` updates.

  decay == 0: the uniform mean of all parameter values so far, theta_0 ... theta_t
  (average <- average + (theta_t - average) / (t + 1)), as Salimans et al. define it;
  decay > 0: an exponential average with that decay (forgets the distant past).
  """
  if decay > 0:
    return update_ema(average, params, jnp.float32(decay))
  weight = 1.0 / (jnp.asarray(updates, jnp.float32) + 1.0)
  return jax.tree.map(lambda a, p: a + weight * (p - a), average, params)


def historical_penalty(params: Any, average: Any) -> jax.Array:
  """||theta - average||^2 summed over all parameters (the average gets no gradient)."""
  average = lax.stop_gradient(average)
  squares = jax.tree.map(lambda p, a: jnp.sum(jnp.square(p - a)), params, average)
  return sum(jax.tree.leaves(squares), jnp.float32(0.0))
