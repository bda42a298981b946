"""Trains the domain classifier that evaluation uses as its feature space, and saves it.

  python -m jaxgan.classifier --workdir=/tmp/mnist_classifier --dataset=mnist \
      --local_dir=../shared/data/mnist --split=test

trains `jaxgan.evaluation.classifier_network.Classifier` on a labelled dataset (holding out a
seeded random `--holdout` examples to measure accuracy) and writes WORKDIR/classifier.msgpack
(the variables) and WORKDIR/classifier.json (image shape, classes, class prior, accuracies, how
it was trained). Training is deterministic: the same data, seed and steps give the same
classifier, so runs evaluated with classifiers trained separately are still comparable on one
platform. A GAN run trains one on first use when `config.eval.classifier_dir` has none
(jaxgan.evaluation.domain_classifier, where the training, saving and loading live).
"""
from __future__ import annotations

from absl import app, flags

from jaxgan.core import moved_modules
from jaxgan.data import sources
from jaxgan.evaluation.domain_classifier import save, train

# The library half of this command moved to jaxgan.evaluation.domain_classifier (the layout
# by role, issue 44); its names still resolve here for a while.
__getattr__ = moved_modules.forwarded_attributes(__name__, {name: (
    f"jaxgan.evaluation.domain_classifier:{name}") for name in (
        "VARIABLES_FILE", "META_FILE", "CACHE_ENV", "ClassifierError", "predict", "accuracy",
        "identity", "exists", "load", "load_or_train", "cache_root", "data_fingerprint",
        "cache_directory")})

FLAGS = flags.FLAGS


def define_flags() -> None:
  flags.DEFINE_string("workdir", None, "Where to write the classifier.")
  flags.DEFINE_string("dataset", "mnist", "Dataset name (a tfds name, or mnist/fashion_mnist "
                      "from local IDX files).")
  flags.DEFINE_string("split", "train", "Split (tfds syntax; local files: train/test/...).")
  flags.DEFINE_string("local_dir", "", "Folder with the original IDX files (no download).")
  flags.DEFINE_string("data_dir", "", "tfds data_dir.")
  flags.DEFINE_integer("steps", 1000, "Training steps (config.eval.classifier_steps must "
                       "match to evaluate with it; its default is 1000).")
  flags.DEFINE_integer("batch_size", 128, "Batch size.")
  flags.DEFINE_float("learning_rate", 1e-3, "Adam's peak learning rate (cosine decay).")
  flags.DEFINE_integer("holdout", 1000, "Examples held out to measure accuracy.")
  flags.DEFINE_integer("seed", 0, "Seed of initialisation, holdout split and batches.")


def main(argv) -> None:
  del argv
  if not FLAGS.workdir:
    raise app.UsageError("--workdir is required.")
  data = sources.load(FLAGS.dataset, FLAGS.split, FLAGS.local_dir or None,
                      FLAGS.data_dir or None)
  _, variables, meta = train(data, steps=FLAGS.steps, batch_size=FLAGS.batch_size,
                             learning_rate=FLAGS.learning_rate, seed=FLAGS.seed,
                             holdout=FLAGS.holdout,
                             dataset_name=f"{FLAGS.dataset}/{FLAGS.split}")
  save(FLAGS.workdir, variables, meta)
  print(f"classifier {meta['id']}: held-out accuracy {meta['holdout_accuracy']:.4f} on "
        f"{meta['holdout_examples']} examples, train accuracy {meta['train_accuracy']:.4f}, "
        f"{meta['train_seconds']} s; wrote {FLAGS.workdir}")


if __name__ == "__main__":
  define_flags()
  app.run(main)
