"""Stacked MNIST modes of a trained run, counted as the papers count them.

  python experiments/mode_collapse/count_modes.py --workdir=/tmp/metz [--num_samples=25600]

Metz et al. 2017, VEEGAN and PacGAN draw 25,600 (PacGAN's code: num_test_sample) samples,
read each channel's digit with a pretrained MNIST classifier, and report the modes (digit
triples, of 1000) with at least one sample and the KL divergence of the samples' mode
histogram to the uniform one, KL(p_gen || uniform) in nats. Here the classifier is jaxgan's
own, the one the run's evaluation uses (jaxgan.evaluation.setup: trained on the run's MNIST
split and cached), applied to the uint8 samples as every evaluation does. Prints one JSON line.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from jaxgan import sample  # noqa: E402
from jaxgan.data import sources  # noqa: E402
from jaxgan.evaluation import metrics, setup  # noqa: E402
from jaxgan.workdir import saved_run  # noqa: E402

FLAGS = flags.FLAGS


def count(workdir: str, num_samples: int = 25600, seed: int = 0, step=None) -> dict:
  """{"modes", "kl", "step", "num_samples", "classifier"} of the run's checkpoint of `step`
  (default: the latest)."""
  run = saved_run.load_run(workdir, step)
  config = run.config
  if config.dataset.name != sources.STACKED_MNIST:
    raise ValueError(f"{workdir} trained on {config.dataset.name!r}, not Stacked MNIST.")
  data = sources.load(config.dataset.name, config.dataset.split,
                      config.dataset.local_dir or None, config.dataset.data_dir or None)
  extractor = setup.make_extractor(run.experiment.settings, data)
  start = time.time()
  images, _ = sample.generate(workdir, num_samples, seed, step=run.step)
  modes = np.argmax(extractor(images)["probs"], axis=1)
  coverage = metrics.class_coverage(modes, extractor.num_classes)
  return {"modes": coverage["covered"], "kl": coverage["kl"], "step": run.step,
          "num_samples": num_samples, "seconds": round(time.time() - start, 1),
          "classifier": extractor.describe()}


def main(argv):
  del argv
  print(json.dumps(count(FLAGS.workdir, FLAGS.num_samples, FLAGS.seed, FLAGS.step)))


if __name__ == "__main__":
  # Defined here, so that stacked_mnist.py can import count() beside flags of its own.
  flags.DEFINE_string("workdir", None, "A Stacked MNIST run's workdir.", required=True)
  flags.DEFINE_integer("num_samples", 25600, "Samples to classify (the papers': 25,600).")
  flags.DEFINE_integer("seed", 0, "Seed of the samples' latents.")
  flags.DEFINE_integer("step", None, "The checkpoint's step (default: the latest).")
  app.run(main)
