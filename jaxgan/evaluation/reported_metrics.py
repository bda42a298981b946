"""The metrics a run's evaluation reports, and which way each is better.

`config.eval.best_metric` (the metric WORKDIR/best is kept by, jaxgan.workdir.best_checkpoint)
must be one of them: `check` refuses any other before data is read, listing the valid ones.
"""
from __future__ import annotations

from jaxgan.core import run_settings
from jaxgan.core.config_checks import ConfigError
from jaxgan.evaluation import protocols

# Metric (as the evaluators name them, without "eval_") -> True if lower is better. A
# translating game's metrics carry a direction prefix, "ab_" or "ba_" (ab_fid, ba_content).
BETTER_IS_LOWER = {
    "fid": True, "kid": True, "class_kl": True, "l1_pair": True, "cycle": True,
    "precision": False, "recall": False, "density": False, "coverage": False, "is": False,
    "classes_covered": False, "class_accuracy": False, "content": False,
}
TRANSLATION_DIRECTIONS = ("ab_", "ba_")
_ANY_FEATURES = ("fid", "kid", "precision", "recall", "density", "coverage", "is")
_CLASSIFIER_FEATURES = ("class_kl", "classes_covered")  # need the classifier's predictions


def _base_name(metric: str) -> str:
  for prefix in TRANSLATION_DIRECTIONS:
    if metric.startswith(prefix):
      return metric[len(prefix):]
  return metric


def lower_is_better(metric: str) -> bool:
  return BETTER_IS_LOWER[_base_name(metric)]


def check(settings: run_settings.EvalSettings, translates: bool, num_classes: int) -> None:
  """Fails, before any data is read, when config.eval.best_metric is not a metric this run's
  evaluation reports (the message lists those it does)."""
  metric = settings.best_metric
  if not metric:
    return
  classifier = protocols.of_settings(settings).extractor == "classifier"
  names = list(_ANY_FEATURES)
  if classifier:
    names += _CLASSIFIER_FEATURES
    names += ["class_accuracy"] if num_classes else []
  if translates:  # Both directions; the content score and the pair's L1 (when paired).
    names += ["cycle", "l1_pair"] + (["content"] if classifier else [])
    names = [d + name for d in TRANSLATION_DIRECTIONS for name in names]
  if metric not in names:
    raise ConfigError(f"config.eval.best_metric={metric!r} is not a metric this run's "
                      f"evaluation reports; valid: {', '.join(names)} (or '' for none).")
  if not settings.every_steps:
    raise ConfigError(f"config.eval.best_metric={metric!r} needs periodic evaluation: set "
                      "config.eval.every_steps > 0.")
