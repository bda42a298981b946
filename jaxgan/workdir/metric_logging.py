"""Where metrics go: stdout (with progress), WORKDIR/metrics.jsonl and TensorBoard.

Only process 0 writes; other processes get a writer that does nothing.
"""
from __future__ import annotations

import json
import time
from typing import Callable, Dict, List, Optional

import numpy as np
from absl import logging

from jaxgan.runtime import json_files, storage
from jaxgan.workdir import tensorboard_files

# The metrics shown on the progress line, with short labels; all go to the files.
_HEADLINE = (("d_loss", "d_loss"), ("g_loss", "g_loss"), ("d_real_prob", "D(x)"),
             ("d_fake_prob", "D(G(z))"), ("d_wasserstein_estimate", "W"),
             ("d_penalty", "penalty"), ("g_feature_matching", "FM"),
             ("d_updates", "D updates"), ("resolution", "res"), ("fade_alpha", "alpha"))

_EVAL_HEADLINE = (("eval_fid", "FID", ".3f"), ("eval_kid", "KID", ".4f"),
                  ("eval_precision", "precision", ".3f"), ("eval_recall", "recall", ".3f"),
                  ("eval_coverage", "coverage", ".3f"), ("eval_class_kl", "class KL", ".3f"),
                  ("eval_class_accuracy", "class accuracy", ".3f"),
                  ("eval_seconds", "seconds", ".1f"))


def _format_seconds(seconds: float) -> str:
  seconds = int(seconds)
  hours, rest = divmod(seconds, 3600)
  minutes, secs = divmod(rest, 60)
  return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


class MetricWriter:
  """Writes scalars for a step to every sink and prints a progress line."""

  def __init__(self, workdir: str, total_steps: int,
               images_before: Callable[[int], int], enabled: bool):
    """images_before: real images D has seen before a step (for images/s)."""
    self.enabled = enabled
    self.total_steps = total_steps
    self.images_before = images_before
    self.path = storage.join(workdir, "metrics.jsonl")
    self._tb = None
    self._last: Optional[tuple] = None  # (step, time) of the previous write
    if enabled:
      self._tb = tensorboard_files.TensorBoardWriter(storage.join(workdir, "tensorboard"))

  def start(self, step: int) -> None:
    """Marks the step and time from which throughput is measured (after compilation)."""
    self._last = (step, time.perf_counter())

  def write(self, step: int, scalars: Dict[str, float]) -> None:
    now = time.perf_counter()
    record = {"step": step, **{k: float(v) for k, v in scalars.items()}}
    if self._last is not None and step > self._last[0]:
      steps_per_sec = (step - self._last[0]) / (now - self._last[1])
      record["steps_per_sec"] = steps_per_sec
      record["images_per_sec"] = ((self.images_before(step) - self.images_before(self._last[0]))
                                  / (now - self._last[1]))
    self._last = (step, now)
    if not self.enabled:
      return
    self._to_files(record)
    logging.info(self._progress_line(record))

  def _to_files(self, record: Dict[str, float]) -> None:
    """One record ({"step": ..., name: value}) to metrics.jsonl and TensorBoard."""
    json_files.append_jsonl(self.path, record)
    for name, value in record.items():
      if name != "step":
        self._tb.scalar(name, value, record["step"])
    self._tb.flush()

  def image(self, tag: str, image: np.ndarray, step: int) -> None:
    """A uint8 picture [H, W, C] (a sample grid) to TensorBoard's images."""
    if self.enabled:
      self._tb.image(tag, image, step)
      self._tb.flush()

  def write_eval(self, step: int, scalars: Dict[str, float], feature_space: str = "") -> None:
    """An evaluation record ({"eval_fid": ...}) to every sink, and a line of its headline
    (ending with `feature_space`, the extractor that made the numbers)."""
    if not self.enabled:
      return
    record = {"step": step, **{k: float(v) for k, v in scalars.items()}}
    self._to_files(record)
    parts = [f"eval step {step}"]
    parts += [f"{label} {record[name]:{fmt}}" for name, label, fmt in _EVAL_HEADLINE
              if name in record]
    if "eval_classes_covered" in record and "eval_num_classes" in record:
      parts.append(f"classes {record['eval_classes_covered']:.0f}/"
                   f"{record['eval_num_classes']:.0f}")
    if feature_space:
      parts.append(feature_space)
    logging.info(" | ".join(parts))

  def _progress_line(self, record: Dict[str, float]) -> str:
    step = int(record["step"])
    parts = [f"step {step}/{self.total_steps}"]
    parts += [f"{label} {record[name]:.3f}" for name, label in _HEADLINE if name in record]
    if "steps_per_sec" in record:
      eta = (self.total_steps - step) / record["steps_per_sec"]
      parts.append(f"{record['steps_per_sec']:.2f} steps/s ({record['images_per_sec']:.0f} "
                   f"img/s), ETA {_format_seconds(eta)}")
    return " | ".join(parts)

  def close(self) -> None:
    if self._tb is not None:
      self._tb.close()


def read_metrics(workdir: str) -> List[Dict[str, float]]:
  """All records of WORKDIR/metrics.jsonl, oldest first ([] when there is none; a torn last
  line dropped)."""
  return json_files.read_jsonl(storage.join(workdir, "metrics.jsonl"))


def truncate_metrics(workdir: str, last_step: int) -> None:
  """Keeps the records of steps <= last_step (and drops a torn last line): a resumed run
  starts from its checkpoint, so the log must not hold steps it is about to redo."""
  path = storage.join(workdir, "metrics.jsonl")
  if not storage.exists(path):
    return
  kept = [r for r in read_metrics(workdir) if r["step"] <= last_step]
  # A kill during the rewrite leaves the old file, never half of one.
  json_files.write_atomically(path, "".join(json.dumps(r) + "\n" for r in kept))
