"""Augmentation with little data: the DCGAN recipe on 1,000 and on 10,000 MNIST digits, with
no augmentation, DiffAugment and ADA, at equal steps, scored the same way.

  python experiments/augmentation/study.py --mnist_dir=../shared/data/mnist \
      --out=/tmp/augmentation_study [--steps=2000]

Trains each setting with `python -m jaxgan.main --config=configs/dcgan_tutorial.py` (its own process,
as a user would), on the first 1,000 or all 10,000 digits of the MNIST test split (written as
.npz datasets under --out), then scores every run with ONE evaluator: jaxgan's classifier
features (one classifier, trained once on all 10,000 digits), 4,500 samples against 4,500 of
the digits the 1,000-digit runs never saw (FID, KID, precision/recall, coverage), beside two
references scored the same way: the other 4,500 unseen digits (the floor) and the 1,000-digit
training set itself (a perfect memoriser). Plus a memorisation check: the
mean pixel L2 distance of 1,000 samples to their nearest image of the run's own training set,
beside the same for 1,000 real digits the 1,000-digit runs never saw. ADA's p (largest,
final) and mean r_t come from the run's log; training seconds from its logged speeds. Writes
results.json, table.md and grids.png (each run's final sample grid) under --out.

ADA runs with ada_kimg=100 rather than the reference's 500: a 2000-step run at batch 64 shows
D 128,000 real images, in which p could otherwise move by at most 0.26.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

SETTINGS = {
    "none": [],
    "diffaugment": ["--config.augment.name=diffaugment"],
    "ada": ["--config.augment.name=ada", "--config.augment.ada_kimg=100"],
}
SMALL = 1000  # The small runs train on the first 1,000 digits.
SIZES = (SMALL, 10000)


def write_subsets(mnist_dir: str, out: str) -> dict:
  from jaxgan.data import sources
  data = sources.load("mnist", "test", mnist_dir, None)
  dirs = {}
  for n in SIZES:
    directory = os.path.join(out, f"data_{n}")
    os.makedirs(directory, exist_ok=True)
    np.savez(os.path.join(directory, "train.npz"), images=data.images[:n],
             labels=data.labels[:n], num_classes=10)
    dirs[n] = directory
  return data, dirs


def train(run_dir: str, data_dir: str, steps: int, extra: list) -> None:
  if os.path.exists(os.path.join(run_dir, "checkpoints", str(steps))):
    return  # Done before: --out is reused.
  command = [sys.executable, "-m", "jaxgan.main", "--config=configs/dcgan_tutorial.py",
             f"--workdir={run_dir}", "--config.dataset.name=npz",
             f"--config.dataset.local_dir={data_dir}", "--config.dataset.split=train",
             f"--config.num_train_steps={steps}", "--config.eval.every_steps=0",
             "--config.log_every_steps=100", f"--config.sample_every_steps={steps}", *extra]
  subprocess.run(command, cwd=ROOT, check=True, env=dict(os.environ, PYTHONPATH=ROOT))


def training_seconds(records: list) -> float:
  """The run's training time from its logged speeds (each record: the steps since the one
  before at `steps_per_sec`): compile and evaluation excluded, a resumed run counted once."""
  seconds, last = 0.0, 0
  for record in records:
    seconds += (record["step"] - last) / record["steps_per_sec"]
    last = record["step"]
  return seconds


def nearest_distance(samples: np.ndarray, train_images: np.ndarray) -> float:
  """Mean over `samples` [m, ...] in [-1, 1] of the pixel L2 distance to the nearest of
  `train_images` [N, ...] (uint8)."""
  a = samples.reshape(len(samples), -1).astype(np.float64)
  b = train_images.reshape(len(train_images), -1).astype(np.float64) / 127.5 - 1
  d2 = (a * a).sum(1)[:, None] - 2 * a @ b.T + (b * b).sum(1)[None, :]
  return float(np.sqrt(np.maximum(d2.min(1), 0)).mean())


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--mnist_dir", required=True)
  parser.add_argument("--out", required=True)
  parser.add_argument("--steps", type=int, default=2000)
  args = parser.parse_args()
  os.makedirs(args.out, exist_ok=True)
  data, dirs = write_subsets(args.mnist_dir, args.out)
  for n in SIZES:
    for name, extra in SETTINGS.items():
      train(os.path.join(args.out, "runs", f"{n}_{name}"), dirs[n], args.steps, extra)

  from configs import default
  from jaxgan.data import pipeline
  from jaxgan.evaluation import generation, setup
  from jaxgan.experiment import builders
  from jaxgan.evaluation import evaluator as evaluator_lib
  from jaxgan.workdir import metric_logging, saved_run
  config = default.get_config()
  config.dataset.split = "test"  # What the classifier is trained on (its provenance).
  config.eval.classifier_dir = os.path.join(args.out, "classifier")
  # The digits the small runs never saw, in random order, halved: the evaluator's reference
  # and the real floor (in order, the split's halves differ: its first 5,000 digits come from
  # NIST SD-3, its last 5,000 from SD-1). The classifier is trained once on all 10,000.
  unseen = data.images[SMALL + np.random.default_rng(0).permutation(len(data.images) - SMALL)]
  reference, floor = unseen[:len(unseen) // 2], unseen[len(unseen) // 2:]
  evaluator = evaluator_lib.Evaluator(
      setup.make_extractor(builders.settings_of(config), data), reference,
      num_samples=len(reference), seed=config.seed,
      kid_subsets=config.eval.kid_subsets, kid_subset_size=config.eval.kid_subset_size,
      precision_recall_k=config.eval.precision_recall_k,
      density_coverage_k=config.eval.density_coverage_k)
  results = {"unseen real digits: NN distance to the first 1,000": nearest_distance(
      pipeline.to_model_range(floor[:1000]), data.images[:SMALL])}
  # What the scores mean: other real digits (the floor) and a perfect memoriser of the
  # 1,000-digit training set.
  copies = -(-len(reference) // SMALL)
  references = {"4,500 other unseen real digits (floor)": floor,
                "the 1,000 training digits, repeated (memoriser)": np.tile(
                    data.images[:SMALL], (copies, 1, 1, 1))}
  for key, images in references.items():
    scores = evaluator.evaluate_generator(lambda n, x=images: pipeline.to_model_range(x[:n]))
    results[key] = evaluator_lib.scalars(scores)
  for n in SIZES:
    for name in SETTINGS:
      key = f"{n}_{name}"
      run = saved_run.load_run(os.path.join(args.out, "runs", key))
      generate = generation.make_generate(run.game, run.sampling_variables(),
                                          setup.eval_latents_key(0), 500)
      scores = evaluator_lib.scalars(evaluator.evaluate_generator(generate, None))
      records = metric_logging.read_metrics(os.path.join(args.out, "runs", key))
      p = [r["augment_p"] for r in records if "augment_p" in r]
      rt = [r["augment_rt"] for r in records if "augment_rt" in r]
      results[key] = {**scores, "nn_distance_to_train": nearest_distance(
          generate(1000), data.images[:n]), "final_p": p[-1] if p else None,
                      "max_p": max(p) if p else None,
                      "mean_rt": float(np.mean(rt)) if rt else None,
                      "train_seconds": training_seconds(records), "step": run.step}
      print(key, {k: results[key][k] for k in ("eval_fid", "eval_coverage",
                                                "nn_distance_to_train", "final_p")},
            flush=True)
  with open(os.path.join(args.out, "results.json"), "w") as f:
    json.dump(results, f, indent=1)

  def row(label, r, extra="| - | - | - | - |"):
    return (f"| {label} | {r['eval_fid']:.1f} | {r['eval_kid']:.1f} | "
            f"{r['eval_precision']:.3f} | {r['eval_recall']:.3f} | {r['eval_coverage']:.3f} "
            + extra)

  def optional(value, digits):
    return "-" if value is None else f"{value:.{digits}f}"

  lines = ["| run | FID | KID | precision | recall | coverage | NN distance to train | "
           "p: max, final | mean r_t | train s |", "|" + " --- |" * 10]
  for n in SIZES:
    for name in SETTINGS:
      r = results[f"{n}_{name}"]
      lines.append(row(f"{n} digits, {name}", r,
                       f"| {r['nn_distance_to_train']:.2f} | "
                       f"{optional(r['max_p'], 3)}, {optional(r['final_p'], 3)} | "
                       f"{optional(r['mean_rt'], 2)} | {r['train_seconds']:.0f} |"))
  for key in references:
    lines.append(row(key, results[key]))
  table = "\n".join(lines)
  with open(os.path.join(args.out, "table.md"), "w") as f:
    f.write(table + "\n")
  print(table)

  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  from PIL import Image
  fig, axes = plt.subplots(len(SIZES), len(SETTINGS), figsize=(4 * len(SETTINGS),
                                                                 4.3 * len(SIZES)))
  for i, n in enumerate(SIZES):
    for j, name in enumerate(SETTINGS):
      grid = os.path.join(args.out, "runs", f"{n}_{name}", "samples",
                          f"step_{args.steps:07d}.png")
      axes[i, j].imshow(Image.open(grid))
      axes[i, j].set_title(f"{n} digits, {name}: FID {results[f'{n}_{name}']['eval_fid']:.0f}")
      axes[i, j].axis("off")
  fig.tight_layout()
  fig.savefig(os.path.join(args.out, "grids.png"), dpi=80)


if __name__ == "__main__":
  main()
