"""The input-gradient penalty on D (config.penalty): WGAN-GP, R1, R2, DRAGAN or your own.

The penalty function comes from `jaxgan.penalties.PENALTIES` (or "module:function") with its
contract documented there; this plug-in adds `weight * mean over the global batch` of its
per-example values to D's loss, every `every` D updates (lazy regularisation, with the
weight scaled by `every`; StyleGAN2 applies R1 every 16 D updates).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, Optional, Tuple

import jax
import jax.numpy as jnp
from jax import lax

from jaxgan import penalties
from jaxgan.core import random_streams
from jaxgan.core import config_checks as checks
from jaxgan.models import layers
from jaxgan.plugins.protocol import LossTerm, Plugin, RunFacts, UpdateContext

CONTRACT = ("a penalty takes (critic, real, fake, keys, **kwargs) and returns per-example "
            "values [n]")


def penalty_function(name: str, kwargs: Dict[str, Any]) -> Callable:
  """config.penalty.name (`name`) resolved, with config.penalty.kwargs bound."""
  return checks.bound_function("penalty", name, kwargs, penalties.PENALTIES, 4, CONTRACT)


def check_penalty_output(name: str, penalty_fn: Callable,
                         image_shape: Tuple[int, int, int]) -> None:
  """Calls the penalty abstractly on a linear critic; it must return one value per example."""
  if penalty_fn is penalties.none:
    return
  n = 2
  images = jax.ShapeDtypeStruct((n, *image_shape), jnp.float32)
  key = random_streams.base_key(0)
  keys = jax.ShapeDtypeStruct((n, *key.shape), key.dtype)
  critic = lambda x: jnp.sum(x.reshape(x.shape[0], -1), axis=1)
  try:
    out = jax.eval_shape(lambda r, f, k: penalty_fn(critic, r, f, k), images, images, keys)
  except (TypeError, ValueError) as e:
    raise checks.ConfigError(f"config.penalty ({name!r}) fails on images "
                             f"{tuple(images.shape)}: {e}") from e
  if getattr(out, "shape", None) != (n,):
    raise checks.ConfigError(f"config.penalty.name={name!r} must return per-example values "
                             f"of shape [n] = ({n},); it returned {out!r}.")


@dataclasses.dataclass(frozen=True)
class GradientPenalty(Plugin):
  """Attributes: fn: a penalty with its kwargs bound; name: config.penalty.name; weight:
  lambda; every: lazy interval in D updates."""
  fn: Callable
  name: str
  weight: float
  every: int = 1

  section = "penalty"

  @classmethod
  def from_section(cls, run: RunFacts, *, name: str, weight: float, kwargs: Dict[str, Any],
                   every: int) -> Optional["GradientPenalty"]:
    fn = penalty_function(name, kwargs)
    checks.check_non_negative(cls.field("weight"), weight)
    checks.check_positive_int(cls.field("every"), every)
    if fn is penalties.none or not weight > 0:
      return None
    return cls(fn, name, float(weight), every)

  def check_build(self, pair, image_shape):
    check_penalty_output(self.name, self.fn, image_shape)

  def loss_terms(self):
    return (LossTerm("d", "d_penalty", self.weight, self._mean_penalty, every=self.every),)

  def _mean_penalty(self, ctx: UpdateContext) -> jax.Array:
    # The critic judges with the real batch's classes (the fakes' own, except replayed ones).
    # The penalty never trains G: its interpolates are constants.
    critic = ctx.critic(random_streams.of(ctx.key, random_streams.PENALTY_DROPOUT))
    keys = layers.per_example_keys(random_streams.of(ctx.key, random_streams.PENALTY),
                                   ctx.real_in.shape[0], ctx.axis_name)
    return jnp.mean(self.fn(critic, ctx.real_in, lax.stop_gradient(ctx.fake_in), keys))
