"""The quality study's table and plot: jaxgan's evaluation against training minutes.

  python experiments/quality/table.py RUN_DIR... [--plot=fid_vs_minutes.png]

For every workdir (trained with config.eval.every_steps > 0), one row per evaluation: the
training minutes to that step (the sum of each log interval's steps / steps_per_sec, i.e.
the step time alone: neither compilation, the classifier's training nor the evaluations
count), FID, KID, precision, recall, coverage, classes covered and class KL. Runs are named
by their folder. A row's minutes are those of the machine it ran on: compare runs made on the
same idle machine.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Dict, List

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from jaxgan.workdir import metric_logging  # noqa: E402

COLUMNS = (("fid", "FID", "{:.1f}"), ("kid", "KID", "{:.1f}"), ("precision", "prec", "{:.2f}"),
           ("recall", "recall", "{:.2f}"), ("coverage", "cover", "{:.2f}"),
           ("classes_covered", "classes", "{:.0f}"), ("class_kl", "class KL", "{:.3f}"))


def evaluations(workdir: str) -> List[Dict[str, float]]:
  """[{"step", "minutes", metric: value}] of one run's periodic evaluations."""
  rows, minutes, last_step = [], 0.0, 0
  for record in metric_logging.read_metrics(workdir):
    if "steps_per_sec" in record:
      minutes += (record["step"] - last_step) / record["steps_per_sec"] / 60
      last_step = record["step"]
    if "eval_fid" in record:
      rows.append({"step": record["step"], "minutes": minutes,
                   **{name: record.get(f"eval_{name}") for name, _, _ in COLUMNS}})
  return rows


def markdown(runs: Dict[str, List[Dict[str, float]]]) -> str:
  head = ["run", "step", "minutes"] + [title for _, title, _ in COLUMNS]
  lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
  for name, rows in runs.items():
    for row in rows:
      cells = [name, str(row["step"]), f"{row['minutes']:.1f}"] + [
          "" if row[key] is None else fmt.format(row[key]) for key, _, fmt in COLUMNS]
      lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)


def plot(runs: Dict[str, List[Dict[str, float]]], path: str, floor: float) -> None:
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  fig, ax = plt.subplots(figsize=(6, 4))
  for name, rows in runs.items():
    ax.plot([r["minutes"] for r in rows], [r["fid"] for r in rows], marker="o", label=name)
  if floor:
    ax.axhline(floor, color="gray", linestyle="--", label=f"real held-out floor {floor}")
  ax.set(xlabel="training minutes (2-core CPU, step time only)", ylabel="FID (classifier "
         "features, 5000 samples)", yscale="log", title="jaxgan evaluation vs minutes")
  ax.legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=120)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("workdirs", nargs="+")
  parser.add_argument("--plot", default="")
  parser.add_argument("--floor", type=float, default=5.7, help="the real-data FID floor")
  args = parser.parse_args()
  runs = {os.path.basename(os.path.normpath(w)): evaluations(w) for w in args.workdirs}
  print(markdown(runs))
  if args.plot:
    plot(runs, args.plot, args.floor)


if __name__ == "__main__":
  main()
