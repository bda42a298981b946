"""Logged numbers that summarise their logging interval, not the one step that is logged.

A train step reports scalar metrics. The loop logs every config.log_every_steps steps, and
what it logs summarises the steps since the previous log, each metric by its kind:

  MEAN (every metric not named otherwise: losses, penalties, probabilities, logits, norms)
        the mean over the interval's counted steps: all of them, or with
        config.on_nonfinite="skip" the steps that were applied (a skipped step's values are
        non-finite and would make every mean NaN);
  Occasional values (a term computed on some updates only: lazy regularisation)
        the mean over the updates on which it ran, logged with "<name>_count", how many;
        an interval in which it never ran omits it (a 0 would read as a zero penalty);
  LAST  (a state rather than a rate: ADA's p, the replay buffer's fill, a schedule's value,
        ProGAN's resolution and fade; declared by the game and its plug-ins)
        its value at the interval's last counted step;
  MIN   (all_finite) the minimum over every step: 0 when any step was not finite;
  MAX   (skipped_steps, a running count) the latest count.

The summary is a pytree (`Interval`) that lives on the devices: the loop merges each call's
steps into it (jaxgan.games.logged_interval) and reads it back only when it logs, so a log
costs one transfer of a few scalars whatever the interval. It is not checkpointed: a run
resumed between two logs starts its interval at the resume (the first record after it
summarises the steps run since).

An interval of one step logs that step's values exactly (its sums start from the step's own
values rather than 0 + value, which would turn a -0.0 into 0.0).
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

Metrics = Dict[str, Any]

MEAN, LAST, MIN, MAX = "mean", "last", "min", "max"
KINDS = (MEAN, LAST, MIN, MAX)
COUNT_SUFFIX = "_count"  # "<name>_count": the updates an Occasional metric's mean is over.


class Occasional(NamedTuple):
  """A metric computed on some updates only (a lazy term): its values' sum over the updates
  on which it ran (0.0 on the others) and how many they were (float32 scalars)."""
  total: jax.Array
  count: jax.Array


def is_occasional(x: Any) -> bool:
  return isinstance(x, Occasional)


def over_updates(stacked: Metrics) -> Metrics:
  """One step's metrics from those of its updates (each leaf with a leading [updates] axis,
  e.g. n_critic D updates): the mean of each plain metric, the sums of an Occasional's total
  and count (so that its mean stays over the updates on which it ran)."""
  return {name: (Occasional(jnp.sum(v.total, 0), jnp.sum(v.count, 0)) if is_occasional(v)
                 else jnp.mean(v, 0))
          for name, v in stacked.items()}


class Interval(NamedTuple):
  """The summary of consecutive steps (float32 scalars; a pytree).

  Attributes:
    steps: the steps summarised.
    counted: the steps whose values the means and LAST take (all but the skipped ones).
    values: {metric: its sum over the counted steps (MEAN), its value at the last counted
      step (LAST), its minimum or maximum over all steps (MIN, MAX), or an Occasional of the
      sums over the counted steps}.
  """
  steps: jax.Array
  counted: jax.Array
  values: Metrics


def kind_of(name: str, kinds: Mapping[str, str]) -> str:
  return kinds.get(name, MEAN)


def check_kinds(kinds: Mapping[str, str]) -> None:
  wrong = {name: kind for name, kind in kinds.items() if kind not in KINDS}
  if wrong:
    raise ValueError(f"metric kinds {wrong} are not among {KINDS}")


def of_step(metrics: Metrics, counted: jax.Array, kinds: Mapping[str, str]) -> Interval:
  """The summary of one step whose metrics are `metrics`; `counted`: whether its values
  count (a bool or 0/1 scalar: False for a step skipped as non-finite).

  Every kind of one step is its own value, except that an uncounted step's MEAN and
  Occasional values are left out (0): they are what the step could not compute."""
  counted = jnp.asarray(counted, jnp.float32)
  keep = counted > 0

  def one(name, v):
    if is_occasional(v):
      return Occasional(jnp.where(keep, v.total, 0.0), jnp.where(keep, v.count, 0.0))
    return jnp.where(keep, v, 0.0) if kind_of(name, kinds) == MEAN else v

  values = {name: one(name, v) for name, v in metrics.items()}
  return Interval(jnp.ones((), jnp.float32), counted, values)


def of_steps(stacked: Metrics, counted: jax.Array, kinds: Mapping[str, str]) -> Interval:
  """The summary of k consecutive steps whose metrics are stacked along a leading [k] axis;
  `counted` [k] says which count. Equals merging the k steps' `of_step` in order (up to
  the order in which the sums add)."""
  counted = jnp.asarray(counted, jnp.float32)
  keep = counted > 0
  # The index of the last counted step (the last step when none counts).
  last = jnp.where(jnp.any(keep), counted.shape[0] - 1 - jnp.argmax(keep[::-1]),
                   counted.shape[0] - 1)

  def summarise(name, v):
    if is_occasional(v):
      return Occasional(jnp.sum(jnp.where(keep, v.total, 0.0)),
                        jnp.sum(jnp.where(keep, v.count, 0.0)))
    kind = kind_of(name, kinds)
    if kind == MEAN:
      return jnp.sum(jnp.where(keep, v, 0.0))
    if kind == LAST:
      return v[last]
    return jnp.min(v) if kind == MIN else jnp.max(v)

  values = {name: summarise(name, v) for name, v in stacked.items()}
  return Interval(jnp.asarray(counted.shape[0], jnp.float32), jnp.sum(counted), values)


def merge(a: Interval, b: Interval, kinds: Mapping[str, str]) -> Interval:
  """The summary of `a`'s steps followed by `b`'s (same metrics)."""
  if set(a.values) != set(b.values):
    raise ValueError(f"the steps report different metrics: {sorted(a.values)} then "
                     f"{sorted(b.values)}; a game's steps must report the same ones")
  b_counts = b.counted > 0

  def combine(name, x, y):
    # A sum over no counted step is 0: take the other's as is (0 + -0.0 would be 0.0).
    if is_occasional(x):
      pick = lambda p, q: jnp.where(y.count == 0, p, jnp.where(x.count == 0, q, p + q))
      return Occasional(pick(x.total, y.total), pick(x.count, y.count))
    kind = kind_of(name, kinds)
    if kind == MEAN:
      return jnp.where(b.counted == 0, x, jnp.where(a.counted == 0, y, x + y))
    if kind == LAST:  # b's last counted step; a's when b counts none (b's when neither does).
      return jnp.where(b_counts | (a.counted == 0), y, x)
    return jnp.minimum(x, y) if kind == MIN else jnp.maximum(x, y)

  values = {name: combine(name, x, b.values[name]) for name, x in a.values.items()}
  return Interval(a.steps + b.steps, a.counted + b.counted, values)


def record(summary: Interval, kinds: Mapping[str, str]) -> Dict[str, float]:
  """The logged numbers of a summary read back to the host (numpy scalars): every metric by
  its kind (module docstring), in the step's order. A MEAN metric over no counted step and
  an Occasional that never ran are left out."""
  counted = float(np.asarray(summary.counted))
  out: Dict[str, float] = {}
  for name, v in summary.values.items():
    if is_occasional(v):
      count = float(np.asarray(v.count))
      if count > 0:
        out[name] = float(np.asarray(v.total)) / count
        out[name + COUNT_SUFFIX] = count
      continue
    kind = kind_of(name, kinds)
    if kind == MEAN:
      if counted > 0:
        out[name] = float(np.asarray(v)) / counted
    else:
      out[name] = float(np.asarray(v))
  return out
