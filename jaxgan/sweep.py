"""A seed or parameter sweep: one jaxgan.main run per combination, one workdir each.

  python -m jaxgan.sweep --config=configs/dcgan.py --root=runs/lr \
      --vary=seed=0,1,2 --vary=g_optimizer.learning_rate=1e-4,2e-4 \
      -- --config.dataset.local_dir=../shared/data/mnist --config.dataset.split=test

runs the 6 combinations one after another, each as
  python -m jaxgan.main --config=CONFIG --workdir=ROOT/seed=0,g_optimizer.learning_rate=0.0001
      --config.seed=0 --config.g_optimizer.learning_rate=0.0001 [what follows --]
then prints the jaxgan.compare command for ROOT/*. Each value is a Python literal (as for
--config.FIELD); a field the config does not have fails before anything runs. Re-running the
sweep resumes every run that did not finish (jaxgan.main's resume) and leaves finished ones as
they are. --dry_run prints the commands only. The config path works from any directory.
"""
from __future__ import annotations

import itertools
import subprocess
import sys
from typing import Any, List, Sequence, Tuple

from absl import app, flags

from jaxgan.experiment import config_overrides
from jaxgan.runtime import storage

FLAGS = flags.FLAGS


def parse_vary(specs: Sequence[str]) -> List[Tuple[str, List[Any]]]:
  """[(field, [values])] from "field=v1,v2,..." specs (values as Python literals)."""
  out = []
  for spec in specs:
    field, has_values, raw = spec.partition("=")
    if not has_values or not field or not raw:
      raise app.UsageError(f"--vary={spec!r}: write --vary=FIELD=V1,V2,...")
    values = [config_overrides.parse_value(v) for v in raw.split(",")]
    out.append((field, values))
  return out


def combinations(vary: Sequence[Tuple[str, List[Any]]]) -> List[List[Tuple[str, Any]]]:
  """Every combination, the last field varying fastest."""
  fields = [f for f, _ in vary]
  return [list(zip(fields, values)) for values in itertools.product(*(v for _, v in vary))]


def run_name(combination: Sequence[Tuple[str, Any]]) -> str:
  return ",".join(f"{field}={value}" for field, value in combination) or "run"


def _flag_value(value: Any) -> str:
  return value if isinstance(value, str) else repr(value)


def commands(config: str, root: str, vary: Sequence[Tuple[str, List[Any]]],
             passthrough: Sequence[str]) -> List[Tuple[str, List[str]]]:
  """[(workdir, argv of jaxgan.main)] of the sweep."""
  out = []
  for combination in combinations(vary):
    workdir = storage.join(root, run_name(combination))
    argv = [sys.executable, "-m", "jaxgan.main", f"--config={config}", f"--workdir={workdir}",
            *(f"--config.{field}={_flag_value(value)}" for field, value in combination),
            *passthrough]
    out.append((workdir, argv))
  return out


def check_fields(config_path: str, vary: Sequence[Tuple[str, List[Any]]]) -> None:
  """Every varied field exists in the config (a misspelt one fails before any run)."""
  config_overrides.make_config_importable(config_path)
  config = config_overrides.load_config_file(config_path)
  for field, _ in vary:
    message = config_overrides.unknown_field(config, field)
    if message:
      sys.exit("ConfigError: " + message.replace("--config.", "--vary=", 1))


def main(argv) -> None:
  if not FLAGS.config or not FLAGS.root:
    raise app.UsageError("--config and --root are required.")
  vary = parse_vary(FLAGS.vary or [])
  check_fields(FLAGS.config, vary)
  passthrough = argv[1:]
  failed = []
  planned = commands(FLAGS.config, FLAGS.root, vary, passthrough)
  for i, (workdir, command) in enumerate(planned):
    print(f"[{i + 1}/{len(planned)}] python {' '.join(command[1:])}", flush=True)
    if not FLAGS.dry_run and subprocess.run(command, check=False).returncode != 0:
      failed.append(workdir)
  print(f"Compare: python -m jaxgan.compare '{storage.join(FLAGS.root, '*')}'")
  if failed:
    sys.exit(f"{len(failed)} of {len(planned)} runs failed: {', '.join(failed)}")


if __name__ == "__main__":
  flags.DEFINE_string("config", None, "The config file every run uses.")
  flags.DEFINE_string("root", None, "Folder of the sweep's workdirs (one per combination).")
  flags.DEFINE_multi_string("vary", None, "FIELD=V1,V2,... (repeat for a product).")
  flags.DEFINE_bool("dry_run", False, "Print the commands only.")
  app.run(main)
