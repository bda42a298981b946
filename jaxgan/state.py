"""The generator's and discriminator's train states and their optimizers."""
from __future__ import annotations

import inspect
from typing import Any, Dict, Tuple

import flax
import jax
import jax.numpy as jnp
import optax
from flax.training import train_state

from jaxgan.models import GanPair
from jaxgan.registry import Registry

OPTIMIZERS = Registry("optimizer")
OPTIMIZERS.register("adam")(optax.adam)
OPTIMIZERS.register("rmsprop")(optax.rmsprop)
OPTIMIZERS.register("sgd")(optax.sgd)


class GanTrainState(train_state.TrainState):
  """A player's state: step, params, optimizer state and its other variable collections.

  Attributes (beyond flax's TrainState):
    model_state: the module's non-parameter collections, e.g. {"batch_stats": ...} for
      BatchNorm statistics; {} for a module without any.
  """
  model_state: flax.core.FrozenDict[str, Any] | Dict[str, Any]

  def variables(self) -> Dict[str, Any]:
    """The variables dict that `module.apply` takes."""
    return {"params": self.params, **self.model_state}


def make_optimizer(name: str, learning_rate: float, kwargs: Dict[str, Any]
                   ) -> optax.GradientTransformation:
  """Builds the optax optimizer `name` (see OPTIMIZERS) with its own settings.

  Raises:
    ValueError: a kwarg the optimizer does not take (the message lists the ones it does).
  """
  factory = OPTIMIZERS.get(name)
  accepted = set(inspect.signature(factory).parameters)
  unknown = sorted(set(kwargs) - accepted)
  if unknown:
    raise ValueError(f"Optimizer {name!r} has no setting(s) {unknown}; it accepts "
                     f"{sorted(accepted - {'learning_rate'})}.")
  return factory(learning_rate=learning_rate, **kwargs)


def init_variables(pair: GanPair, rng: jax.Array, latent_dim: int,
                   image_shape: Tuple[int, int, int]) -> Tuple[Dict, Dict]:
  """Initial variables of G and D (an example batch of one, in eval mode: no rng needed)."""
  g_key, d_key = jax.random.split(rng)
  g_vars = pair.generator.init(g_key, jnp.zeros((1, latent_dim), jnp.float32), train=False)
  d_vars = pair.discriminator.init(d_key, jnp.zeros((1, *image_shape), jnp.float32),
                                   train=False)
  return g_vars, d_vars


def create_states(pair: GanPair, rng: jax.Array, latent_dim: int,
                  image_shape: Tuple[int, int, int], g_tx: optax.GradientTransformation,
                  d_tx: optax.GradientTransformation) -> Tuple[GanTrainState, GanTrainState]:
  """Fresh (G, D) states, each with its own optimizer."""
  g_vars, d_vars = init_variables(pair, rng, latent_dim, image_shape)

  def make(module, variables, tx):
    variables = dict(variables)
    params = variables.pop("params")
    # An int32 array step (not flax's Python 0) so fresh and restored states have one layout.
    return GanTrainState.create(apply_fn=module.apply, params=params, tx=tx,
                                model_state=variables).replace(step=jnp.zeros((), jnp.int32))

  return make(pair.generator, g_vars, g_tx), make(pair.discriminator, d_vars, d_tx)


def count_params(params: Any) -> int:
  return sum(int(x.size) for x in jax.tree.leaves(params))
