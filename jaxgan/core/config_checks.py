"""ConfigError and the range checks every config section uses (so that each message names
the field, the same way everywhere)."""
from __future__ import annotations

import difflib
import functools
import importlib.util
import inspect
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import ml_collections

from jaxgan.core import errors


class ConfigError(errors.UserError, ValueError):
  """A config field has an invalid value; the message names the field."""


def field(config: ml_collections.ConfigDict, name: str) -> Any:
  """config.<name> for a dotted name ("eval.every_steps")."""
  return functools.reduce(getattr, name.split("."), config)


def import_file(path: str, module_name: str) -> Any:
  """The Python file at `path` executed as a module called `module_name` (a config file, or
  configs/default.py found without the repository on sys.path)."""
  spec = importlib.util.spec_from_file_location(module_name, path)
  if spec is None or spec.loader is None:
    raise FileNotFoundError(f"Cannot load Python code from {path!r}.")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def flatten(tree: Dict[str, Any], prefix: str = "") -> Dict[str, Any]:
  """A nested config dict (e.g. json.loads(config.to_json())) as {"a.b.c": leaf value}."""
  flat = {}
  for key, value in tree.items():
    if isinstance(value, dict):
      flat.update(flatten(value, f"{prefix}{key}."))
    else:
      flat[f"{prefix}{key}"] = value
  return flat


def differences(before: Dict[str, Any], now: Dict[str, Any]) -> List[Tuple[str, Any, Any]]:
  """[(field, before's value, now's value)] for every flattened field that differs, sorted;
  a field only one side has shows "(absent)" on the other."""
  a, b = flatten(before), flatten(now)
  missing = "(absent)"
  return [(name, a.get(name, missing), b.get(name, missing))
          for name in sorted(set(a) | set(b)) if a.get(name, missing) != b.get(name, missing)]


def in_sections(name: str, sections: Iterable[str]) -> bool:
  """Whether the dotted field `name` is one of `sections` or lies below one of them."""
  return any(name == s or name.startswith(s + ".") for s in sections)


def positive_int(config: ml_collections.ConfigDict, *names: str) -> None:
  for name in names:
    check_positive_int(name, field(config, name))


def non_negative(config: ml_collections.ConfigDict, *names: str) -> None:
  for name in names:
    check_non_negative(name, field(config, name))


def fraction(config: ml_collections.ConfigDict, name: str, closed: bool) -> None:
  """config.<name> in [0, 1] (closed) or [0, 1)."""
  check_fraction(name, field(config, name), closed)


def check_positive_int(name: str, value: Any) -> None:
  """config.<name> (its dotted name, e.g. "replay.buffer_size") is `value`: an integer >= 1."""
  if not isinstance(value, int) or value < 1:
    raise ConfigError(f"config.{name} must be a positive integer; got {value!r}.")


def check_non_negative(name: str, value: Any) -> None:
  """config.<name> is `value`, a number >= 0."""
  if not value >= 0:
    raise ConfigError(f"config.{name} must be >= 0; got {value!r}.")


def check_fraction(name: str, value: Any, closed: bool) -> None:
  """config.<name> is `value`, in [0, 1] (closed) or [0, 1)."""
  if not (0 <= value <= 1 if closed else 0 <= value < 1):
    raise ConfigError(f"config.{name} must be in {'[0, 1]' if closed else '[0, 1)'}; got "
                      f"{value!r}.")


def close_match(name: str, valid: Iterable[str]) -> str:
  """" (did you mean 'x'?)" for the nearest of `valid`, or ""."""
  match = difflib.get_close_matches(name, list(valid), n=1)
  return f" (did you mean {match[0]!r}?)" if match else ""


_SCALAR_TYPES = {"float": float, "int": int, "bool": bool, "str": str}


def expected_type(param: inspect.Parameter) -> Optional[type]:
  """The scalar type a parameter wants: its annotation (a class, or its name when annotations
  are strings) if that is float, int, bool or str, else its default's type; None if neither
  says (e.g. Optional[...] annotations, a default of None)."""
  annotation = param.annotation
  if isinstance(annotation, str):
    annotation = _SCALAR_TYPES.get(annotation.strip())
  if annotation in _SCALAR_TYPES.values():
    return annotation
  if type(param.default) in _SCALAR_TYPES.values():
    return type(param.default)
  return None


def _fits(value: Any, wanted: type) -> bool:
  if wanted is float:  # An int is a float setting too; a bool is not a number here.
    return isinstance(value, (int, float)) and not isinstance(value, bool)
  if wanted is int:
    return isinstance(value, int) and not isinstance(value, bool)
  return isinstance(value, wanted)


def check_kwarg_types(name: str, fn: Callable, kwargs: Dict[str, Any]) -> None:
  """Fails when a value in `kwargs` is not of the scalar type `fn`'s parameter wants (a
  command-line value that is not a Python literal arrives as a string: `logit_weight=abc`)."""
  params = inspect.signature(fn).parameters
  for key, value in kwargs.items():
    wanted = expected_type(params[key]) if key in params else None
    if wanted is not None and not _fits(value, wanted):
      article = "an" if wanted is int else "a"
      raise ConfigError(f"{name}.{key}={value!r}: {getattr(fn, '__name__', fn)} takes "
                        f"{article} {wanted.__name__} there (its annotation or default), not "
                        f"a {type(value).__name__}.")


def check_kwargs(name: str, fn: Callable, kwargs: Dict[str, Any], positional: int) -> None:
  """Fails when `kwargs` names a parameter `fn` does not take (beyond `positional` ones), or
  gives one a value of the wrong scalar type (`check_kwarg_types`)."""
  params = list(inspect.signature(fn).parameters.values())
  if not any(p.kind is p.VAR_KEYWORD for p in params):
    accepted = [p.name for p in params[positional:] if p.kind is not p.VAR_POSITIONAL]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
      hint = close_match(unknown[0], accepted) if len(unknown) == 1 else ""
      raise ConfigError(f"{name} has unknown setting(s) {unknown}{hint}; "
                        f"{getattr(fn, '__name__', fn)} accepts {accepted or 'none'}.")
  check_kwarg_types(name, fn, kwargs)


def bound_function(section: str, name: str, kwargs: Dict[str, Any], registry,
                   positional: int, contract: str) -> Callable:
  """config.<section>.name (`name`) resolved in `registry`, with config.<section>.kwargs
  (`kwargs`) bound.

  Args:
    section: e.g. "loss" or "penalty" (for messages).
    positional: how many positional arguments the function must take before its kwargs.
    contract: the calling convention, for the error message.
  """
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
  check_kwargs(f"config.{section}.kwargs", fn, kwargs, positional=positional)
  return functools.partial(fn, **kwargs) if kwargs else fn
