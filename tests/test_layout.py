"""The package layout is the architecture: imports point one way, and no library module
imports a command (docs/architecture.md, "The layers").

Reads every module under jaxgan/ with `ast` (imports inside functions too) and checks each
`jaxgan.*` import against LAYERS: a module may import its own package and any lower layer,
never a higher one nor another package of its own layer. A new top-level module or package
must be given a layer here, so the tree cannot grow a sixth kind of thing unnoticed.
"""
from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
import warnings
from typing import Dict, Iterator, List, Tuple

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "jaxgan")

# Lowest first. Each entry is a top-level unit of jaxgan/: a package or a top-level module.
LAYERS: List[Tuple[str, Tuple[str, ...]]] = [
    ("core", ("core",)),                      # errors, state, random streams, registry, checks
    ("runtime", ("runtime",)),                # the machine: storage, devices, precision, ...
    ("components", ("data", "models", "importers", "losses", "penalties", "optimizers")),
    ("extensions", ("plugins", "evaluation")),
    ("games", ("games",)),
    ("experiment", ("experiment",)),          # the only code that turns a config into a run
    ("workdir", ("workdir",)),                # a run's life in its workdir
    ("loop", ("train",)),                     # the one training loop
    ("commands", ("main", "sample", "evaluate", "translate", "compare", "sweep", "benchmark",
                  "benchmark_evaluation", "classifier", "convert_inception", "fid")),
]
RANK: Dict[str, int] = {unit: rank for rank, (_, units) in enumerate(LAYERS) for unit in units}
COMMANDS = LAYERS[-1][1]


def _modules() -> Iterator[Tuple[str, str]]:
  """(dotted name, path) of every module under jaxgan/."""
  for directory, _, files in os.walk(PACKAGE):
    for name in sorted(files):
      if name.endswith(".py"):
        path = os.path.join(directory, name)
        dotted = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
        yield dotted.removesuffix(".__init__"), path


def _jaxgan_imports(module: str, path: str) -> Iterator[Tuple[int, str]]:
  """(line, imported dotted name) of every jaxgan import in the file, at any depth."""
  is_package = path.endswith("__init__.py")
  with open(path, encoding="utf-8") as f:
    tree = ast.parse(f.read(), path)
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
      base = node.module or ""
      if node.level:  # relative: resolve against the importing package
        parts = module.split(".")[:len(module.split(".")) - node.level + is_package]
        base = ".".join(parts + ([base] if base else []))
      names = [f"{base}.{alias.name}" for alias in node.names] if base == "jaxgan" else [base]
    else:
      continue
    for name in names:
      if name == "jaxgan" or name.startswith("jaxgan."):
        yield node.lineno, name


def _unit(dotted: str) -> str:
  """The top-level unit of jaxgan a dotted name belongs to ("" for jaxgan itself)."""
  parts = dotted.split(".")
  return parts[1] if len(parts) > 1 else ""


def test_every_top_level_module_and_package_has_a_layer():
  units = {name.removesuffix(".py") for name in os.listdir(PACKAGE)
           if name != "__init__.py" and not name.startswith((".", "__"))}
  unplaced = sorted(units - set(RANK))
  assert not unplaced, (
      f"jaxgan/{unplaced}: give each a layer in tests/test_layout.py LAYERS (and a line in "
      "docs/architecture.md), or move it into the package of its role.")


def test_imports_point_down_the_layers_and_never_at_a_command():
  wrong = []
  for module, path in _modules():
    importer = _unit(module)
    if importer not in RANK:
      continue  # jaxgan/__init__.py; unplaced units fail the test above.
    for line, imported in _jaxgan_imports(module, path):
      target = _unit(imported)
      if target in ("", importer):
        continue
      where = f"{os.path.relpath(path, ROOT)}:{line} imports {imported}"
      if target in COMMANDS:
        wrong.append(f"{where}: a command (move the part it needs into a library package)")
      elif RANK.get(target, -1) >= RANK[importer]:
        wrong.append(f"{where}: layer {LAYERS[RANK[target]][0]!r} is not below "
                     f"{LAYERS[RANK[importer]][0]!r}")
  assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("source,message", [
    ("from jaxgan import sample\n", "a command"),
    ("from jaxgan.workdir import checkpointing\n", "is not below"),
    ("def f():\n  from jaxgan.plugins import ema\n", "is not below"),
])
def test_the_check_catches_an_upward_import(tmp_path, monkeypatch, source, message):
  """The check itself: a data module importing a command, a higher layer, or a same-layer
  package (inside a function) is reported with its file and line."""
  fake = tmp_path / "jaxgan"
  (fake / "data").mkdir(parents=True)
  (fake / "data" / "bad.py").write_text(source)
  monkeypatch.setattr(sys.modules[__name__], "ROOT", str(tmp_path))
  monkeypatch.setattr(sys.modules[__name__], "PACKAGE", str(fake))
  with pytest.raises(AssertionError, match=f"jaxgan/data/bad.py:\\d+ imports .*{message}"):
    test_imports_point_down_the_layers_and_never_at_a_command()


def test_every_old_import_path_is_the_module_at_its_new_one():
  """Code written before the layout by role (user games, notebooks) keeps importing: each old
  name, and a module under a moved package, is the same module object as the new name's."""
  from jaxgan.core import moved_modules  # pylint: disable=g-import-not-at-top
  olds = list(moved_modules.MOVED) + ["jaxgan.tricks.ema", "jaxgan.augment.ada"]
  for old in olds:
    new = moved_modules.new_name(old)
    with warnings.catch_warnings():
      warnings.simplefilter("ignore", FutureWarning)
      assert importlib.import_module(old) is importlib.import_module(new), old
    assert sys.modules[new].__spec__.name == new  # The alias did not rename the module.
  assert moved_modules.new_name("jaxgan.tricks.ema") == "jaxgan.plugins.ema"
  assert moved_modules.new_name("jaxgan.trickster") is None
  assert moved_modules.new_name("jaxgan.losses") is None


@pytest.mark.parametrize("old, new", [
    ("jaxgan.sample:jitted_generate", "jaxgan.evaluation.generation:jitted_generate"),
    ("jaxgan.classifier:load", "jaxgan.evaluation.domain_classifier:load"),
    ("jaxgan.classifier:cache_directory", "jaxgan.evaluation.domain_classifier:cache_directory"),
    ("jaxgan.experiment.builders:check_numbers", "jaxgan.experiment.run_checks:check_numbers"),
    ("jaxgan.experiment.builders:saved_config", "jaxgan.experiment.saved_config:saved_config"),
    ("jaxgan.experiment.builders:learning_rate_schedules",
     "jaxgan.experiment.learning_rates:schedules"),
    ("jaxgan.data.sources:from_config", "jaxgan.data.sources:from_spec"),
])
def test_a_name_moved_out_of_a_module_still_resolves_there_with_a_warning(old, new):
  def resolve(dotted):
    module, name = dotted.split(":")
    return getattr(importlib.import_module(module), name)

  with pytest.warns(FutureWarning, match=new.replace(":", r"\.")):
    assert resolve(old) is resolve(new)
  with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
    resolve(old.split(":")[0] + ":nonexistent")


def test_an_old_path_warns_and_an_old_command_path_still_runs(tmp_path):
  """A fresh interpreter: importing an old name warns once, naming the new path; `python -m`
  of a moved command runs the command, after one line saying where it moved."""
  code = ("import warnings\nwarnings.simplefilter('error', FutureWarning)\n"
          "try:\n  import jaxgan.streams\nexcept FutureWarning as w:\n  print(w)\n")
  env = {**os.environ, "PYTHONPATH": ROOT}
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       cwd=tmp_path, check=True)
  assert "jaxgan.streams moved to jaxgan.core.random_streams" in out.stdout
  out = subprocess.run([sys.executable, "-m", "jaxgan.evaluation.convert_inception", "--help"],
                       capture_output=True, text=True, env=env, cwd=tmp_path)  # absl: status 1
  assert "moved to python -m jaxgan.convert_inception" in out.stderr
  assert "--torch_weights: " in out.stdout + out.stderr  # The command's own flags.


def test_saved_configs_find_the_defaults_beside_the_package(monkeypatch):
  """A module that moved finds files by the package's place, not its own: with `configs` not
  importable (a tool run from another directory), configs/default.py is read from the
  repository jaxgan was installed from."""
  from jaxgan.experiment import saved_config  # pylint: disable=g-import-not-at-top
  monkeypatch.setitem(sys.modules, "configs", None)  # `from configs import ...` fails.
  module = saved_config._default_config_module()  # pylint: disable=protected-access
  assert module is not None
  assert os.path.samefile(module.__file__, os.path.join(ROOT, "configs", "default.py"))


def test_an_alias_whose_module_imports_another_alias_keeps_both_specs(tmp_path, monkeypatch):
  """Each alias import restores its own module's spec (kept per import, in the alias spec),
  also when loading the new module imports a second old name on the way (a user module
  written against old paths)."""
  from jaxgan.core import moved_modules  # pylint: disable=g-import-not-at-top
  (tmp_path / "layout_new_a.py").write_text("import jaxgan.layout_old_b\n")
  (tmp_path / "layout_new_b.py").write_text("")
  monkeypatch.syspath_prepend(str(tmp_path))
  monkeypatch.setitem(moved_modules.MOVED, "jaxgan.layout_old_a", "layout_new_a")
  monkeypatch.setitem(moved_modules.MOVED, "jaxgan.layout_old_b", "layout_new_b")
  monkeypatch.setattr(moved_modules, "_LONGEST_FIRST",
                      sorted(moved_modules.MOVED, key=len, reverse=True))
  try:
    with warnings.catch_warnings():
      warnings.simplefilter("ignore", FutureWarning)
      importlib.import_module("jaxgan.layout_old_a")
    for name in ("layout_new_a", "layout_new_b"):
      assert sys.modules[name].__spec__.name == name
      assert sys.modules[f"jaxgan.layout_old_{name[-1]}"] is sys.modules[name]
  finally:
    for name in ("jaxgan.layout_old_a", "jaxgan.layout_old_b", "layout_new_a", "layout_new_b"):
      sys.modules.pop(name, None)
