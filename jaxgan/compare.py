"""Runs side by side: python -m jaxgan.compare W1 W2 ... [--output=DIR].

Workdirs may be given as globs ('runs/lr_*', quoted or expanded by the shell). For each run it
reads config.json, metrics.jsonl, the evaluation history (jaxgan.evaluation.records) and the
latest sample grid, and writes under --output (default ./compare):
  curves.png    every training and evaluation curve, one panel per metric, one line per run;
  samples.png   each run's latest sample grid, side by side;
  compare.md    the table printed: each run's latest evaluation (a translating run's: both
                directions' FID, content preservation and L1), the step its training reached
                and its last logged losses, the config fields in which the runs differ (a
                value changed on resume shows what it was until when), every setting changed
                on resume (config_history.jsonl: "loss.kwargs.gamma 2.0 until step 200, then
                1.0"), and for runs that differ only in their seed the mean ± std (sample
                standard deviation) of every metric.
Numbers are grouped only when their evaluations share a protocol (jaxgan.evaluation.protocols:
extractor, resize, sample count, reference set; records written before protocols were recorded
read "unrecorded") and a feature space (the same classifier or Inception weights, reference set
and metric settings: equal provenance); a group that mixes them is reported run by run, with a
note, instead of averaged, and a table mixing protocols says so.
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from absl import app, flags

from jaxgan.core import config_checks, errors
from jaxgan.evaluation import protocols
from jaxgan.evaluation import records as eval_records
from jaxgan.runtime import storage, visualize
from jaxgan.workdir import metric_logging, resume, run_history

# Columns of the table: (metric as stored, label, format).
COLUMNS = (("fid", "FID", ".2f"), ("kid", "KID", ".4f"), ("precision", "precision", ".3f"),
           ("recall", "recall", ".3f"), ("coverage", "coverage", ".3f"),
           ("class_kl", "class KL", ".4f"))
# A translating game's (cyclegan: jaxgan.evaluation.translation), both directions.
TRANSLATION_COLUMNS = (("ab_fid", "A->B FID", ".2f"), ("ba_fid", "B->A FID", ".2f"),
                       ("ab_content", "content A->B", ".3f"),
                       ("ba_content", "content B->A", ".3f"),
                       ("ab_l1_pair", "L1 A->B", ".4f"), ("ba_l1_pair", "L1 B->A", ".4f"))
# Fields that never make two runs different experiments (where and how often they write).
_BOOKKEEPING = tuple(f for f in resume.RESUMABLE_FIELDS if f not in ("num_train_steps", "eval"))


class CompareError(errors.UserError, ValueError):
  """A workdir given to compare cannot be read; the message names it."""


class RunSummary:
  """What compare reads of one workdir.

  Attributes:
    workdir, name: the folder and its label (the path as given, shortened).
    config: the run's effective config (config.json) as a flat {field: value}.
    records: metrics.jsonl's records.
    evaluation: the latest evaluation record ({"step", "generator", "provenance", ...}) or
      None: eval/history.jsonl's last, else the last eval_* record of metrics.jsonl (no
      provenance: written before evaluation records had any).
    grid: path of the latest samples/step_*.png, or None.
    changes: {field: [(value, until step), ...]}: the earlier values of every setting
      changed on resume (config_history.jsonl), oldest first; the current one is `config`'s.
  """

  def __init__(self, workdir: str, name: str):
    self.workdir, self.name = workdir, name
    path = storage.join(workdir, run_history.CONFIG_FILE)
    if not storage.exists(path):
      raise CompareError(f"{workdir}: no {run_history.CONFIG_FILE}; not a jaxgan workdir.")
    with storage.open_file(path) as f:
      self.config = config_checks.flatten(json.load(f))
    self.records = metric_logging.read_metrics(workdir)
    self.evaluation = _latest_evaluation(workdir, self.records)
    self.changes = _changes_on_resume(run_history.read(workdir))
    grids = sorted(storage.glob(storage.join(workdir, "samples", "step_*.png")))
    self.grid = grids[-1] if grids else None

  def last_losses(self) -> Tuple[Any, str]:
    """(the last logged step, "d_loss 0.693, g_loss 0.712" of that record), ("-", "-") with
    no record."""
    if not self.records:
      return "-", "-"
    last = self.records[-1]
    losses = [f"{k} {v:.4g}" for k, v in last.items()
              if k.endswith("_loss") and isinstance(v, (int, float))]
    return last.get("step", "-"), ", ".join(losses) or "-"

  def value_cell(self, field: str) -> str:
    """config.json's value of `field`, with what it was before a change on resume."""
    now = json.dumps(self.config.get(field))
    earlier = self.changes.get(field)
    if not earlier:
      return now
    return now + " (" + ", ".join(f"{json.dumps(v)} until step {s}" for v, s in earlier) + ")"

  def experiment(self) -> Dict[str, Any]:
    """The config without its seed and bookkeeping: runs equal here differ only in seed."""
    return {k: v for k, v in self.config.items()
            if k != "seed" and not config_checks.in_sections(k, _BOOKKEEPING)}


def _changes_on_resume(history: List[Dict[str, Any]]) -> Dict[str, List[Tuple[Any, int]]]:
  """{field: [(earlier value, the step it ran until), ...]} of the settings a resume changed
  (bookkeeping fields left out)."""
  out: Dict[str, List[Tuple[Any, int]]] = {}
  for start in history:
    if not start.get("resumed"):
      continue
    for field, before, _ in start.get("changes", []):
      if not config_checks.in_sections(field, _BOOKKEEPING):
        out.setdefault(field, []).append((before, start["start_step"]))
  return out


def _latest_evaluation(workdir: str, records: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
  history = eval_records.read(workdir)
  if history:
    return history[-1]
  evals = [r for r in records if "eval_fid" in r]
  if not evals:
    return None
  last = evals[-1]
  return {"step": last["step"], "provenance": None,
          "generator": {k[len("eval_"):]: v for k, v in last.items() if k.startswith("eval_")}}


def expand(patterns: Sequence[str]) -> List[str]:
  """The workdirs the arguments name: each glob expanded (sorted), plain paths kept; a
  pattern matching nothing is an error."""
  out: List[str] = []
  for pattern in patterns:
    if any(c in pattern for c in "*?["):
      matches = sorted(p for p in storage.glob(pattern) if storage.isdir(p))
      if not matches:
        raise CompareError(f"{pattern!r} matches no folder.")
      out += matches
    else:
      out.append(pattern)
  if not out:
    raise CompareError("Give at least one workdir.")
  return list(dict.fromkeys(out))


def _names(workdirs: Sequence[str]) -> List[str]:
  """Labels: the paths without their common leading folders."""
  parts = [(w.rstrip("/") if storage.is_remote(w) else os.path.normpath(w)).split("/")
           for w in workdirs]
  common = 0
  while (len(parts) > 1 and all(len(p) > common + 1 for p in parts)
         and len({p[common] for p in parts}) == 1):
    common += 1
  return ["/".join(p[common:]) for p in parts]


def varying_fields(runs: Sequence[RunSummary]) -> List[str]:
  """Config fields (with seed) whose value is not the same in every run."""
  fields = sorted(set().union(*(r.config for r in runs)))
  return [f for f in fields if len({json.dumps(r.config.get(f)) for r in runs}) > 1
          and not config_checks.in_sections(f, _BOOKKEEPING)]


def seed_groups(runs: Sequence[RunSummary]) -> List[List[RunSummary]]:
  """Runs partitioned by their config without seed, in order of first appearance."""
  groups: Dict[str, List[RunSummary]] = {}
  for run in runs:
    groups.setdefault(json.dumps(run.experiment(), sort_keys=True), []).append(run)
  return list(groups.values())


def mean_std(values: Sequence[float]) -> Tuple[float, float]:
  """Mean and sample standard deviation (ddof 1; 0 for a single value)."""
  x = np.asarray(values, np.float64)
  return float(x.mean()), float(x.std(ddof=1)) if len(x) > 1 else 0.0


def _cell(value: Any, fmt: str) -> str:
  return "-" if value is None else format(value, fmt)


def _protocol(run: RunSummary) -> str:
  """The evaluation's protocol (jaxgan.evaluation.protocols), or "unrecorded"."""
  return "-" if run.evaluation is None else protocols.label(run.evaluation)


def _feature_space(run: RunSummary) -> str:
  ev = run.evaluation
  if ev is None:
    return "-"
  if not ev.get("provenance"):
    return "unknown (recorded before provenance)"
  extractor = ev["provenance"]["feature_extractor"]
  return f"{extractor['name']} {extractor.get('id')}, n={ev['provenance']['num_samples']}"


def columns_of(runs: Sequence[RunSummary]) -> Tuple[Tuple[str, str, str], ...]:
  """The table's metric columns: a translation's when any run's evaluation is one."""
  translating = any("ab_fid" in (r.evaluation or {}).get("generator", {}) for r in runs)
  return TRANSLATION_COLUMNS if translating else COLUMNS


def table(runs: Sequence[RunSummary]) -> str:
  """The markdown comparison (see the module docstring)."""
  columns = columns_of(runs)
  varying = [f for f in varying_fields(runs) if f != "seed"]
  header = ["run", "step", *(label for _, label, _ in columns), *varying, "seed",
            "protocol", "feature space", "trained to", "last losses"]
  lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
  for run in runs:
    ev = run.evaluation or {}
    metrics = ev.get("generator", {})
    trained, losses = run.last_losses()
    cells = [run.name, str(ev.get("step", "-")),
             *(_cell(metrics.get(key), fmt) for key, _, fmt in columns),
             *(run.value_cell(f) for f in varying), str(run.config.get("seed")),
             _protocol(run), _feature_space(run), str(trained), losses]
    lines.append("| " + " | ".join(cells) + " |")
  summaries = []
  for group in seed_groups(runs):
    evaluated = [r for r in group if r.evaluation is not None]
    if len(evaluated) < 2:
      continue
    label = ", ".join(r.name for r in evaluated)
    spaces = {eval_records.feature_space_key(r.evaluation) for r in evaluated}
    labels = sorted({protocols.label(r.evaluation) for r in evaluated})
    if len(labels) > 1:
      summaries.append(f"- {label}: the same experiment, but evaluated under different "
                       f"protocols ({', '.join(labels)}): not averaged. Re-evaluate them "
                       "under one (python -m jaxgan.evaluate --workdir=... "
                       "--config.eval.protocol=...).")
      continue
    if len(spaces) > 1 or None in spaces:
      summaries.append(f"- {label}: the same experiment, but evaluated in different (or "
                       "unrecorded) feature spaces: not averaged. Re-evaluate them in one "
                       "(python -m jaxgan.evaluate --workdir=... with the same settings).")
      continue
    steps = {r.evaluation["step"] for r in evaluated}
    parts = []
    for key, label_, fmt in columns:
      values = [r.evaluation["generator"].get(key) for r in evaluated]
      if all(v is not None for v in values):
        mean, std = mean_std(values)
        parts.append(f"{label_} {mean:{fmt}} ± {std:{fmt}}")
    step_note = (f"step {steps.pop()}" if len(steps) == 1 else
                 f"steps {sorted(steps)} (not the same step!)")
    summaries.append(f"- {label} (seeds {', '.join(str(r.config.get('seed')) for r in evaluated)}"
                     f", {step_note}; mean ± std over {len(evaluated)} runs): "
                     + ", ".join(parts))
  shown = sorted({protocols.label(r.evaluation) for r in runs if r.evaluation})
  if len(shown) > 1:
    lines += ["", f"Protocols differ ({', '.join(shown)}): numbers of different protocols "
              "are not comparable, so none are averaged or ranked across them."]
  if summaries:
    lines += ["", "Runs of the same experiment (configs equal but for the seed):", *summaries]
  changed = [f"- {run.name}: " + "; ".join(
      f"{field} " + ", ".join(f"{json.dumps(v)} until step {s}" for v, s in earlier)
      + f", then {json.dumps(run.config.get(field))}" for field, earlier in run.changes.items())
             for run in runs if run.changes]
  if changed:
    lines += ["", "Settings changed on resume (config_history.jsonl):", *changed]
  return "\n".join(lines)


def _curve_names(runs: Sequence[RunSummary]) -> List[str]:
  panels = visualize.curve_panels([r for run in runs for r in run.records])
  evals = [n for names in visualize.EVAL_PANELS for n in names
           if any(n in r for run in runs for r in run.records)]
  return [n for names in panels for n in names] + evals


def save_curves(runs: Sequence[RunSummary], path: str) -> Optional[str]:
  """One panel per metric, one line per run (returns the path, or None with no records)."""
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top (visualize set Agg)

  names = _curve_names(runs)
  if not names:
    return None
  fig, axes = visualize.panel_grid(len(names), (4.2, 3.2))
  for ax, name in zip(axes, names):
    for run in runs:
      points = [(r["step"], r[name]) for r in run.records if name in r]
      if points:
        steps, values = zip(*points)
        ax.plot(steps, values, label=run.name, marker="o" if len(points) < 30 else None)
    ax.set_title(name, fontsize="medium")
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
  axes[0].legend(fontsize="small")
  fig.tight_layout()
  storage.save_figure(fig, path, dpi=90)
  plt.close(fig)
  return path


def save_samples(runs: Sequence[RunSummary], path: str) -> Optional[str]:
  """Each run's latest sample grid in a row of panels, titled with the run's name."""
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

  with_grid = [r for r in runs if r.grid]
  if not with_grid:
    return None
  fig, axes = visualize.panel_grid(len(with_grid), (4.5, 4.8))
  for ax, run in zip(axes, with_grid):
    ax.set_axis_off()
    ax.imshow(np.asarray(storage.load_image(run.grid).convert("RGB")))
    ax.set_title(f"{run.name}\n{storage.basename(run.grid)}", fontsize="small")
  fig.tight_layout()
  storage.save_figure(fig, path, dpi=100)
  plt.close(fig)
  return path


def compare(patterns: Sequence[str], output: str) -> Tuple[str, List[str]]:
  """Reads the runs, writes the pictures and compare.md under `output`; returns (the table,
  the paths written)."""
  workdirs = expand(patterns)
  runs = [RunSummary(w, n) for w, n in zip(workdirs, _names(workdirs))]
  storage.makedirs(output)
  text = table(runs)
  written = [p for p in (save_curves(runs, storage.join(output, "curves.png")),
                         save_samples(runs, storage.join(output, "samples.png"))) if p]
  storage.write_atomically(storage.join(output, "compare.md"), text + "\n")
  return text, written + [storage.join(output, "compare.md")]


FLAGS = flags.FLAGS


def main(argv) -> None:
  if len(argv) < 2:
    raise app.UsageError("Give the workdirs to compare: python -m jaxgan.compare W1 W2 ...")
  try:
    text, written = compare(argv[1:], FLAGS.output)
  except CompareError as e:
    raise SystemExit(f"CompareError: {e}") from e
  print(text)
  for path in written:
    print("wrote", path)


if __name__ == "__main__":
  flags.DEFINE_string("output", "compare", "Folder for curves.png, samples.png, compare.md.")
  app.run(main)
