"""Range checks of a config's own fields: the run's numbers, the update order and what a
simultaneous step cannot do, the evaluation's settings. Each plug-in checks its own section
(`jaxgan.plugins`), each registered function its kwargs (`builders`). All raise ConfigError
naming the field, before any data is read.
"""
from __future__ import annotations

from typing import Any, Tuple

import ml_collections

from jaxgan.core import config_checks, errors, run_settings
from jaxgan.core.config_checks import ConfigError
from jaxgan.data import local_files
from jaxgan.experiment import saved_config
from jaxgan.evaluation import evaluator, protocols, reported_metrics
from jaxgan.runtime import mixed_precision, storage

CRITIC_LOOPS = ("unroll", "scan")
ON_NONFINITE = ("stop", "skip")
UPDATE_ORDERS = ("alternating", "simultaneous")
FEATURE_EXTRACTORS = ("classifier", "inception")

_field = config_checks.field


def check_steps_per_dispatch(config: ml_collections.ConfigDict) -> None:
  """Outputs happen between dispatches only, so every interval must be a multiple of
  config.steps_per_dispatch (the run's start and end need not be: steps up to the next
  multiple, and after the last, run one per dispatch)."""
  k = config.steps_per_dispatch
  intervals = ("log_every_steps", "sample_every_steps", "checkpoint_every_steps",
               "eval.every_steps")
  bad = [f"config.{name}={_field(config, name)}" for name in intervals
         if _field(config, name) % k]
  if bad:
    raise ConfigError(f"config.steps_per_dispatch={k} must divide every output interval; "
                      f"{', '.join(bad)} {'is' if len(bad) == 1 else 'are'} not a multiple of "
                      "it.")


def check_numbers(config: ml_collections.ConfigDict) -> None:
  """Range checks of the run's own scalar fields (config.eval: `check_eval`)."""
  config_checks.positive_int(
      config, "num_train_steps", "batch_size", "n_critic", "log_every_steps",
      "sample_every_steps", "checkpoint_every_steps", "keep_checkpoints", "model.latent_dim",
      "num_grid_samples", "steps_per_dispatch")
  check_steps_per_dispatch(config)
  config_checks.non_negative(config, "g_optimizer.clip_grad_norm",
                             "d_optimizer.clip_grad_norm", "dataset.random_crop",
                             "dataset.prefetch")
  for player in ("g_optimizer", "d_optimizer"):
    lr = config[player].learning_rate
    if not lr > 0:
      raise ConfigError(f"config.{player}.learning_rate must be > 0; got {lr!r}.")
  for name, valid in (("on_nonfinite", ON_NONFINITE), ("critic_loop", CRITIC_LOOPS),
                      ("compute_dtype", mixed_precision.COMPUTE_DTYPES),
                      ("dataset.channels", local_files.CHANNELS)):
    value = _field(config, name)
    if value not in valid:
      raise ConfigError(f"config.{name} must be one of {valid}; got {value!r}.")


def check_update_order(config: ml_collections.ConfigDict, plugins: Tuple[Any, ...]) -> None:
  """config.update_order's name, and what a simultaneous step cannot do."""
  if config.update_order not in UPDATE_ORDERS:
    raise ConfigError(f"config.update_order must be one of {UPDATE_ORDERS}; got "
                      f"{config.update_order!r}.")
  if config.update_order != "simultaneous":
    return
  # Each of these needs D's update to come before G's, or D passes G's step does not share.
  clashing = (["config.n_critic > 1"] if config.n_critic > 1 else []) + [
      f"config.{plugin.section}" for plugin in plugins if plugin.alternating_only]
  if clashing:
    raise ConfigError(f"config.update_order='simultaneous' cannot be combined with "
                      f"{', '.join(clashing)}; use update_order='alternating'.")


def _check_protocol(ev: ml_collections.ConfigDict) -> None:
  """config.eval.protocol names a preset (or is ""), and a preset is not given fields it fixes
  set otherwise (they would be silently ignored); the config's own resize and reference."""
  try:
    protocols.of_settings(ev)
  except errors.InvalidInputError as e:
    raise ConfigError(str(e)) from e
  default = saved_config.default_eval()
  if not ev.protocol or default is None:
    return
  preset = protocols.PRESETS[ev.protocol]
  changed = [f"config.eval.{name}={ev[name]!r}" for name in protocols.PRESET_FIELDS
             if ev[name] != default[name] and ev[name] != getattr(
                 preset, "extractor" if name == "feature_extractor" else name)]
  if changed:
    raise ConfigError(
        f"config.eval.protocol={ev.protocol!r} fixes the extractor, resize, sample count and "
        f"reference set ({preset.describe()}); {', '.join(changed)} would be ignored: "
        "leave it at its default, or set config.eval.protocol='' to use your own.")


def check_eval(config: ml_collections.ConfigDict, translates: bool) -> None:
  """config.eval: ranges, the extractor's name, the Inception weights file if needed, and the
  best metric among those the evaluation reports (`translates`: for an image-to-image game)."""
  ev = config.eval
  if not isinstance(ev.every_steps, int) or ev.every_steps < 0:
    raise ConfigError(f"config.eval.every_steps must be an integer >= 0; got {ev.every_steps!r}.")
  config_checks.positive_int(config, *(f"eval.{name}" for name in (
      "batch_size", "classifier_steps", "kid_subsets", "kid_subset_size", "precision_recall_k",
      "density_coverage_k")))
  min_samples = evaluator.min_samples(ev.precision_recall_k, ev.density_coverage_k)
  if not isinstance(ev.num_samples, int) or ev.num_samples < min_samples:
    raise ConfigError(f"config.eval.num_samples must be an integer >= {min_samples} (k-NN "
                      f"metrics); got {ev.num_samples!r}.")
  if ev.feature_extractor not in FEATURE_EXTRACTORS:
    raise ConfigError(f"config.eval.feature_extractor={ev.feature_extractor!r}; valid: "
                      f"{', '.join(FEATURE_EXTRACTORS)}.")
  _check_protocol(ev)
  if translates and ev.protocol:
    raise ConfigError(
        f"config.eval.protocol={ev.protocol!r}: an image-to-image game is scored on its "
        "held-out images in both directions (jaxgan.evaluation.translation), not by a "
        "generator protocol; leave config.eval.protocol empty.")
  if (protocols.of_settings(ev).extractor == "inception" and ev.inception_weights
      and not storage.isfile(storage.expand_user(ev.inception_weights))):
    raise ConfigError(
        f"config.eval.inception_weights={ev.inception_weights!r} is not a file. Leave it empty "
        "for pytorch-fid's weights (fetched, verified and converted on first use), or make "
        "such an .npz with python -m jaxgan.convert_inception.")
  reported_metrics.check(run_settings.of_mapping(run_settings.EvalSettings, ev),
                         translates, config.model.num_classes)
