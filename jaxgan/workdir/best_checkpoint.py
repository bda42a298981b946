"""The best checkpoint by an evaluation metric: WORKDIR/best (config.eval.best_metric).

After every periodic evaluation of a run with config.eval.best_metric set (e.g. "fid"), the
states are saved to WORKDIR/best when that metric beats the best so far (lower or higher is
better by the metric: jaxgan.evaluation.reported_metrics). WORKDIR/best holds one checkpoint, in
the periodic checkpoints' format, its meta naming the metric, its value and the evaluation
settings it was measured with; keep_checkpoints never deletes it, and `python -m jaxgan.sample`
/ `jaxgan.evaluate` read it with --checkpoint=best. A new best is written beside the old one
(orbax writes a temporary directory and renames it when complete) and the old one is deleted
only after that, so a run killed during the write keeps the previous best.

Only process 0 evaluates; it decides and tells the others (a broadcast), and every process
then writes its part of the checkpoint, as with the periodic ones.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple

import jax
import numpy as np
from absl import logging

from jaxgan.core import errors, run_settings
from jaxgan.evaluation.reported_metrics import lower_is_better
from jaxgan.workdir import checkpointing

# The evaluation settings a metric's value depends on: a best kept under other ones is not
# comparable (FID falls with more samples), so resuming with them changed is refused.
COMPARABLE_SETTINGS = ("best_metric", "num_samples", "feature_extractor", "protocol",
                       "reference", "resize")
# What a best kept before a setting existed was evaluated with (the protocol's fields came
# later: such a best was kept under the config's own fields, against a sampled reference).
_BEFORE_RECORDED = {"protocol": "", "reference": "sample"}


def _comparable(values: Dict[str, Any]) -> Dict[str, Any]:
  """The settings that matter: the resize only for Inception (the classifier takes images at
  their own size)."""
  if values.get("feature_extractor") != "inception":
    values = {k: v for k, v in values.items() if k != "resize"}
  return values


class BestCheckpointError(errors.UserError, RuntimeError):
  """WORKDIR/best was kept under other evaluation settings than this config's."""


def settings_kept(kept: Dict[str, Any]) -> Dict[str, Any]:
  """The comparable settings a best's record was kept under (a record from before a setting
  existed: what that setting's absence meant)."""
  return _comparable({name: kept.get(name, _BEFORE_RECORDED.get(name))
                      for name in COMPARABLE_SETTINGS})


def _settings(settings: run_settings.EvalSettings) -> Dict[str, Any]:
  return _comparable({name: getattr(settings, name) for name in COMPARABLE_SETTINGS})


class BestCheckpoint:
  """WORKDIR/best of one run: reads the best so far at start-up, and saves a better one.

  Raises (constructor):
    BestCheckpointError: WORKDIR/best was kept by another metric or evaluation settings.
    checkpointing.CorruptCheckpointError: its meta cannot be read.
  """

  def __init__(self, workdir: str, settings: run_settings.EvalSettings):
    self.metric = settings.best_metric
    self.settings = _settings(settings)
    self.checkpointer = checkpointing.Checkpointer(workdir, keep=1, subdir=checkpointing.BEST)
    self.record: Optional[Dict[str, Any]] = None  # {"step", "value", **settings}
    step = self.checkpointer.latest_step()
    if step is None:
      return
    meta = self.checkpointer.read_meta(step)
    kept = meta.get("best", {})
    kept_settings = settings_kept(kept)
    if kept_settings != self.settings:
      raise BestCheckpointError(
          f"{self.checkpointer.directory} holds the best checkpoint (step {step}) by "
          f"{kept_settings}, but this config "
          f"evaluates {self.settings}: their values cannot be compared. Keep the run's "
          f"evaluation settings, or move the folder aside (mv {self.checkpointer.directory} "
          f"{self.checkpointer.directory}.old) to keep the best by the new ones.")
    self.record = kept

  def improves(self, value: float) -> bool:
    """Whether `value` of the metric beats the best kept (any finite value beats none)."""
    if not np.isfinite(value):
      return False
    if self.record is None:
      return True
    best = self.record["value"]
    return value < best if lower_is_better(self.metric) else value > best

  def consider(self, step: int, scalars: Optional[Dict[str, float]],
               host_state: Callable[[], Any], config_json: str,
               image_shape: Tuple[int, int, int]) -> bool:
    """Saves `host_state()` (the states, fetched only when saved) as the best when the
    evaluation's `scalars` (process 0's; None on the others) beat the best kept; returns
    whether it did. Every process must call it."""
    improved = False
    if scalars is not None:
      key = f"eval_{self.metric}"
      if key not in scalars:  # reported_metrics.check rules this out; kept for a custom evaluator.
        raise BestCheckpointError(f"config.eval.best_metric={self.metric!r}: the evaluation "
                                  f"reported {', '.join(sorted(scalars))}, not {key}.")
      value = float(scalars[key])
      # A step already kept (a resumed run evaluating again the step it had kept) is kept.
      improved = self.improves(value) and step not in self.checkpointer.all_steps()
    if jax.process_count() > 1:
      from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
      improved = bool(multihost_utils.broadcast_one_to_all(np.int32(improved)))
    if not improved:
      return False
    record = {"step": int(step), "value": value if scalars is not None else None,
              **self.settings}
    self.checkpointer.save(step, host_state(), config_json, image_shape, {"best": record})
    previous = self.record
    self.record = record
    logging.info("New best %s %.4g at step %d (was %s); saved in %s.", self.metric,
                 record["value"] if record["value"] is not None else float("nan"), step,
                 "none" if previous is None else f"{previous['value']:.4g} at step "
                 f"{previous['step']}", self.checkpointer.directory)
    return True

  def close(self) -> None:
    self.checkpointer.close()
