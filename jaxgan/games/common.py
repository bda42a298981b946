"""Step utilities every game shares, and the wrapper that turns a game's step into the run's.

A game's step applies its modules with `apply`, updates a player with `apply_update` (the
cross-device means live there) and reports `global_mean` metrics. `run_step` wraps any
game's step with what is the same for all of them: the step's key from the run's counter,
parameter norms, `all_finite`, skip-on-non-finite and the counters; `run_steps` makes k of
them one call (config.steps_per_dispatch); `pmapped` compiles either over the local devices.
"""
from __future__ import annotations

import functools
from typing import Any, Dict, Optional, Tuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from jax import lax

from jaxgan.core import random_streams
from jaxgan.core.state import PlayerState, RUN
from jaxgan.games.protocol import Game, Metrics, Players
from jaxgan.models import conditional, layers
from jaxgan.runtime import mixed_precision, parallel, xla_cpu

SKIPPED_STEPS = "skipped_steps"  # The metric of RunState.skipped_steps (with skipping on).


def latents(key: jax.Array, n: int, latent_dim: int, axis_name: Optional[str]) -> jax.Array:
  """Standard-normal latents [n, latent_dim]; row i depends on (key, its global row index)."""
  keys = layers.per_example_keys(key, n, axis_name)
  return jax.vmap(lambda k: jax.random.normal(k, (latent_dim,)))(keys)


def apply(module: nn.Module, state: PlayerState, params: Any, x: jax.Array,
          dropout_key: jax.Array, labels: Optional[jax.Array] = None, capture: bool = False
          ) -> Tuple[jax.Array, Dict[str, Any], Optional[jax.Array]]:
  """Runs `module` in train mode with `params` and the state's other collections, in the
  player's compute dtype (jaxgan.runtime.mixed_precision: outputs and collections come back
  float32).

  Args:
    dropout_key: the "dropout" stream of the call.
    labels: classes int32 [n], passed only to a conditional module.
    capture: also return the features the module exposes (layers.expose_features).

  Returns:
    (output, the updated non-parameter collections, the features or None).
  """
  params, x = mixed_precision.cast_inputs(state.compute_dtype, params, x)
  variables = {"params": params, **state.model_state}
  mutable = list(state.model_state.keys()) + ([layers.FEATURES_COLLECTION] if capture else [])
  out, collections = module.apply(variables, x, train=True, rngs={"dropout": dropout_key},
                                  mutable=mutable, **conditional.label_kwargs(module, labels))
  collections = dict(collections)
  features = None
  if capture:
    features = layers.find_features(collections.pop(layers.FEATURES_COLLECTION, {}))
  (out, features), collections = mixed_precision.restore(
      state.compute_dtype, (out, features), collections, state.model_state)
  return out, collections, features


def apply_update(state: PlayerState, grads: Any, model_state: Dict[str, Any],
                 axis_name: Optional[str], extras: Optional[Dict[str, Any]] = None
                 ) -> Tuple[PlayerState, Any]:
  """The player after one optimizer update from this device's gradients (averaged over the
  devices, as are its new collections); returns (state, the averaged gradients)."""
  grads = parallel.device_mean(grads, axis_name)
  model_state = parallel.device_mean(model_state, axis_name)
  updated = state.apply_gradients(grads=grads).replace(model_state=model_state)
  if extras is not None:
    updated = updated.replace(extras=extras)
  return updated, grads


def global_mean(metrics: Metrics, axis_name: Optional[str]) -> Metrics:
  """Per-device means -> global-batch means (devices hold equal shares)."""
  return parallel.device_mean(metrics, axis_name)


def mean(x: jax.Array) -> jax.Array:
  return jnp.mean(x.astype(jnp.float32))


def select(pred: jax.Array, if_true: Any, if_false: Any) -> Any:
  """`if_true` where pred, else `if_false`, leaf by leaf (same structures)."""
  return jax.tree.map(lambda a, b: jnp.where(pred, a, b), if_true, if_false)


def all_finite(metrics: Metrics) -> jax.Array:
  """True when every metric (losses, gradient and parameter norms) is finite."""
  return jnp.all(jnp.stack([jnp.all(jnp.isfinite(v)) for v in jax.tree.leaves(metrics)]))


def skip_unless(finite: jax.Array, players: Players, before: Players) -> Players:
  """The updated players if `finite`, else the players from before the step with their
  update counters advanced (so that what depends on them moves on as if updated)."""
  return {name: select(finite, state, before[name].replace(step=state.step))
          for name, state in players.items()}


def run_step(states: Dict[str, Any], batch: Dict[str, jax.Array], base_key: jax.Array, *,
             game: Game, skip_nonfinite: bool) -> Tuple[Dict[str, Any], Metrics]:
  """One train step of `game` on the run's states {player: ..., "run": RunState}.

  Returns the new states and the game's metrics plus "<player>_param_norm", "all_finite"
  (1.0 when every metric is finite) and, with `skip_nonfinite`, "skipped_steps": a step that
  is not finite then leaves every player as it was (their update counts advanced) and is
  counted in RunState.skipped_steps.
  """
  run = states[RUN]
  before = {name: states[name] for name in game.players}
  players, metrics = game.train_step(before, batch, random_streams.step_key(base_key, run.step),
                                     run.step)
  metrics = {**metrics, **{f"{name}_param_norm": optax.tree.norm(players[name].params)
                           for name in game.players}}
  finite = all_finite(metrics)
  metrics["all_finite"] = finite.astype(jnp.float32)
  skipped = run.skipped_steps
  if skip_nonfinite:
    players = skip_unless(finite, players, before)
    skipped = skipped + (1 - finite.astype(jnp.int32))
    metrics[SKIPPED_STEPS] = skipped.astype(jnp.float32)
  return {**players, RUN: run.replace(step=run.step + 1, skipped_steps=skipped)}, metrics


def run_steps(states: Dict[str, Any], batches: Dict[str, jax.Array], base_key: jax.Array, *,
              game: Game, skip_nonfinite: bool) -> Tuple[Dict[str, Any], Metrics]:
  """k consecutive `run_step`s in one call (lax.scan), for config.steps_per_dispatch = k.

  Each step draws its randomness from its own step counter, so k steps here equal k calls of
  `run_step` (tests/test_steps_per_dispatch.py).

  Args:
    batches: `run_step`'s batch with a leading [k] axis, step i's batch at index i.

  Returns:
    The states after the k steps; the metrics of the last step, except `all_finite`, which
    is 1.0 only if every one of the k steps was finite.
  """
  step = functools.partial(run_step, base_key=base_key, game=game,
                           skip_nonfinite=skip_nonfinite)
  states, stacked = lax.scan(lambda s, batch: step(s, batch), states, batches)
  metrics = jax.tree.map(lambda m: m[-1], stacked)
  metrics["all_finite"] = jnp.min(stacked["all_finite"])
  return states, metrics


def pmapped(game: Game, skip_nonfinite: bool, steps_per_call: int = 1,
            cpu_options: bool = True, devices: Optional[list] = None) -> Any:
  """`run_step` (or, for steps_per_call k > 1, `run_steps`) of `game`, pmapped over the
  local devices (or `devices`) with the states donated.

  Called as `(states, batch, base_key) -> (states, metrics)`, every argument with a leading
  [devices] axis (the batch then [devices, k, ...] for k > 1). On the CPU it is compiled
  with `xla_cpu.CPU_COMPILER_OPTIONS` unless `cpu_options` is False (the benchmark's
  baseline).
  """
  fn = run_step if steps_per_call == 1 else run_steps
  step = parallel.pmap(functools.partial(fn, game=game, skip_nonfinite=skip_nonfinite),
                       donate_argnums=(0,), devices=devices)
  return xla_cpu.with_cpu_options(step) if cpu_options else step
