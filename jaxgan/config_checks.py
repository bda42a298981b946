"""ConfigError and the range checks every config section uses (so that each message names
the field, the same way everywhere)."""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Dict

import ml_collections


class ConfigError(ValueError):
  """A config field has an invalid value; the message names the field."""


def field(config: ml_collections.ConfigDict, name: str) -> Any:
  """config.<name> for a dotted name ("eval.every_steps")."""
  return functools.reduce(getattr, name.split("."), config)


def positive_int(config: ml_collections.ConfigDict, *names: str) -> None:
  for name in names:
    value = field(config, name)
    if not isinstance(value, int) or value < 1:
      raise ConfigError(f"config.{name} must be a positive integer; got {value!r}.")


def non_negative(config: ml_collections.ConfigDict, *names: str) -> None:
  for name in names:
    value = field(config, name)
    if not value >= 0:
      raise ConfigError(f"config.{name} must be >= 0; got {value!r}.")


def fraction(config: ml_collections.ConfigDict, name: str, closed: bool) -> None:
  """config.<name> in [0, 1] (closed) or [0, 1)."""
  value = field(config, name)
  if not (0 <= value <= 1 if closed else 0 <= value < 1):
    raise ConfigError(f"config.{name} must be in {'[0, 1]' if closed else '[0, 1)'}; got "
                      f"{value!r}.")


def check_kwargs(name: str, fn: Callable, kwargs: Dict[str, Any], positional: int) -> None:
  """Fails when `kwargs` names a parameter `fn` does not take (beyond `positional` ones)."""
  params = list(inspect.signature(fn).parameters.values())
  if any(p.kind is p.VAR_KEYWORD for p in params):
    return
  accepted = [p.name for p in params[positional:] if p.kind is not p.VAR_POSITIONAL]
  unknown = sorted(set(kwargs) - set(accepted))
  if unknown:
    raise ConfigError(f"{name} has unknown setting(s) {unknown}; "
                      f"{getattr(fn, '__name__', fn)} accepts {accepted or 'none'}.")


def bound_function(config: ml_collections.ConfigDict, section: str, registry,
                   positional: int, contract: str) -> Callable:
  """config.<section>.name resolved in `registry`, with config.<section>.kwargs bound.

  Args:
    section: e.g. "loss" or "penalty".
    positional: how many positional arguments the function must take before its kwargs.
    contract: the calling convention, for the error message.
  """
  name = config[section].name
  try:
    fn = registry.get(name)
  except ValueError as e:
    raise ConfigError(f"config.{section}.name: {e}") from e
  if not callable(fn):
    raise ConfigError(f"config.{section}.name={name!r} is not a function.")
  params = [p for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
  if len(params) < positional:
    raise ConfigError(f"config.{section}.name={name!r}: {contract}; "
                      f"{fn.__name__}{inspect.signature(fn)} takes fewer arguments.")
  kwargs = config[section].kwargs.to_dict()
  check_kwargs(f"config.{section}.kwargs", fn, kwargs, positional=positional)
  return functools.partial(fn, **kwargs) if kwargs else fn
