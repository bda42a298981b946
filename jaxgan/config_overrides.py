"""Command-line settings for the open `kwargs` sub-configs, e.g. --config.loss.kwargs.drift=1e-3.

ml_collections' config flags can only override fields that exist, but the `kwargs` and
`schedule_kwargs` sub-configs hold whatever settings the chosen loss, penalty, architecture,
optimizer or schedule takes, so a new key must be addable from the command line. `run` takes
those flags out of argv before absl parses it and sets them on the loaded config; the values
are then checked against the target's signature like any other (jaxgan.builders).
"""
from __future__ import annotations

import ast
import sys
from typing import Callable, List, Sequence, Tuple

from absl import app, flags

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
    target[key] = parse_value(raw)


def run(main: Callable[[List[str]], None], config_flag: str = "config") -> None:
  """absl's app.run, with --config.*.kwargs.KEY=VALUE flags applied to the loaded config."""
  argv, overrides = split_kwargs_overrides(sys.argv)
  sys.argv[:] = argv  # config_flags reads sys.argv itself, not just app.run's argv.

  def main_with_overrides(args):
    apply_kwargs_overrides(getattr(flags.FLAGS, config_flag), overrides)
    return main(args)

  app.run(main_with_overrides, argv=argv)
