"""GAN losses: pure functions with one signature, chosen by name from `LOSSES`.

The contract, shared by every loss (and by a researcher's own, named "module:function"):

    fn(real_logits, fake_logits, **kwargs) -> GanLoss

  real_logits: float array [N]: the discriminator's raw outputs (no sigmoid) on the real
    images of the *global* batch: the train step gathers them from all devices, so a loss
    that couples examples (RaGAN's batch means) sees the whole batch on any device layout.
  fake_logits: float array [N]: its raw outputs on the generated images of the global batch.
  kwargs: the loss's own settings, from `config.loss.kwargs`.
  returns GanLoss(d=scalar D loss to minimise, g=scalar G loss to minimise, aux={name: scalar}).

The train step calls the loss in the D update (it differentiates `.d` with respect to D's
parameters) and in the G update (it differentiates `.g` with respect to G's parameters). Each
call computes both terms; the unused one is removed by XLA's dead-code elimination, so a loss
costs nothing for the half the step does not use. In the G update `real_logits` arrive under
stop_gradient. A loss must be finite for logits of +-100 (use `softplus`, never log(sigmoid)).

Every loss here returns `aux={}` or diagnostics; each aux entry is logged as d_<name> (from the
D update) and g_<name> (from the G update).
"""
from __future__ import annotations

from typing import Dict, NamedTuple

import jax
import jax.numpy as jnp

from jaxgan.core.registry import Registry

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


def _check_label(name: str, value: float) -> None:
  if not 0.0 <= value <= 1.0:
    raise ValueError(f"{name} must be a probability in [0, 1]; got {value!r}.")


def binary_cross_entropy(logits: jax.Array, target: float) -> jax.Array:
  """Elementwise -t log(sigmoid(x)) - (1 - t) log(1 - sigmoid(x)), stable for any logit x."""
  return target * softplus(-logits) + (1.0 - target) * softplus(logits)


def _discriminator_bce(real_logits, fake_logits, real_label, fake_label) -> jax.Array:
  _check_label("real_label", real_label)
  _check_label("fake_label", fake_label)
  return (jnp.mean(binary_cross_entropy(real_logits, real_label)) +
          jnp.mean(binary_cross_entropy(fake_logits, fake_label)))


@LOSSES.register("non_saturating")
def non_saturating(real_logits: jax.Array, fake_logits: jax.Array, real_label: float = 1.0,
                   fake_label: float = 0.0) -> GanLoss:
  """The standard GAN loss with the non-saturating generator loss (Goodfellow et al., 2014).

  With D(x) = sigmoid(logit) and BCE(x, t) = -t log D - (1 - t) log(1 - D):
    d = E[BCE(real, real_label)] + E[BCE(fake, fake_label)]
    g = -E[log D(G(z))] = E[softplus(-fake)]
  With the default labels (1, 0), d = -E[log D(x)] - E[log(1 - D(G(z)))]: binary
  cross-entropy with logits, what the TensorFlow DCGAN tutorial and its peers compute.

  Label smoothing (Salimans et al., 2016) is set by the labels: one-sided real_label=0.9;
  two-sided real_label=0.9, fake_label=0.1. Only D's targets are smoothed; G's stays 1.
  """
  d = _discriminator_bce(real_logits, fake_logits, real_label, fake_label)
  g = jnp.mean(softplus(-fake_logits))
  return GanLoss(d=d, g=g)


@LOSSES.register("minimax")
def minimax(real_logits: jax.Array, fake_logits: jax.Array, real_label: float = 1.0,
            fake_label: float = 0.0) -> GanLoss:
  """The original, saturating minimax loss (Goodfellow et al., 2014, eq. 1).

    d = E[BCE(real, real_label)] + E[BCE(fake, fake_label)]   (as non_saturating)
    g = E[log(1 - D(G(z)))] = -E[softplus(fake)]
  G's gradient vanishes when D confidently rejects fakes (fake logits << 0): the reason the
  non-saturating loss exists. Kept for studies of exactly that.
  """
  d = _discriminator_bce(real_logits, fake_logits, real_label, fake_label)
  g = -jnp.mean(softplus(fake_logits))
  return GanLoss(d=d, g=g)


@LOSSES.register("least_squares")
def least_squares(real_logits: jax.Array, fake_logits: jax.Array, a: float = 0.0,
                  b: float = 1.0, c: float = 1.0) -> GanLoss:
  """Least-squares GAN (Mao et al., 2017, eq. 2), on D's raw outputs.

    d = 1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2]
    g = 1/2 E[(D(G(z)) - c)^2]
  a: D's target for fakes; b: D's target for reals; c: the value G wants D to give fakes.
  The defaults (0, 1, 1) are the paper's 0-1 coding; (a, b, c) = (-1, 1, 0) minimises the
  Pearson chi-squared divergence (the paper's section 3.2.1).
  """
  d = 0.5 * jnp.mean(jnp.square(real_logits - b)) + 0.5 * jnp.mean(jnp.square(fake_logits - a))
  g = 0.5 * jnp.mean(jnp.square(fake_logits - c))
  return GanLoss(d=d, g=g)


@LOSSES.register("wasserstein")
def wasserstein(real_logits: jax.Array, fake_logits: jax.Array, drift: float = 0.0
                ) -> GanLoss:
  """Wasserstein GAN (Arjovsky et al., 2017): D is a critic with unbounded output.

    d = E[D(G(z))] - E[D(x)] + drift * E[D(x)^2]      g = -E[D(G(z))]
  Only meaningful with a Lipschitz constraint on the critic: weight clipping
  (config.d_weight_clip) or a gradient penalty (config.penalty, e.g. wgan_gp).
  drift: ProGAN's epsilon_drift (Karras et al., 2018, appendix A.1: 0.001), which keeps the
  critic's output near zero; 0 (the default) is plain WGAN; aux["drift"] is E[D(x)^2] then.
  aux["wasserstein_estimate"] = E[D(x)] - E[D(G(z))], the critic's estimate of the distance
  (up to the Lipschitz constant): the curve WGAN papers plot.
  """
  estimate = jnp.mean(real_logits) - jnp.mean(fake_logits)
  d, aux = -estimate, {"wasserstein_estimate": estimate}
  if drift:  # Off: not even a zero term, so the plain loss's program is unchanged.
    aux["drift"] = jnp.mean(jnp.square(real_logits))
    d = d + drift * aux["drift"]
  return GanLoss(d=d, g=-jnp.mean(fake_logits), aux=aux)


@LOSSES.register("hinge")
def hinge(real_logits: jax.Array, fake_logits: jax.Array) -> GanLoss:
  """Hinge loss (Lim & Ye, 2017; used by SNGAN, SAGAN, BigGAN).

    d = E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]      g = -E[D(G(z))]
  """
  d = jnp.mean(jax.nn.relu(1.0 - real_logits)) + jnp.mean(jax.nn.relu(1.0 + fake_logits))
  return GanLoss(d=d, g=-jnp.mean(fake_logits))


@LOSSES.register("relativistic_average")
def relativistic_average(real_logits: jax.Array, fake_logits: jax.Array) -> GanLoss:
  """Relativistic average standard GAN, RaSGAN (Jolicoeur-Martineau, 2019, eqs. 11-12).

  D judges whether a real image is more realistic than the average fake, and vice versa.
  With r = real - E[fake] and f = fake - E[real] (means over the global batch):
    d = -E[log sigmoid(r)] - E[log(1 - sigmoid(f))] = E[softplus(-r)] + E[softplus(f)]
    g = -E[log sigmoid(f)] - E[log(1 - sigmoid(r))] = E[softplus(-f)] + E[softplus(r)]
  G's loss depends on D's outputs on real images too (they arrive under stop_gradient).
  """
  r = real_logits - jnp.mean(fake_logits)
  f = fake_logits - jnp.mean(real_logits)
  d = jnp.mean(softplus(-r)) + jnp.mean(softplus(f))
  g = jnp.mean(softplus(-f)) + jnp.mean(softplus(r))
  return GanLoss(d=d, g=g)
