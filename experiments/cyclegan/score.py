"""A cyclegan run's translation scores, beside the baselines that say what they mean.

  python experiments/cyclegan/score.py --workdir=/tmp/cyclegan_digits [--step=N]

Scores, with the evaluator the run itself uses (jaxgan.evaluation.translation: the run's
config.eval, its classifier from the shared cache, the same test images and reference sets),
three translations and prints one JSON line each:
  * "identity": no translation at all (G(a) = a, F(b) = b): the FID of one domain against the
    other, content 1 up to the classifier's own errors, cycle error 0; a translation must beat
    its FID and L1 to the counterpart;
  * "untrained": the run's networks at initialisation (config.seed);
  * "checkpoint": the run's checkpoint of --step (default: the latest).
The floors (real target images against the reference) are in every line.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from absl import app, flags  # noqa: E402

from jaxgan.data import domains  # noqa: E402
from jaxgan.evaluation import setup, translation  # noqa: E402
from jaxgan.workdir import saved_run  # noqa: E402

FLAGS = flags.FLAGS
KEYS = ("fid", "content", "l1_pair", "cycle", "precision", "recall", "coverage", "class_kl")


def score(workdir: str, step=None) -> list:
  """[{"translation", "step", scores...}] for the identity, untrained and trained maps."""
  run = saved_run.load_run(workdir, step)
  settings = run.experiment.settings
  evaluator = setup.make_evaluator(settings, domains.load(settings.dataset))
  untrained = run.experiment.init_states()[run.game.sampler].sampling_variables()
  translations = {
      "identity": lambda direction, images: images,
      "untrained": translation.translator(run.game, untrained),
      "checkpoint": translation.translator(run.game, run.sampling_variables())}
  out = []
  for name, translate in translations.items():
    scores = evaluator.evaluate(translate)
    kept = {k: round(v, 4) for k, v in scores.items()
            if any(k.endswith(f"_{key}") or k.endswith(f"_{key}_floor") for key in KEYS)}
    out.append({"translation": name, "step": run.step, **kept})
  return out


def main(argv):
  del argv
  for line in score(FLAGS.workdir, FLAGS.step):
    print(json.dumps(line))


if __name__ == "__main__":
  flags.DEFINE_string("workdir", None, "A cyclegan run's workdir.", required=True)
  flags.DEFINE_integer("step", None, "The checkpoint's step (default: the latest).")
  app.run(main)
