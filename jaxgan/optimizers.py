"""Optimizers and learning-rate schedules, one per player, chosen by name.

Each player's config section (config.g_optimizer / config.d_optimizer) names its optimizer,
learning rate, schedule and gradient clipping, so two-timescale training (TTUR, Heusel et al.,
2017) is two different learning rates or schedules, and the original WGAN is
name="rmsprop".
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Dict

import optax

from jaxgan.core import config_checks
from jaxgan.core.registry import Registry

OPTIMIZERS = Registry("optimizer")
OPTIMIZERS.register("adam")(optax.adam)
OPTIMIZERS.register("rmsprop")(optax.rmsprop)
OPTIMIZERS.register("sgd")(optax.sgd)

# A schedule factory: (peak learning rate, total updates of this player, **kwargs) -> schedule.
SCHEDULES = Registry("learning-rate schedule")


@SCHEDULES.register("constant")
def constant(learning_rate: float, total_updates: int, warmup_steps: int = 0) -> optax.Schedule:
  """learning_rate throughout (after an optional linear warm-up from 0)."""
  del total_updates
  if not warmup_steps:
    return optax.constant_schedule(learning_rate)
  return optax.linear_schedule(0.0, learning_rate, warmup_steps)


@SCHEDULES.register("linear")
def linear(learning_rate: float, total_updates: int, end_factor: float = 0.0,
           warmup_steps: int = 0) -> optax.Schedule:
  """Linear warm-up, then linear decay to end_factor * learning_rate at the last update."""
  return optax.join_schedules(
      [optax.linear_schedule(0.0, learning_rate, warmup_steps),
       optax.linear_schedule(learning_rate, end_factor * learning_rate,
                             max(total_updates - warmup_steps, 1))], [warmup_steps])


@SCHEDULES.register("constant_then_linear")
def constant_then_linear(learning_rate: float, total_updates: int, decay_updates: int = 0
                         ) -> optax.Schedule:
  """learning_rate, then a linear decay to 0 over the last `decay_updates` updates (0: the
  second half): CycleGAN's n_epochs / n_epochs_decay policy ("linear" in the reference's
  networks.get_scheduler), counted in updates rather than epochs."""
  if decay_updates < 0:
    raise ValueError(f"decay_updates must be >= 0; got {decay_updates}.")
  decay = min(decay_updates or total_updates // 2, total_updates) or 1
  hold = total_updates - decay
  return optax.join_schedules([optax.constant_schedule(learning_rate),
                               optax.linear_schedule(learning_rate, 0.0, decay)], [hold])


@SCHEDULES.register("cosine")
def cosine(learning_rate: float, total_updates: int, end_factor: float = 0.0,
           warmup_steps: int = 0) -> optax.Schedule:
  """Linear warm-up, then cosine decay to end_factor * learning_rate at the last update."""
  return optax.warmup_cosine_decay_schedule(0.0, learning_rate, warmup_steps,
                                            max(total_updates, warmup_steps + 1),
                                            end_value=end_factor * learning_rate)


def make_schedule(learning_rate: float, schedule: str, schedule_kwargs: Dict[str, Any] | None,
                  total_updates: int) -> float | optax.Schedule:
  """The learning rate the optimizer gets: a float for a constant rate (no schedule counter in
  the optimizer state), else the schedule (update count -> rate)."""
  schedule_factory = SCHEDULES.get(schedule)
  schedule_kwargs = dict(schedule_kwargs or {})
  _check_settings("Schedule", schedule, schedule_factory, schedule_kwargs,
                  {"learning_rate", "total_updates"})
  if schedule == "constant" and not schedule_kwargs.get("warmup_steps"):
    return learning_rate
  return schedule_factory(learning_rate, total_updates, **schedule_kwargs)


def rate_at(schedule: float | optax.Schedule, updates: int) -> float:
  """The rate of the next update after `updates` updates (optax counts from 0)."""
  return float(schedule(updates)) if callable(schedule) else float(schedule)


def _check_settings(kind: str, name: str, factory: Callable, kwargs: Dict[str, Any],
                    reserved: set) -> None:
  accepted = set(inspect.signature(factory).parameters) - reserved
  unknown = sorted(set(kwargs) - accepted)
  if unknown:
    raise ValueError(f"{kind} {name!r} has no setting(s) {unknown}; it accepts "
                     f"{sorted(accepted) or 'none'}.")
  config_checks.check_kwarg_types(f"{kind} {name!r} setting", factory, kwargs)


def make_optimizer(name: str, learning_rate: float, kwargs: Dict[str, Any], *,
                   schedule: str = "constant", schedule_kwargs: Dict[str, Any] | None = None,
                   total_updates: int = 1, clip_grad_norm: float = 0.0
                   ) -> optax.GradientTransformation:
  """The optax optimizer `name` with a learning-rate schedule and optional clipping.

  Args:
    name, kwargs: an OPTIMIZERS name and its settings (b1, b2, decay, ...).
    learning_rate: the peak learning rate the schedule scales.
    schedule, schedule_kwargs: a SCHEDULES name and its settings.
    total_updates: how many updates this player makes in the run (for decaying schedules).
    clip_grad_norm: when > 0, gradients are rescaled to at most this global L2 norm first.

  Raises:
    ValueError: an unknown name or setting (the message lists the valid ones).
  """
  factory = OPTIMIZERS.get(name)
  _check_settings("Optimizer", name, factory, kwargs, {"learning_rate"})
  lr = make_schedule(learning_rate, schedule, schedule_kwargs, total_updates)
  optimizer = factory(learning_rate=lr, **kwargs)
  if clip_grad_norm > 0:
    return optax.chain(optax.clip_by_global_norm(clip_grad_norm), optimizer)
  return optimizer
