"""The config a run saved, completed with the fields added to configs/default.py since.

Tools that load a checkpoint (`jaxgan.sample`, `jaxgan.evaluate`, resuming) rebuild the run's
experiment from the config stored with it; a field added after the run was made takes its
default, which leaves the run's game unchanged (every addition is off by default).
"""
from __future__ import annotations

import os
from typing import Any, Dict, Optional

import ml_collections

import jaxgan
from jaxgan.core import config_checks


def _default_config_module():
  """configs.default: from sys.path (the repository root when run from there), else from the
  repository this jaxgan was installed from (an editable install, run from anywhere); None
  when neither has it."""
  try:
    from configs import default  # pylint: disable=g-import-not-at-top
    return default
  except ImportError:
    pass
  root = os.path.dirname(os.path.dirname(os.path.abspath(jaxgan.__file__)))  # The repository.
  path = os.path.join(root, "configs", "default.py")
  if not os.path.isfile(path):
    return None
  return config_checks.import_file(path, "_jaxgan_default_config")


def default_eval() -> Optional[ml_collections.ConfigDict]:
  """configs/default.py's config.eval (None where that file cannot be found)."""
  default = _default_config_module()
  return None if default is None else default.get_config().eval


def saved_config(saved: Dict[str, Any]) -> ml_collections.ConfigDict:
  """The config a run saved (config.json / checkpoint meta), completed with today's defaults.

  Fields added to configs/default.py after the run was made take their default values (so
  the run's game is unchanged: every addition is off by default), which lets tools load
  checkpoints written by older versions. configs/default.py is found as
  `_default_config_module` says; without it the saved config is used as it is.
  """
  default = _default_config_module()
  if default is None:
    return ml_collections.ConfigDict(saved)
  config = default.get_config()
  # Locked sections are jaxgan's fields: fill them in. Open ones (the kwargs of a loss,
  # optimizer, ...) belong to the saved run whole: the defaults' kwargs are for the default
  # choices (Adam's b1/b2 would break a saved RMSprop). Recorded before unlocking, which
  # unlocks every section.
  open_sections = set()

  def find_open(section: ml_collections.ConfigDict) -> None:
    for value in section.values():
      if isinstance(value, ml_collections.ConfigDict):
        if not value.is_locked:
          open_sections.add(id(value))
        find_open(value)

  find_open(config)

  def merge(target: ml_collections.ConfigDict, values: Dict[str, Any]) -> None:
    with target.unlocked():
      for key, value in values.items():
        sub = target.get(key)
        if (isinstance(value, dict) and isinstance(sub, ml_collections.ConfigDict)
            and id(sub) not in open_sections):
          merge(sub, value)
        else:
          target[key] = value

  merge(config, saved)
  return config
