"""A run's provenance: every start of a workdir appended to WORKDIR/config_history.jsonl.

Each start (a fresh run, or each resume) appends one JSON line:
  {"time", "start_step", "resumed", "versions": {python, jax, flax, optax},
   "config": the effective config, "changes": [[field, previous, now], ...] against the
   previous start (every field, resumable or not), "user_modules": {module: sha256 of its
   source} for every "module:attribute" the config names}
and WORKDIR/config.json is rewritten (atomically) as the effective config, so it always says
what the run is doing now, not what it was first started with.

A user module whose source changed since the previous start is warned about on resume: the
checkpoint then continues with other code than it was trained with, which the config alone
cannot show.
"""
from __future__ import annotations

import datetime
import hashlib
import importlib
import json
import platform
import re
from typing import Any, Dict, List, Optional

import ml_collections
from absl import logging

from jaxgan.core import config_checks
from jaxgan.runtime import json_files, storage

HISTORY_FILE = "config_history.jsonl"
CONFIG_FILE = "config.json"
# A config string naming the researcher's code: "package.module:attribute".
_IMPORT_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def user_modules(config: ml_collections.ConfigDict) -> Dict[str, str]:
  """{module name: sha256 of its source file} of every "module:attribute" in the config
  (a module without a source file, e.g. built in, maps to "")."""
  out = {}
  for value in config_checks.flatten(json.loads(config.to_json())).values():
    if isinstance(value, str) and _IMPORT_PATH.match(value):
      module_name = value.split(":")[0]
      try:
        path = getattr(importlib.import_module(module_name), "__file__", None)
      except ImportError:
        continue  # The registry reports it when the config is resolved.
      if path and storage.isfile(path):
        with storage.input_file(path) as f:
          out[module_name] = hashlib.sha256(f.read()).hexdigest()
      else:
        out[module_name] = ""
  return out


def read(workdir: str) -> List[Dict[str, Any]]:
  """Every start recorded in the workdir, oldest first ([] when none; a torn last line, from
  a kill while appending, is dropped)."""
  return json_files.read_jsonl(storage.join(workdir, HISTORY_FILE))


def _versions() -> Dict[str, str]:
  import flax  # pylint: disable=g-import-not-at-top
  import jax  # pylint: disable=g-import-not-at-top
  import optax  # pylint: disable=g-import-not-at-top
  return {"python": platform.python_version(), "jax": jax.__version__,
          "flax": flax.__version__, "optax": optax.__version__}


def record_start(workdir: str, config: ml_collections.ConfigDict, start_step: int,
                 previous_config: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
  """Appends this start to the history, rewrites config.json, warns about changed user
  modules; returns the entry.

  Args:
    start_step: the step the run starts from (0, or the checkpoint's).
    previous_config: the config the run last ran with when the history has no entry (a
      workdir from before the history: the checkpoint's config); None for a fresh run.
  """
  history = read(workdir)
  config_dict = json.loads(config.to_json())
  modules = user_modules(config)
  previous = history[-1] if history else None
  before = previous["config"] if previous else previous_config
  entry = {"time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "start_step": int(start_step), "resumed": start_step > 0 or before is not None,
           "versions": _versions(), "config": config_dict,
           "changes": (config_checks.differences(before, config_dict) if before is not None
                       else []),
           "user_modules": modules}
  if entry["changes"]:
    logging.info("Config changes since the previous start: %s.", "; ".join(
        f"{name} {a!r} -> {b!r}" for name, a, b in entry["changes"]))
  if previous:
    for module, digest in modules.items():
      old = previous.get("user_modules", {}).get(module)
      if old is not None and old != digest:
        logging.warning("Your module %r changed since this run's previous start (sha256 %s "
                        "-> %s): the checkpoint continues with different code than it was "
                        "trained with.", module, old[:12], digest[:12])
  json_files.append_jsonl(storage.join(workdir, HISTORY_FILE), entry)
  json_files.write_atomically(storage.join(workdir, CONFIG_FILE), config.to_json())
  return entry
