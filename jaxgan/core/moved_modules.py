"""The import paths modules had before the layout by role (issue 44), kept working for a while.

`import jaxgan.streams`, `from jaxgan.tricks import ema`, `from jaxgan import builders` and
`python -m jaxgan.evaluation.benchmark` still work: each old name is an alias of the module
at its new path (the same module object, so a patch through either is seen by both), found by
a finder that `jaxgan/__init__.py` puts first on `sys.meta_path`, with a FutureWarning naming
the new path. Nothing is loaded twice: a name under a moved package (`jaxgan.tricks.ema`)
resolves to the new package's module too. Remove after 2027-06, with the finder.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from typing import Any, Callable, Dict, Optional

# Old dotted name -> new one. A package's entry covers its modules (jaxgan.tricks.ema).
MOVED: Dict[str, str] = {
    "jaxgan.errors": "jaxgan.core.errors",
    "jaxgan.registry": "jaxgan.core.registry",
    "jaxgan.config_checks": "jaxgan.core.config_checks",
    "jaxgan.state": "jaxgan.core.state",
    "jaxgan.streams": "jaxgan.core.random_streams",
    "jaxgan.user_errors": "jaxgan.core.user_errors",
    **{f"jaxgan.{name}": f"jaxgan.runtime.{name}" for name in (
        "storage", "json_files", "library_logs", "compilation_cache", "xla_cpu", "flops",
        "parallel", "mixed_precision", "visualize")},
    "jaxgan.tricks.plugin": "jaxgan.plugins.protocol",
    "jaxgan.tricks": "jaxgan.plugins",
    "jaxgan.augment": "jaxgan.plugins.augment",
    "jaxgan.models.classifier": "jaxgan.evaluation.classifier_network",
    "jaxgan.evaluation.benchmark": "jaxgan.benchmark_evaluation",
    "jaxgan.evaluation.convert_inception": "jaxgan.convert_inception",
    "jaxgan.builders": "jaxgan.experiment.builders",
    "jaxgan.config_overrides": "jaxgan.experiment.config_overrides",
    "jaxgan.listing": "jaxgan.experiment.listing",
    **{f"jaxgan.{name}": f"jaxgan.workdir.{name}" for name in (
        "artefacts", "checkpointing", "best_checkpoint", "resume", "workdir_lease",
        "preemption", "run_history", "metric_logging")},
}


_LONGEST_FIRST = sorted(MOVED, key=len, reverse=True)  # jaxgan.tricks.plugin before jaxgan.tricks


def new_name(old: str) -> Optional[str]:
  """The current dotted name of a module imported by its old one (None: not moved)."""
  if not old.startswith("jaxgan."):  # Every import in the process asks: answer fast.
    return None
  for prefix in _LONGEST_FIRST:
    if old == prefix or old.startswith(prefix + "."):
      return MOVED[prefix] + old[len(prefix):]
  return None


class MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
  """Finds an old name and loads it as the module at the new one (also for `python -m`)."""

  def find_spec(self, fullname, path=None, target=None):
    del path, target
    new = new_name(fullname)
    if new is None:
      return None
    # The new file as origin: `python -m OLD` makes it sys.argv[0].
    spec = importlib.util.spec_from_loader(fullname, self,
                                           origin=importlib.util.find_spec(new).origin)
    spec.loader_state = {"new": new}  # Per import: an alias may import another one.
    return spec

  def create_module(self, spec):
    new = spec.loader_state["new"]
    warnings.warn(f"{spec.name} moved to {new}; import it from there (the old name goes "
                  "away after 2027-06).", FutureWarning, stacklevel=2)
    module = importlib.import_module(new)
    # Import machinery sets the alias spec on the module next; exec_module puts this back.
    spec.loader_state["spec"] = module.__spec__
    return module

  def exec_module(self, module):
    # The module stays what it is at its new name (module.__spec__ is the alias spec here).
    module.__spec__ = module.__spec__.loader_state["spec"]

  def get_code(self, fullname):
    """`python -m OLD`: runs the new module's code as __main__."""
    new = new_name(fullname)
    print(f"python -m {fullname} moved to python -m {new}; running that (the old name goes "
          "away after 2027-06).", file=sys.stderr)
    return importlib.util.find_spec(new).loader.get_code(new)


def install() -> None:
  if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
    sys.meta_path.insert(0, MovedModuleFinder())


def forwarded_attributes(module: str, moved: Dict[str, str]) -> Callable[[str], Any]:
  """A module-level `__getattr__` for `module` (its dotted name) that keeps names moved out of
  it importable: `moved` maps each old name to "new.module:name"; reading one warns
  (FutureWarning, naming the new place) and returns the object there. Other names raise
  AttributeError as usual. Remove after 2027-06, with the finder."""

  def __getattr__(name: str) -> Any:
    if name not in moved:
      raise AttributeError(f"module {module!r} has no attribute {name!r}")
    new_module, new_name_ = moved[name].split(":")
    warnings.warn(f"{module}.{name} moved to {new_module}.{new_name_} (the layout by role); "
                  "import it from there.", FutureWarning, stacklevel=2)
    return getattr(importlib.import_module(new_module), new_name_)

  return __getattr__
