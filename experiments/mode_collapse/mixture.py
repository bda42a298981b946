"""The 2-D mixture-of-Gaussians toy: each remedy's samples over training, and its mode count.

  python experiments/mode_collapse/mixture.py --out=experiments/mode_collapse \\
      [--mixtures=ring,grid] [--steps=10000] [--seeds=0,1,2]

The data are jaxgan.data.mixture's ring (8 modes) and grid (25 modes); the networks the
Unrolled GAN paper's toy (models "toy2d": G 2 x 128 ReLU, D 1 x 128 ReLU, z of 256) with its
training settings (batch 512, Adam 1e-4, beta1 0.5; Metz et al. 2017 appendix A) and the
standard game with the row's plug-ins, in steps_per_dispatch chunks of one compiled scan.
Every `--snapshot` steps 2,500 samples are drawn and measured as PacGAN measures
(jaxgan.evaluation.metrics.mixture_modes: high-quality = within 3 std of its mode; a mode
is covered by one high-quality sample; KL of their mode histogram to uniform).

Writes OUT/mixture_<name>.png (rows: remedies, columns: steps; seed 0), and prints and
writes OUT/mixture_table.md (the last snapshot, mean +- std over seeds) and
OUT/mixture_results.json.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import jax  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from configs import default  # noqa: E402
from jaxgan.core import random_streams  # noqa: E402
from jaxgan.data import mixture  # noqa: E402
from jaxgan.evaluation import metrics  # noqa: E402
from jaxgan.experiment import builders  # noqa: E402
from jaxgan.runtime import parallel  # noqa: E402

BATCH = 512
ROWS = {
    "gan": {},
    "minibatch_discrimination": {"model.kwargs.minibatch_discrimination": 8},
    "unrolled_5": {"unrolled.steps": 5},
    "unrolled_10": {"unrolled.steps": 10},
    "pacgan_2": {"packing.size": 2, "batch_size": 2 * BATCH},
    "pacgan_4": {"packing.size": 4, "batch_size": 4 * BATCH},
    "wgan_gp": {"loss.name": "wasserstein", "penalty.name": "wgan_gp", "n_critic": 5},
}

flags.DEFINE_string("out", "/tmp/mixture", "Folder of the pictures and tables.")
flags.DEFINE_list("mixtures", list(mixture.MIXTURES), "Mixtures to run.")
flags.DEFINE_list("rows", list(ROWS), f"Rows to run, of {', '.join(ROWS)}.")
flags.DEFINE_integer("steps", 10000, "Train steps of every run.")
flags.DEFINE_integer("snapshot", 2000, "Steps between measured snapshots.")
flags.DEFINE_integer("chunk", 500, "Steps per compiled call (lax.scan).")
flags.DEFINE_list("seeds", ["0"], "Seeds (mean +- std over them).")
flags.DEFINE_integer("num_samples", 2500, "Samples per snapshot (PacGAN's 2,500).")
FLAGS = flags.FLAGS


def get_config(row: str):
  """The toy's recipe: the default config as the Unrolled GAN paper's toy, plus `row`."""
  config = default.get_config()
  config.model.name = "toy2d"
  config.model.latent_dim = 256
  config.batch_size = BATCH
  for optimizer in (config.g_optimizer, config.d_optimizer):
    optimizer.learning_rate = 1e-4
  for key, value in ROWS[row].items():
    *parents, leaf = key.split(".")
    target = config
    for parent in parents:
      target = target[parent]
    target[leaf] = value
  return config


def run(mix: mixture.Mixture, row: str, seed: int):
  """[(step, samples [n, 2], measures)] at every snapshot (step 0 included), and seconds."""
  config = get_config(row)
  config.seed = seed
  experiment = builders.build(config, (1, 1, 2))
  game = experiment.game
  step_fn = experiment.pmapped_step(FLAGS.chunk, devices=jax.devices()[:1])
  states = parallel.replicate(experiment.init_states())
  keys = parallel.replicate(random_streams.base_key(seed))
  sample_key = random_streams.run_key(seed, random_streams.EVAL_LATENTS)
  generate = jax.jit(game.generate)
  snapshots, start = [], time.time()

  def snapshot(step):
    variables = parallel.unreplicate(states)[game.sampler].sampling_variables()
    points = np.asarray(generate(variables, game.sample_inputs(sample_key, FLAGS.num_samples)))
    points = points.reshape(-1, 2)
    snapshots.append((step, points, metrics.mixture_modes(points, mix.centres, mix.std)))

  snapshot(0)
  n = config.batch_size * config.n_critic
  for first in range(0, FLAGS.steps, FLAGS.chunk):
    batch = np.stack([mix.batch(seed, s, n).reshape(config.n_critic, config.batch_size, 1, 1, 2)
                      for s in range(first, first + FLAGS.chunk)])
    states, _ = step_fn(states, {"image": batch[None]}, keys)
    if (first + FLAGS.chunk) % FLAGS.snapshot == 0:
      snapshot(first + FLAGS.chunk)
  return snapshots, time.time() - start


def draw(mix: mixture.Mixture, runs: dict, path: str) -> None:
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  rows = list(runs)
  columns = len(runs[rows[0]])
  figure, axes = plt.subplots(len(rows), columns, figsize=(1.6 * columns, 1.6 * len(rows)),
                              squeeze=False)
  limit = np.abs(mix.centres).max() * 1.5
  for i, row in enumerate(rows):
    for j, (step, points, measured) in enumerate(runs[row]):
      ax = axes[i, j]
      ax.scatter(mix.centres[:, 0], mix.centres[:, 1], s=12, c="tab:red", marker="x", lw=0.8)
      ax.scatter(points[:, 0], points[:, 1], s=0.3, c="tab:blue", alpha=0.25, lw=0)
      ax.set_xlim(-limit, limit)
      ax.set_ylim(-limit, limit)
      ax.set_xticks([])
      ax.set_yticks([])
      ax.set_title(f"{step}: {measured['modes']}/{measured['num_modes']}", fontsize=7)
      if j == 0:
        ax.set_ylabel(row, fontsize=7)
  figure.suptitle(f"{mix.name}: samples over training (step: modes covered)", fontsize=9)
  figure.tight_layout()
  figure.savefig(path, dpi=110)
  plt.close(figure)


def main(argv):
  del argv
  os.makedirs(FLAGS.out, exist_ok=True)
  results, lines = [], []
  for name in FLAGS.mixtures:
    mix = mixture.get(name)
    pictured = {}
    lines += [f"**{name}** ({mix.num_modes} modes, std {mix.std}), step {FLAGS.steps}, "
              f"{FLAGS.num_samples} samples, {len(FLAGS.seeds)} seed(s):", "",
              "| row | modes | high-quality | KL | seconds per run |",
              "| --- | ---: | ---: | ---: | ---: |"]
    for row in FLAGS.rows:
      last = []
      for seed in map(int, FLAGS.seeds):
        snapshots, seconds = run(mix, row, seed)
        if seed == int(FLAGS.seeds[0]):
          pictured[row] = snapshots
        final = snapshots[-1][2]
        results.append({"mixture": name, "row": row, "seed": seed, "seconds": seconds,
                        "curve": [(s, m) for s, _, m in snapshots]})
        last.append((final["modes"], final["high_quality"], final["kl"], seconds))
        print(json.dumps({"mixture": name, "row": row, "seed": seed,
                          "seconds": round(seconds, 1), **final}), flush=True)
      a = np.array(last)
      spread = lambda x, f: f"{x.mean():{f}} ± {x.std():{f}}" if len(x) > 1 else f"{x[0]:{f}}"
      lines.append(f"| {row} | {spread(a[:, 0], '.1f')} | {spread(100 * a[:, 1], '.1f')}% | "
                   f"{spread(a[:, 2], '.2f')} | {np.median(a[:, 3]):.0f} |")
    lines.append("")
    draw(mix, pictured, os.path.join(FLAGS.out, f"mixture_{name}.png"))
  text = "\n".join(lines)
  print(text)
  with open(os.path.join(FLAGS.out, "mixture_table.md"), "w") as f:
    f.write(text + "\n")
  with open(os.path.join(FLAGS.out, "mixture_results.json"), "w") as f:
    json.dump(results, f)


if __name__ == "__main__":
  app.run(main)
