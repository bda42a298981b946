"""The generator's and discriminator's train states and their optimizers."""
from __future__ import annotations

from typing import Any, Dict, Tuple

import flax
import jax
import jax.numpy as jnp
import optax
from flax.training import train_state

from jaxgan.models import GanPair, conditional
from jaxgan.tricks import averaging


class GanTrainState(train_state.TrainState):
  """A player's state: step, params, optimizer state and its other variable collections.

  Attributes (beyond flax's TrainState):
    model_state: the module's non-parameter collections, e.g. {"batch_stats": ...} for
      BatchNorm statistics or spectral-norm vectors; {} for a module without any.
    extras: state of the training tricks that need some (see jaxgan.tricks): e.g.
      "ema_params" (G's weight average), "param_average" (historical averaging),
      "replay_buffer"/"replay_filled" (D's experience replay). {} when none is on.
  """
  model_state: flax.core.FrozenDict[str, Any] | Dict[str, Any]
  extras: Dict[str, Any] = flax.struct.field(default_factory=dict)

  def variables(self) -> Dict[str, Any]:
    """The variables dict that `module.apply` takes (the trained parameters)."""
    return {"params": self.params, **self.model_state}

  def sampling_variables(self) -> Dict[str, Any]:
    """The variables to sample and evaluate with: the EMA weights when kept, else params."""
    return {"params": self.extras.get(averaging.EMA_PARAMS, self.params), **self.model_state}


def init_variables(pair: GanPair, rng: jax.Array, latent_dim: int,
                   image_shape: Tuple[int, int, int]) -> Tuple[Dict, Dict]:
  """Initial variables of G and D (an example batch of one, in eval mode: no rng needed)."""
  g_key, d_key = jax.random.split(rng)
  g_vars = pair.generator.init(g_key, jnp.zeros((1, latent_dim), jnp.float32), train=False,
                               **conditional.example_kwargs(pair.generator, 1))
  d_vars = pair.discriminator.init(d_key, jnp.zeros((1, *image_shape), jnp.float32),
                                   train=False,
                                   **conditional.example_kwargs(pair.discriminator, 1))
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
