"""GAN losses: pure functions with one signature, chosen by name from `LOSSES`.

The contract, shared by every loss (and by a researcher's own, named "module:function"):

    fn(real_logits, fake_logits, **kwargs) -> GanLoss

  real_logits: float array [n] (or [n, 1]): the discriminator's raw outputs on real images.
  fake_logits: float array [n] (or [n, 1]): its raw outputs on generated images.
  kwargs: the loss's own settings, from `config.loss.kwargs`.
  returns GanLoss(d=scalar D loss to minimise, g=scalar G loss to minimise, aux={name: scalar}).

The train step calls the loss in the D update (it differentiates `.d` with respect to D's
parameters) and in the G update (it differentiates `.g` with respect to G's parameters). Each
call computes both terms; the unused one is removed by XLA's dead-code elimination, so a loss
costs nothing for the half the step does not use.
"""
from __future__ import annotations

from typing import Dict, NamedTuple

import jax
import jax.numpy as jnp

from jaxgan.registry import Registry

LOSSES = Registry("loss")


class GanLoss(NamedTuple):
  """The two players' losses (scalars) and optional diagnostics."""
  d: jax.Array
  g: jax.Array
  aux: Dict[str, jax.Array] = {}


def softplus(x: jax.Array) -> jax.Array:
  """log(1 + exp(x)), finite and exact for any finite x.

  `logaddexp(x, 0)` computes max(x, 0) + log1p(exp(-|x|)): exp never sees a positive
  argument, so x = 100 gives 100 rather than inf, and x = -100 gives exp(-100) rather than 0.
  (Hand-writing that formula gives a wrong gradient at x = 0, where max and |x| have kinks;
  logaddexp's derivative is the exact sigmoid(x) everywhere.)
  """
  return jnp.logaddexp(x, 0.0)


@LOSSES.register("non_saturating")
def non_saturating(real_logits: jax.Array, fake_logits: jax.Array) -> GanLoss:
  """The standard GAN loss with the non-saturating generator loss (Goodfellow et al., 2014).

  With D(x) = sigmoid(logit):
    d = -E[log D(x)] - E[log(1 - D(G(z)))] = E[softplus(-real)] + E[softplus(fake)]
    g = -E[log D(G(z))]                    = E[softplus(-fake)]
  This is binary cross-entropy with logits (targets 1 for real, 0 for fake; G targets 1),
  which is what the TensorFlow DCGAN tutorial and its PyTorch/Keras peers compute.
  """
  d = jnp.mean(softplus(-real_logits)) + jnp.mean(softplus(fake_logits))
  g = jnp.mean(softplus(-fake_logits))
  return GanLoss(d=d, g=g)


@LOSSES.register("minimax")
def minimax(real_logits: jax.Array, fake_logits: jax.Array) -> GanLoss:
  """The original, saturating minimax loss (Goodfellow et al., 2014, eq. 1).

    d = -E[log D(x)] - E[log(1 - D(G(z)))]
    g = E[log(1 - D(G(z)))] = -E[softplus(fake)]
  G's gradient vanishes when D confidently rejects fakes (fake logits << 0): the reason the
  non-saturating loss exists. Kept for studies of exactly that.
  """
  d = jnp.mean(softplus(-real_logits)) + jnp.mean(softplus(fake_logits))
  g = -jnp.mean(softplus(fake_logits))
  return GanLoss(d=d, g=g)
