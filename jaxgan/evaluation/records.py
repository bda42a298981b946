"""Where evaluations are kept: appended to WORKDIR/eval/history.jsonl, never overwritten.

Every evaluation of a workdir, the periodic ones during training and each `jaxgan.evaluate`,
appends one JSON line: {"time", "source" ("training" or "jaxgan.evaluate"), "step",
"provenance" (jaxgan.evaluation.evaluator.Evaluator.provenance: the protocol
(jaxgan.evaluation.protocols; absent in records written before protocols were recorded, which
read "unrecorded"), which classifier or weights, reference set, metric settings),
"generator": metrics, and "real_floor"/"untrained" when computed}. Two records are comparable
when their provenance is equal (`same_feature_space`).

WORKDIR/eval/step_XXXXXXX.json is the latest `jaxgan.evaluate` report of that step, a
convenience view; a report without baselines keeps those of the previous report of the step
when they were computed in the same feature space (so a re-evaluation does not lose them).
"""
from __future__ import annotations

import datetime
import json
from typing import Any, Dict, List, Optional

from jaxgan.runtime import json_files, storage

HISTORY_FILE = "history.jsonl"
BASELINES = ("real_floor", "untrained")


def eval_dir(workdir: str) -> str:
  return storage.join(workdir, "eval")


def now() -> str:
  return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def append(workdir: str, record: Dict[str, Any]) -> None:
  """Appends `record` (JSON-ready) to WORKDIR/eval/history.jsonl."""
  storage.makedirs(eval_dir(workdir))
  json_files.append_jsonl(storage.join(eval_dir(workdir), HISTORY_FILE), record)


def read(workdir: str) -> List[Dict[str, Any]]:
  """Every evaluation record of the workdir, oldest first (a torn last line is dropped)."""
  return json_files.read_jsonl(storage.join(eval_dir(workdir), HISTORY_FILE))


def feature_space_key(record: Dict[str, Any]) -> Optional[str]:
  """The record's provenance without where the extractor was read from (a classifier copied
  to another folder, Inception weights fetched or converted by hand: the same identity, a
  hash of the weights): equal keys, comparable numbers. None for a record without
  provenance."""
  provenance = record.get("provenance")
  if not provenance:
    return None
  extractor = {k: v for k, v in provenance["feature_extractor"].items()
               if k not in ("dir", "weights")}
  return json.dumps({**provenance, "feature_extractor": extractor}, sort_keys=True)


def same_feature_space(a: Dict[str, Any], b: Dict[str, Any]) -> bool:
  """Whether two records' numbers are comparable (`feature_space_key`)."""
  return feature_space_key(a) is not None and feature_space_key(a) == feature_space_key(b)


def step_path(workdir: str, step: int) -> str:
  return storage.join(eval_dir(workdir), f"step_{step:07d}.json")


def write_step_report(workdir: str, report: Dict[str, Any]) -> Dict[str, Any]:
  """Writes eval/step_N.json (atomically), keeping the previous report's baselines when this
  one has none and both were made in the same feature space; returns what was written."""
  path = step_path(workdir, report["step"])
  previous: Optional[Dict[str, Any]] = None
  if storage.exists(path):
    try:
      with storage.open_file(path) as f:
        previous = json.load(f)
    except (OSError, json.JSONDecodeError):
      previous = None  # A damaged view: the history still has everything.
  report = dict(report)
  if previous is not None and same_feature_space(previous, report):
    for name in BASELINES:
      if name not in report and name in previous:
        report[name] = previous[name]
        report.setdefault("baselines_from", previous.get("time"))
  storage.makedirs(eval_dir(workdir))
  json_files.write_atomically(path, json.dumps(report, indent=1))
  return report
