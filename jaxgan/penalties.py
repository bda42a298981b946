"""Discriminator regularisers on input gradients, chosen by name from `PENALTIES`.

The contract, shared by every penalty (and by a researcher's own, named "module:function"):

    fn(critic, real, fake, keys, **kwargs) -> per-example penalties [n]

  critic: a function images [m, H, W, C] -> logits [m]: the discriminator with the parameters
    being trained (differentiable with respect to them and to its input).
  real: this device's real images [n, H, W, C], as D sees them (after instance noise).
  fake: as many generated images [n, H, W, C] (no gradient flows to G).
  keys: [n] PRNG keys, one per example, fixed by the example's index in the global batch: draw
    an example's random numbers from its own key and the penalty is the same on any number of
    devices.
  kwargs: the penalty's own settings, from `config.penalty.kwargs`.
  returns: float [n], one value per example. The train step adds
    config.penalty.weight * mean over the global batch to D's loss.

Input gradients are taken of sum(critic(x)), which is the per-example gradient when D treats
examples independently. Minibatch-discrimination and minibatch-stddev layers couple examples,
so with them these penalties are approximations (as in every implementation).
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from jaxgan.core.registry import Registry

PENALTIES = Registry("penalty")
Critic = Callable[[jax.Array], jax.Array]


def input_gradients(critic: Critic, x: jax.Array) -> jax.Array:
  """d critic(x)_i / d x_i for every example: [n, H, W, C]."""
  return jax.grad(lambda inputs: jnp.sum(critic(inputs)))(x)


def squared_norms(grads: jax.Array) -> jax.Array:
  """Per-example squared L2 norms [n] of a batch of gradients [n, ...]."""
  return jnp.sum(jnp.square(grads).reshape(grads.shape[0], -1), axis=1)


def safe_norms(grads: jax.Array) -> jax.Array:
  """Per-example L2 norms [n], with a zero (not NaN) derivative where a gradient is zero."""
  squared = squared_norms(grads)
  positive = squared > 0
  return jnp.where(positive, jnp.sqrt(jnp.where(positive, squared, 1.0)), 0.0)


def per_example_uniform(keys: jax.Array, shape=()) -> jax.Array:
  """U[0, 1) draws [n, *shape], row i from keys[i]."""
  return jax.vmap(lambda k: jax.random.uniform(k, shape))(keys)


def _broadcast_rows(values: jax.Array, like: jax.Array) -> jax.Array:
  """[n] -> [n, 1, 1, ...] to scale the examples of `like`."""
  return values.reshape(values.shape + (1,) * (like.ndim - 1))


@PENALTIES.register("none")
def none(critic: Critic, real: jax.Array, fake: jax.Array, keys: jax.Array) -> jax.Array:
  """No penalty (zeros; XLA removes it)."""
  del critic, fake, keys
  return jnp.zeros(real.shape[:1], jnp.float32)


@PENALTIES.register("wgan_gp")
def wgan_gp(critic: Critic, real: jax.Array, fake: jax.Array, keys: jax.Array,
            target: float = 1.0) -> jax.Array:
  """WGAN-GP gradient penalty (Gulrajani et al., 2017, algorithm 1).

    x_hat = eps * x + (1 - eps) * G(z),  eps ~ U[0, 1] per example
    penalty = (||grad_x D(x_hat)||_2 - target)^2
  The paper's lambda = 10 is config.penalty.weight. target != 1 gives the "zero-centred" or
  other variants (target=0 is the penalty of Thanh-Tung et al., 2019, on interpolates).
  """
  eps = _broadcast_rows(per_example_uniform(keys), real)
  interpolates = eps * real + (1.0 - eps) * fake
  return jnp.square(safe_norms(input_gradients(critic, interpolates)) - target)


@PENALTIES.register("r1")
def r1(critic: Critic, real: jax.Array, fake: jax.Array, keys: jax.Array) -> jax.Array:
  """R1 (Mescheder et al., 2018, eq. 9): ||grad_x D(x)||^2 on real data.

  The paper writes gamma/2 * E[...]: set config.penalty.weight = gamma / 2.
  """
  del fake, keys
  return squared_norms(input_gradients(critic, real))


@PENALTIES.register("r2")
def r2(critic: Critic, real: jax.Array, fake: jax.Array, keys: jax.Array) -> jax.Array:
  """R2 (Mescheder et al., 2018, eq. 10): ||grad_x D(G(z))||^2 on generated data."""
  del real, keys
  return squared_norms(input_gradients(critic, fake))


@PENALTIES.register("dragan")
def dragan(critic: Critic, real: jax.Array, fake: jax.Array, keys: jax.Array,
           scale: float = 0.5, target: float = 1.0) -> jax.Array:
  """DRAGAN (Kodali et al., 2017): a gradient penalty around the real data.

    delta = scale * std(x) * u,  u ~ U[0, 1)^(H, W, C);  x_hat = x + alpha * delta,
    alpha ~ U[0, 1]; penalty = (||grad_x D(x_hat)||_2 - target)^2
  as in the authors' code, except that std(x) is each image's own pixel std rather than the
  whole batch's, so that an example's penalty does not depend on how the batch is split.
  """
  del fake
  noise_keys, alpha_keys = jax.vmap(jax.random.split, out_axes=1)(keys)
  u = per_example_uniform(noise_keys, real.shape[1:])
  std = jnp.std(real.reshape(real.shape[0], -1), axis=1)
  alpha = per_example_uniform(alpha_keys)
  perturbed = real + _broadcast_rows(alpha * scale * std, real) * u
  return jnp.square(safe_norms(input_gradients(critic, perturbed)) - target)
