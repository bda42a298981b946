"""Command-line settings for the open `kwargs` sub-configs, e.g. --config.loss.kwargs.drift=1e-3.

ml_collections' config flags can only override fields that exist, but the `kwargs` and
`schedule_kwargs` sub-configs hold whatever settings the chosen loss, penalty, architecture,
optimizer or schedule takes, so a new key must be addable from the command line. `run` takes
those flags out of argv before absl parses it and sets them on the loaded config; the values
are then checked against the target's signature like any other (jaxgan.experiment.builders).
"""
from __future__ import annotations

import ast
import os
import sys
from typing import Callable, List, Optional, Sequence, Tuple

from absl import app, flags

from jaxgan.core import config_checks

OPEN_SECTIONS = ("kwargs", "schedule_kwargs")
_PREFIX = "--config."


def _is_open_key(path: str) -> bool:
  parts = path.split(".")
  return len(parts) >= 2 and parts[-2] in OPEN_SECTIONS


def split_kwargs_overrides(argv: Sequence[str]) -> Tuple[List[str], List[Tuple[str, str]]]:
  """(argv without them, [(dotted path below config, raw value)]) for --config.*.kwargs.K."""
  rest, overrides = [], []
  args = list(argv)
  i = 0
  while i < len(args):
    arg = args[i]
    name = arg[len(_PREFIX):].split("=", 1)[0] if arg.startswith(_PREFIX) else ""
    if name and _is_open_key(name):
      if "=" in arg:
        overrides.append((name, arg.split("=", 1)[1]))
      elif i + 1 < len(args):
        overrides.append((name, args[i + 1]))
        i += 1
      else:
        raise app.UsageError(f"{arg} needs a value.")
    else:
      rest.append(arg)
    i += 1
  return rest, overrides


def parse_value(raw: str):
  """A Python literal (1e-3, 2, True, 'x', (1, 2)) or, failing that, the string itself."""
  lowered = {"true": True, "false": False}.get(raw.strip().lower())
  if lowered is not None:
    return lowered
  try:
    return ast.literal_eval(raw)
  except (ValueError, SyntaxError):
    return raw


def apply_kwargs_overrides(config, overrides: Sequence[Tuple[str, str]]) -> None:
  """Sets each (path, raw value) on `config`; the parent sub-config must exist."""
  for path, raw in overrides:
    *parents, key = path.split(".")
    target = config
    for i, part in enumerate(parents):
      if part not in target:
        raise app.UsageError(f"--config.{path}: config.{'.'.join(parents[:i + 1])} does not "
                             f"exist (valid at that level: {', '.join(sorted(target.keys()))}).")
      target = target[part]
    try:
      target[key] = parse_value(raw)
    except TypeError as e:
      raise TypeError(f"--config.{path}={raw}: {e}") from e


def unknown_field(config, path: str) -> Optional[str]:
  """A one-line message if the dotted `path` (below config) names no field, else None."""
  target, parts = config, path.split(".")
  for i, part in enumerate(parts):
    if not hasattr(target, "keys") or part not in target:
      level = f"config.{'.'.join(parts[:i])}" if i else "config"
      valid = sorted(target.keys()) if hasattr(target, "keys") else []
      return (f"--config.{path}: {level} has no field {part!r}"
              f"{config_checks.close_match(part, valid)}; its fields: "
              f"{', '.join(valid) or 'none'}.")
    target = target[part]
  return None


def _override_paths(argv: Sequence[str]) -> List[str]:
  return [arg[len(_PREFIX):].split("=", 1)[0] for arg in argv if arg.startswith(_PREFIX)]


def _parse_flags(argv: List[str], config_flag: str) -> List[str]:
  """absl's flag parsing; a --config.FIELD that names no field is one line and status 1
  (ml_collections would raise an AttributeError with a ~50-line traceback)."""
  try:
    return app.parse_flags_with_usage(argv)
  except (AttributeError, KeyError):
    config = _load_config_file(argv, config_flag)
    messages = [] if config is None else [
        m for m in map(lambda p: unknown_field(config, p), _override_paths(argv)) if m]
    if not messages:
      raise  # Not a misspelt field (a bug in the config file itself): keep its traceback.
    print(f"ConfigError: {messages[0]}", file=sys.stderr)
    sys.exit(1)


def _config_path(argv: Sequence[str], config_flag: str) -> Optional[str]:
  prefix = f"--{config_flag}="
  paths = [arg[len(prefix):] for arg in argv if arg.startswith(prefix)]
  return paths[-1] if paths else None


def _load_config_file(argv: Sequence[str], config_flag: str):
  """The config file named by --<config_flag>=PATH in argv, loaded on its own (None if it
  cannot be)."""
  path = _config_path(argv, config_flag)
  try:
    return load_config_file(path) if path else None
  except Exception:  # pylint: disable=broad-except  (then the library's message is used)
    return None


def load_config_file(path: str):
  """get_config() of the config file at `path` (its `configs` package made importable)."""
  make_config_importable(path)
  return config_checks.import_file(path, "_jaxgan_config_file").get_config()


def make_config_importable(path: str) -> None:
  """Puts the folder above the config file's `configs/` on sys.path, so that a config file
  importing `configs.default` loads from any working directory (its own repository's
  default, not another `configs` package)."""
  folder = os.path.dirname(os.path.abspath(path.split(":", 1)[0]))
  if os.path.basename(folder) == "configs":
    root = os.path.dirname(folder)
    if root not in sys.path:
      sys.path.insert(0, root)


def _require_config_file(path: str, config_flag: str) -> None:
  """A --config file that is not there, or cannot be read, is one line and status 1 (the
  library would raise later with a ~40-line traceback). Its own errors keep theirs."""
  file = path.split(":", 1)[0]  # ml_collections: PATH:ARGUMENT passes ARGUMENT to get_config.
  try:
    with open(file, encoding="utf-8"):
      return
  except OSError as e:
    full = os.path.abspath(file)
    where = f" ({full})" if full != file else ""
    print(f"ConfigError: --{config_flag}={path}: cannot read {file!r}{where}: "
          f"{e.strerror}. The recipes are in the repository's configs/ folder: run from the "
          "repository's root, or give the path to the file.", file=sys.stderr)
    sys.exit(1)


def run(main: Callable[[List[str]], None], config_flag: str = "config") -> None:
  """absl's app.run, with --config.*.kwargs.KEY=VALUE flags applied to the loaded config and
  misspelt --config fields reported in one line."""
  argv, overrides = split_kwargs_overrides(sys.argv)
  sys.argv[:] = argv  # config_flags reads sys.argv itself, not just app.run's argv.
  config_path = _config_path(argv, config_flag)
  if config_path:
    _require_config_file(config_path, config_flag)
    make_config_importable(config_path)

  def main_with_overrides(args):
    try:
      apply_kwargs_overrides(getattr(flags.FLAGS, config_flag), overrides)
    except TypeError as e:  # A typed default (Adam's b1) given a value of another type.
      print(f"ConfigError: {e}", file=sys.stderr)
      sys.exit(1)
    return main(args)

  app.run(main_with_overrides, argv=argv,
          flags_parser=lambda args: _parse_flags(args, config_flag))
