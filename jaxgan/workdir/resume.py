"""Resuming a workdir: the checkpoint must continue the same experiment.

A re-run of the command on a workdir continues its latest checkpoint. Changing what the
experiment *is* (loss, learning rates, seed, data, architecture settings ...) on the way would
silently make a run that is neither the old one nor a new one, so those changes are refused
with a list of them; the fields in RESUMABLE_FIELDS control only how the run is executed and
reported, and may change. `config.allow_changes_on_resume=True` accepts any change, on
purpose (e.g. lowering a learning rate mid-run), with a warning that lists them.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple

import jax.numpy as jnp
import ml_collections
from absl import logging

from jaxgan.core import config_checks, state
from jaxgan.experiment import saved_config
from jaxgan.workdir import checkpointing

_OLD_SKIPPED = "skipped_steps"  # D's extras key of the counter before games.

# Fields (or whole sections) that may differ from the checkpoint's config: run length,
# output intervals, evaluation, where the same data is read from, NaN policy, how the n_critic
# updates and the steps per dispatch compile (same math).
RESUMABLE_FIELDS = ("num_train_steps", "log_every_steps", "sample_every_steps",
                    "num_grid_samples", "checkpoint_every_steps", "keep_checkpoints", "eval",
                    "on_nonfinite", "critic_loop", "steps_per_dispatch", "dataset.local_dir",
                    "dataset.data_dir", "allow_changes_on_resume", "lease_timeout_seconds",
                    "take_over_workdir")


def experiment_changes(saved: Dict[str, Any], config: ml_collections.ConfigDict
                       ) -> List[Tuple[str, Any, Any]]:
  """[(field, checkpoint's value, this config's value)] for every experiment field that
  differs. `saved` is the checkpoint's config (JSON); fields added to configs/default.py
  since take their defaults (`saved_config.saved_config`), which leave the game unchanged."""
  before = json.loads(saved_config.saved_config(saved).to_json())
  return [change for change in config_checks.differences(before, json.loads(config.to_json()))
          if not config_checks.in_sections(change[0], RESUMABLE_FIELDS)]


def check_same_experiment(saved: Dict[str, Any], config: ml_collections.ConfigDict,
                          directory: str, step: int) -> None:
  """Raises IncompatibleCheckpointError listing the changed experiment fields, unless
  config.allow_changes_on_resume (then it warns)."""
  changes = experiment_changes(saved, config)
  if not changes:
    return
  listed = "\n".join(f"  {name}: checkpoint {a!r}, this config {b!r}" for name, a, b in changes)
  if config.allow_changes_on_resume:
    logging.warning("Resuming %s (step %d) with a changed experiment "
                    "(config.allow_changes_on_resume=True):\n%s", directory, step, listed)
    return
  raise checkpointing.IncompatibleCheckpointError(
      f"The checkpoint at {directory} (step {step}) was made with a different experiment "
      f"config; resuming would silently change the run:\n{listed}\nUse a new --workdir, the "
      "run's own settings (its config.json), or --config.allow_changes_on_resume=True to "
      "change them on purpose. Nothing was overwritten.")


def restore(checkpointer: checkpointing.Checkpointer, config: ml_collections.ConfigDict,
            states: Dict[str, Any]) -> Tuple[int, Dict[str, Any], Dict[str, Any]]:
  """Restores the latest checkpoint into the structure of `states` ({player: ..., "run": ...}),
  after checking that `config` continues the experiment that made it
  (`check_same_experiment`). Returns (step, states, the checkpoint's saved config)."""
  meta = checkpointer.read_meta()
  check_same_experiment(meta["config"], config, checkpointer.directory, meta["step"])
  return (*load(checkpointer, states), meta["config"])


def load(checkpointer: checkpointing.Checkpointer, states: Dict[str, Any],
         step: Optional[int] = None) -> Tuple[int, Dict[str, Any]]:
  """Checkpoint `step` (default: the latest) in the structure of `states`, also when it was
  written before jaxgan had games (`_load_before_games`)."""
  meta = checkpointer.read_meta(step)
  if _written_before_games(meta["fingerprint"]):
    return _load_before_games(checkpointer, states, meta["fingerprint"], step)
  return checkpointer.restore(states, step)


def _written_before_games(fingerprint: Dict[str, str]) -> bool:
  return not any(path.startswith(f"['{state.RUN}']") for path in fingerprint)


def _load_before_games(checkpointer: checkpointing.Checkpointer, states: Dict[str, Any],
                       fingerprint: Dict[str, str], step: Optional[int]
                       ) -> Tuple[int, Dict[str, Any]]:
  """Checkpoints of jaxgan before games (2026-12-01) hold only {"g", "d"}: the run's step was
  G's update count, and the skipped-steps counter (config.on_nonfinite="skip") sat in D's
  extras. They are restored in that layout (every array checked as usual), then the counters
  move to the run state. Any other difference is refused as for any checkpoint."""
  had_counter = f"['d'].extras['{_OLD_SKIPPED}']" in fingerprint
  d_state = states["d"]
  if had_counter:
    d_state = d_state.replace(extras={**d_state.extras, _OLD_SKIPPED: jnp.zeros((), jnp.int32)})
  loaded_step, old = checkpointer.restore({"g": states["g"], "d": d_state}, step)
  extras = dict(old["d"].extras)
  skipped = extras.pop(_OLD_SKIPPED, jnp.zeros((), jnp.int32))
  run = state.RunState(step=jnp.asarray(old["g"].step, jnp.int32),
                       skipped_steps=jnp.asarray(skipped, jnp.int32))
  return loaded_step, {"g": old["g"], "d": old["d"].replace(extras=extras), state.RUN: run}
