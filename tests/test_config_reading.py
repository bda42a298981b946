"""The ConfigDict is read in one package (docs/architecture.md, "Where the config is read").

`jaxgan.experiment` turns a config into checked objects and typed settings
(`jaxgan.core.run_settings`); the loop, a run's workdir services, the data loaders, the
evaluator and the plug-ins receive those. Named exceptions: writing config.json and
config_history.jsonl (workdir/run_history), comparing a saved config on resume
(workdir/resume), the config checks themselves (core/config_checks), and the commands, which
make and change configs. These tests read every module with `ast`, and check that the typed
settings and the plug-ins' keyword arguments cannot drift from configs/default.py.
"""
from __future__ import annotations

import ast
import dataclasses
import inspect
import os
import sys
import typing
from typing import Iterator, List, Tuple

import ml_collections
import pytest

from configs import default
from jaxgan import plugins
from jaxgan.core import run_settings
from jaxgan.experiment import builders
from tests import test_layout

ROOT = test_layout.ROOT
PACKAGE = test_layout.PACKAGE
# Modules that may read a ConfigDict's fields (dotted, or a package's prefix with a dot).
READERS = ("jaxgan.experiment.", "jaxgan.core.config_checks", "jaxgan.workdir.run_history",
           "jaxgan.workdir.resume") + tuple(f"jaxgan.{name}" for name in test_layout.COMMANDS)
# Modules that hold a config without reading it (an annotation, handing it on).
HOLDERS = ("jaxgan.train", "jaxgan.workdir.saved_run")
# Attribute chains ending in `.config` that are not a jaxgan config.
OTHER_CONFIGS = ("jax", "tf", "fsspec")


def _is_reader(module: str, allowed: Tuple[str, ...]) -> bool:
  return any(module == name or (name.endswith(".") and module.startswith(name))
             for name in allowed)


def _config_uses(tree: ast.AST) -> Iterator[Tuple[int, str]]:
  """(line, what) of every read of a config's field and every import of ml_collections."""
  for node in ast.walk(tree):
    if isinstance(node, (ast.Attribute, ast.Subscript)):
      value = node.value
      if isinstance(value, ast.Name) and value.id == "config":
        yield node.lineno, "reads config"
      elif (isinstance(value, ast.Attribute) and value.attr == "config"
            and not (isinstance(value.value, ast.Name) and value.value.id in OTHER_CONFIGS)):
        yield node.lineno, "reads .config"
    elif isinstance(node, ast.Import) and any(
        alias.name.split(".")[0] == "ml_collections" for alias in node.names):
      yield node.lineno, "imports ml_collections"
    elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == (
        "ml_collections"):
      yield node.lineno, "imports ml_collections"


def test_only_the_experiment_package_and_the_named_exceptions_read_the_config():
  wrong: List[str] = []
  for module, path in test_layout._modules():  # pylint: disable=protected-access
    if _is_reader(module, READERS):
      continue
    with open(path, encoding="utf-8") as f:
      tree = ast.parse(f.read(), path)
    for line, what in _config_uses(tree):
      if what == "imports ml_collections" and module in HOLDERS:
        continue
      wrong.append(f"{os.path.relpath(path, ROOT)}:{line} {what}")
  assert not wrong, ("Give it typed settings (jaxgan.core.run_settings) or its section as "
                     "keyword arguments instead:\n" + "\n".join(wrong))


@pytest.mark.parametrize("source", [
    "def f(config):\n  return config.batch_size\n",
    "def f(run):\n  return run.config.eval.every_steps\n",
    "import ml_collections\n",
])
def test_the_check_catches_a_config_read(tmp_path, monkeypatch, source):
  fake = tmp_path / "jaxgan"
  (fake / "data").mkdir(parents=True)
  (fake / "data" / "bad.py").write_text(source)
  monkeypatch.setattr(test_layout, "ROOT", str(tmp_path))
  monkeypatch.setattr(test_layout, "PACKAGE", str(fake))
  monkeypatch.setattr(sys.modules[__name__], "ROOT", str(tmp_path))
  with pytest.raises(AssertionError, match=r"jaxgan/data/bad.py:\d+ (reads|imports)"):
    test_only_the_experiment_package_and_the_named_exceptions_read_the_config()


def _fits(value, annotation) -> bool:
  """Whether a default of configs/default.py has the type a settings field declares."""
  wanted = {"int": int, "float": (int, float), "str": str, "bool": bool}[annotation.__name__]
  return isinstance(value, wanted) and (annotation is bool or not isinstance(value, bool))


@pytest.mark.parametrize("cls, section", [
    (run_settings.RunSettings, ""), (run_settings.DataSpec, "dataset"),
    (run_settings.EvalSettings, "eval")])
def test_every_typed_setting_is_a_declared_field_of_its_type(cls, section):
  """Field names and types agree with configs/default.py (where defaults are declared)."""
  config = default.get_config()
  values = config[section] if section else config
  hints = typing.get_type_hints(cls)
  for field in dataclasses.fields(cls):
    name = f"config.{section + '.' if section else ''}{field.name}"
    assert field.name in values, f"{cls.__name__}.{field.name}: {name} is not declared"
    if not dataclasses.is_dataclass(hints[field.name]):
      assert _fits(values[field.name], hints[field.name]), (name, values[field.name])
  if section:  # A whole section is typed: no field of it is left out.
    assert set(values) == {f.name for f in dataclasses.fields(cls)}, section


def test_settings_are_the_configs_values_and_cannot_be_changed():
  config = default.get_config()
  config.eval.every_steps, config.dataset.random_flip, config.seed = 7, True, 3
  settings = builders.settings_of(config)
  assert (settings.eval.every_steps, settings.dataset.random_flip, settings.seed) == (7, True, 3)
  assert settings.dataset == run_settings.of_mapping(run_settings.DataSpec, config.dataset)
  with pytest.raises(dataclasses.FrozenInstanceError):
    settings.seed = 4  # type: ignore[misc]


@pytest.mark.parametrize("cls", plugins.PLUGINS, ids=lambda cls: cls.__name__)
def test_each_plugin_takes_exactly_its_sections_fields(cls):
  """`from_section`'s keyword arguments are its section's fields in configs/default.py (a
  section that is one field: that field's name)."""
  section = default.get_config()[cls.section]
  fields = (set(section) if isinstance(section, ml_collections.ConfigDict)
            else {cls.section})
  params = inspect.signature(cls.from_section).parameters.values()
  keywords = {p.name for p in params if p.kind == p.KEYWORD_ONLY}
  assert keywords == fields, cls.section
