"""A run's state: one `PlayerState` per named player, and the run's own `RunState`.

A game's states are a dict {"g": PlayerState, "d": PlayerState, ..., "run": RunState}: the
checkpoint layout, and what the pmapped step carries from call to call.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import flax
import jax
import jax.numpy as jnp
import optax
from flax.training import train_state

RUN = "run"  # The run state's key in a game's states.
# The extras key of G's weight average (jaxgan.plugins.ema keeps it): what samples are drawn
# with when present. Named here, where every sampler reads it, so that state imports no plug-in.
EMA_PARAMS = "ema_params"


class PlayerState(train_state.TrainState):
  """A player's state: its update count, params, optimizer state and other collections.

  Attributes (beyond flax's TrainState; `step` counts this player's optimizer updates):
    model_state: the module's non-parameter collections, e.g. {"batch_stats": ...} for
      BatchNorm statistics or spectral-norm vectors; {} for a module without any.
    compute_dtype: config.compute_dtype of its module's training calls ("float32" or
      "bfloat16"; None, as float32, for a state built outside an Experiment).
    extras: state of the plug-ins that need some (see jaxgan.plugins): e.g.
      "ema_params" (G's weight average), "param_average" (historical averaging),
      "replay_buffer"/"replay_filled" (D's experience replay). {} when none is on.
  """
  model_state: flax.core.FrozenDict[str, Any] | Dict[str, Any]
  extras: Dict[str, Any] = flax.struct.field(default_factory=dict)
  # config.compute_dtype of the modules' training calls (jaxgan.runtime.mixed_precision); static,
  # so not in checkpoints: every array here is float32 whichever it is.
  compute_dtype: Optional[str] = flax.struct.field(pytree_node=False, default=None)

  def variables(self) -> Dict[str, Any]:
    """The variables dict that `module.apply` takes (the trained parameters)."""
    return {"params": self.params, **self.model_state}

  def sampling_variables(self) -> Dict[str, Any]:
    """The variables to sample and evaluate with: the EMA weights when kept, else params."""
    return {"params": self.extras.get(EMA_PARAMS, self.params), **self.model_state}


class RunState(flax.struct.PyTreeNode):
  """The run's own counters, beside the players.

  Attributes:
    step: train steps done (int32): the step whose randomness the next step draws.
    skipped_steps: steps whose update was not applied because they produced non-finite
      values (config.on_nonfinite="skip"); 0 otherwise.
  """
  step: jax.Array
  skipped_steps: jax.Array

  @classmethod
  def create(cls) -> "RunState":
    return cls(step=jnp.zeros((), jnp.int32), skipped_steps=jnp.zeros((), jnp.int32))


def create_player(module: Any, variables: Dict[str, Any],
                  tx: optax.GradientTransformation) -> PlayerState:
  """A fresh player from a module's initial variables and its optimizer."""
  variables = dict(variables)
  params = variables.pop("params")
  # An int32 array step (not flax's Python 0) so fresh and restored states have one layout.
  return PlayerState.create(apply_fn=module.apply, params=params, tx=tx,
                            model_state=variables).replace(step=jnp.zeros((), jnp.int32))


def count_params(params: Any) -> int:
  return sum(int(x.size) for x in jax.tree.leaves(params))
