"""The Stacked MNIST mode-collapse table: each remedy trained for the same steps, counted as
the papers count (experiments/mode_collapse/count_modes.py: 25,600 samples).

  python experiments/mode_collapse/stacked_mnist.py --root=/tmp/mode_collapse \\
      --local_dir=../shared/data/mnist --steps=1500 --seeds=0,1

Every row is configs/stacked_mnist_metz.py (the Unrolled GAN paper's networks) plus the row's
overrides, run by the main command in ROOT/<row>/seed<k>; a run that finished is not trained
again (its workdir is resumed, which does nothing). The CPU budget departs from the paper in
two flags, both in every row: --d_width (default 8: D's widths 8-16-32, where the paper's
quarter-size D has 2-4-8) and --g_learning_rate (default 2e-4, the paper's 1e-4). With the
paper's values D stayed at chance and G made grey noise through the 1,600 steps tried here
(the papers train for ~500,000); see README.md. Each run's
modes, KL, steps and wall-clock minutes are appended to ROOT/results.jsonl; the table
(mean +- std over seeds) is printed and written to ROOT/table.md.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

import count_modes  # noqa: E402  (this folder)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BATCH = 128  # configs/stacked_mnist_metz.py: packs per D update are kept at 128 (PacGAN).

ROWS = {
    "dcgan": [],
    "minibatch_discrimination": ["--config.model.kwargs.minibatch_discrimination=8"],
    "unrolled_5": ["--config.unrolled.steps=5"],
    "unrolled_10": ["--config.unrolled.steps=10"],
    "pacgan_2": ["--config.packing.size=2", f"--config.batch_size={2 * BATCH}"],
    "pacgan_3": ["--config.packing.size=3", f"--config.batch_size={3 * BATCH}"],
    "pacgan_4": ["--config.packing.size=4", f"--config.batch_size={4 * BATCH}"],
    "wgan_gp": ["--config.loss.name=wasserstein", "--config.penalty.name=wgan_gp",
                "--config.penalty.weight=10.0", "--config.n_critic=5"],
}

flags.DEFINE_string("root", "/tmp/mode_collapse", "Folder of the runs and results.")
flags.DEFINE_string("local_dir", "", "MNIST IDX folder (offline; uses its test split).")
flags.DEFINE_integer("steps", 1500, "Train steps of every row.")
flags.DEFINE_list("seeds", ["0"], "Seeds (mean +- std over them).")
flags.DEFINE_list("rows", list(ROWS), f"Rows to run, of {', '.join(ROWS)}.")
flags.DEFINE_integer("num_samples", 25600, "Samples counted per run.")
flags.DEFINE_integer("d_width", 8, "D's first width (the paper's quarter-size D: 2).")
flags.DEFINE_float("g_learning_rate", 2e-4, "G's learning rate (the paper's: 1e-4).")
FLAGS = flags.FLAGS


def train(workdir: str, row: str, seed: int) -> float:
  """Runs (or resumes) one row; its wall-clock seconds."""
  command = [sys.executable, "-m", "jaxgan.main", "--config=configs/stacked_mnist_metz.py",
             f"--workdir={workdir}", f"--config.seed={seed}",
             f"--config.num_train_steps={FLAGS.steps}",
             f"--config.model.kwargs.d_width={FLAGS.d_width}",
             f"--config.g_optimizer.learning_rate={FLAGS.g_learning_rate}", *ROWS[row]]
  if FLAGS.local_dir:
    command += [f"--config.dataset.local_dir={FLAGS.local_dir}", "--config.dataset.split=test"]
  start = time.time()
  subprocess.run(command, cwd=REPO, check=True)
  return time.time() - start


def table(results: list) -> str:
  lines = ["| row | steps | modes (of 1000) | KL | minutes per run | seeds |",
           "| --- | ---: | ---: | ---: | ---: | ---: |"]
  for row in ROWS:
    runs = [r for r in results if r["row"] == row]
    if not runs:
      continue
    modes, kl = np.array([r["modes"] for r in runs]), np.array([r["kl"] for r in runs])
    minutes = np.median([r["minutes"] for r in runs])
    spread = lambda x, f: f"{x.mean():{f}} ± {x.std():{f}}" if len(x) > 1 else f"{x[0]:{f}}"
    lines.append(f"| {row} | {runs[0]['step']} | {spread(modes, '.1f')} | {spread(kl, '.2f')} "
                 f"| {minutes:.1f} | {len(runs)} |")
  return "\n".join(lines)


def main(argv):
  del argv
  os.makedirs(FLAGS.root, exist_ok=True)
  results_path = os.path.join(FLAGS.root, "results.jsonl")
  results = []
  if os.path.exists(results_path):
    with open(results_path) as f:
      results = [json.loads(line) for line in f if line.strip()]
  for seed in map(int, FLAGS.seeds):
    for row in FLAGS.rows:
      if any(r["row"] == row and r["seed"] == seed and r["step"] == FLAGS.steps
             for r in results):
        continue
      workdir = os.path.join(FLAGS.root, row, f"seed{seed}")
      seconds = train(workdir, row, seed)
      counted = count_modes.count(workdir, FLAGS.num_samples)
      result = {"row": row, "seed": seed, "minutes": round(seconds / 60, 2), **counted}
      print(json.dumps(result), flush=True)
      results.append(result)
      with open(results_path, "a") as f:
        f.write(json.dumps(result) + "\n")
  text = table(results)
  print(text)
  with open(os.path.join(FLAGS.root, "table.md"), "w") as f:
    f.write(text + "\n")


if __name__ == "__main__":
  app.run(main)
