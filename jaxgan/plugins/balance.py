"""Adaptive D/G balance (config.balance): skip a D update when D is too strong, repeat it
when D is too weak; all inside the compiled step.

A D update whose D loss (measured on the update's batch, before updating) is below
`skip_below` leaves D as it was (except the replay buffer, which still takes the fresh
fakes). After the n_critic updates, up to `max_repeats` extra D updates run (on the step's
last real batch, fresh fakes, keys n_critic, n_critic + 1, ... of the step's D stream), each
only while the last measured D loss is above `repeat_above`. The step logs how many D
updates it made as "d_updates". The standard game's critic loop calls this plug-in; it has
no generic hook.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Optional, Tuple

import jax
import jax.numpy as jnp

from jaxgan.core import config_checks as checks
from jaxgan.plugins.protocol import Metrics, Plugin, RunFacts
from jaxgan.runtime import xla_cpu


@dataclasses.dataclass(frozen=True)
class Balance(Plugin):
  """Attributes: skip_below, repeat_above: D-loss thresholds (skip_below < repeat_above);
  max_repeats: extra D updates at most per step."""
  skip_below: float = 0.3
  repeat_above: float = 1.5
  max_repeats: int = 2

  section = "balance"
  alternating_only = True  # It decides about D updates before G's.

  @classmethod
  def from_section(cls, run: RunFacts, *, enabled: bool, skip_below: float,
                   repeat_above: float, max_repeats: int) -> Optional["Balance"]:
    checks.check_non_negative(cls.field("max_repeats"), max_repeats)
    if enabled and not skip_below < repeat_above:
      raise checks.ConfigError("config.balance.skip_below must be below "
                               "config.balance.repeat_above; got "
                               f"{skip_below} and {repeat_above}.")
    if not enabled:
      return None
    return cls(float(skip_below), float(repeat_above), int(max_repeats))

  def skip(self, d_loss: jax.Array) -> jax.Array:
    """Whether a D update with this pre-update loss is skipped (bool scalar)."""
    return d_loss < self.skip_below

  def extra_updates(self, update: Callable[[Any, jax.Array], Tuple[Any, Metrics]],
                    d_state: Any, d_keys: jax.Array, n_critic: int, last_d_loss: jax.Array
                    ) -> Tuple[Any, jax.Array]:
    """Up to max_repeats more `update(state, key)`s, each made only while the last D loss
    exceeds repeat_above; returns (D state, repeats made, float32)."""
    repeats = jnp.zeros((), jnp.float32)
    # Every repeat's metrics have the same shapes: trace them once for the skipped branch.
    metric_shapes = jax.eval_shape(update, d_state, d_keys)[1]
    skip_update = lambda state: (state, jax.tree.map(
        lambda s: jnp.zeros(s.shape, s.dtype), metric_shapes))
    for r in range(self.max_repeats):
      key = jax.random.fold_in(d_keys, n_critic + r)
      # last_d_loss is a pmean: every device takes the same branch.
      go = last_d_loss > self.repeat_above
      # XLA:CPU would run a conditional's convolutions as naive loops; see xla_cpu.cond.
      d_state, metrics = xla_cpu.cond(go, lambda state: update(state, key), skip_update,
                                      d_state)
      last_d_loss = jnp.where(go, metrics["d_loss"], last_d_loss)
      repeats = repeats + go.astype(jnp.float32)
    return d_state, repeats
