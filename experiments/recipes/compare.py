"""Trains every MNIST recipe for the same number of steps and shows their samples side by side.

  python experiments/recipes/compare.py --data_dir=../shared/data/mnist --steps=1000 \
      --workroot=/tmp/recipes

Each recipe runs as `python -m jaxgan.main` (offline, MNIST test split) in its own workdir;
its wall time is recorded. Then 64 samples per recipe, from one fixed latent batch, are drawn
from each final checkpoint with jaxgan.sample and tiled into recipes_step{steps}.png next to
this script, with timings_step{steps}.md. `--compose_only` redraws the figure from existing
workdirs. `--recipes=a,b --name=NAME` compares other recipes into NAME_step{steps}.png (the
architectures: --recipes=mlp_gan,dcgan_keras,dcgan_tutorial,dcgan_radford_mnist --name=architectures).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RECIPES = ["dcgan_tutorial", "course_tips", "lsgan", "hinge_sn", "wgan_gp", "wgan"]


def train(recipe: str, workdir: str, data_dir: str, steps: int) -> float:
  """Trains the recipe to `steps`; returns its total wall time in seconds.

  A workdir trained to fewer steps by an earlier call is resumed from its checkpoint (jaxgan
  resumes by itself), and the earlier time is added.
  """
  timing = os.path.join(workdir, "wall_seconds.json")
  earlier = {"seconds": 0.0, "steps": 0}
  if os.path.exists(timing):
    with open(timing) as f:
      earlier = json.load(f)
    if earlier["steps"] == steps:
      return earlier["seconds"]
  start = time.time()
  subprocess.run([sys.executable, "-m", "jaxgan.main", f"--config=configs/{recipe}.py",
                  f"--workdir={workdir}", f"--config.dataset.local_dir={data_dir}",
                  "--config.dataset.split=test", f"--config.num_train_steps={steps}",
                  "--config.checkpoint_every_steps=500",
                  f"--config.sample_every_steps={max(steps // 4, 1)}"],
                 cwd=ROOT, check=True)
  seconds = earlier["seconds"] + time.time() - start
  with open(timing, "w") as f:
    json.dump({"seconds": seconds, "steps": steps}, f)
  return seconds


def compose(recipes, workroot: str, steps: int, seconds, name: str = "recipes") -> str:
  """Samples every recipe's checkpoint at `steps` (one latent batch) into one figure."""
  from jaxgan import sample
  from jaxgan.runtime import visualize
  columns = min(3, len(recipes))
  rows = -(-len(recipes) // columns)
  fig, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 3.9 * rows + 0.5),
                           squeeze=False)
  for ax in axes.flat:
    ax.axis("off")
  for ax, recipe in zip(axes.flat, recipes):
    # A conditional recipe makes every class in turn (row i of the 8x8 tile: classes i..).
    images, _ = sample.generate(os.path.join(workroot, recipe), 64, seed=0, step=steps)
    ax.imshow(visualize.tile(images)[..., 0], cmap="gray", vmin=0, vmax=255)  # any size
    ax.set_title(f"{recipe} ({seconds[recipe] / 60:.1f} min)", fontsize=12)
  fig.suptitle(f"jaxgan {name} on MNIST (test split): {steps} generator steps, batch 64, "
               "2-core CPU", fontsize=13)
  fig.tight_layout(rect=(0, 0, 1, 0.96))
  path = os.path.join(HERE, f"{name}_step{steps}.png")
  fig.savefig(path, dpi=90)
  plt.close(fig)
  return path


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--data_dir", default=os.path.join(ROOT, "..", "shared", "data", "mnist"))
  parser.add_argument("--steps", type=int, default=1000)
  parser.add_argument("--workroot", default="/tmp/jaxgan_recipes")
  parser.add_argument("--recipes", default=",".join(RECIPES))
  parser.add_argument("--name", default="recipes",
                      help="Figure and table basename: NAME_step{steps}.png / timings_*.md.")
  parser.add_argument("--compose_only", action="store_true")
  parser.add_argument("--minutes", default="",
                      help="With --compose_only: recipe=minutes,... to label the figure with "
                           "(default: the workdirs' recorded times).")
  args = parser.parse_args()
  recipes = args.recipes.split(",")
  seconds = {}
  given = dict(item.split("=") for item in args.minutes.split(",") if item)
  for recipe in recipes:
    workdir = os.path.join(args.workroot, recipe)
    if args.compose_only:
      if recipe in given:
        seconds[recipe] = float(given[recipe]) * 60
      else:
        with open(os.path.join(workdir, "wall_seconds.json")) as f:
          seconds[recipe] = json.load(f)["seconds"]
    else:
      seconds[recipe] = train(recipe, workdir, os.path.abspath(args.data_dir), args.steps)
  sys.path.insert(0, ROOT)
  path = compose(recipes, args.workroot, args.steps, seconds, args.name)
  lines = ["| recipe | steps | wall time (min) |", "|---|---|---|"]
  lines += [f"| {r} | {args.steps} | {seconds[r] / 60:.1f} |" for r in recipes]
  timings = "timings" if args.name == "recipes" else f"timings_{args.name}"
  with open(os.path.join(HERE, f"{timings}_step{args.steps}.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
  print("\n".join(lines))
  print("Wrote", path)


if __name__ == "__main__":
  main()
