"""What evaluation costs: seconds per phase for N generated images, printed as a table.

  python -m jaxgan.benchmark_evaluation --local_dir=../shared/data/mnist --num_samples=10000

Phases, each the median of --repeats runs after one warm-up (compilation) run:
  generate      N images from the tutorial DCGAN generator (untrained weights: same cost)
  features      the classifier's features and class probabilities of N images
  fid ... coverage  each metric from the features (real reference set of N images)
and, with --inception_images > 0, the FID Inception-v3's cost per image at 299x299 (random
weights: same cost as real ones), extrapolated to N images. Without --local_dir, random
MNIST-shaped images stand in for the data (timings do not depend on pixel values).
"""
from __future__ import annotations

import statistics
import time
from typing import Callable, Dict, List

import jax
import numpy as np
from absl import app, flags

from jaxgan.data import pipeline, sources
from jaxgan.evaluation import domain_classifier, features, generation, metrics, setup
from jaxgan.experiment import builders, saved_config

FLAGS = flags.FLAGS


def _median_seconds(fn: Callable[[], object], repeats: int) -> float:
  jax.block_until_ready(fn())  # Warm-up: compilation and caches (finished before timing).
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(fn())
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def _inception_rows(inception_images: int, repeats: int, n: int) -> List[Dict[str, object]]:
  """Seconds per image of the FID Inception on the protocols' path (rounded pixels, TF's
  resize to 299x299, the network; random weights)."""
  from jaxgan.evaluation import inception  # pylint: disable=g-import-not-at-top
  images = np.random.default_rng(0).uniform(-1, 1, (inception_images, 28, 28, 1)).astype(
      np.float32)
  variables = inception.InceptionV3().init(jax.random.PRNGKey(0), images[:1])
  apply = lambda: inception.features_of(variables, images, "legacy_tensorflow")
  per_image = _median_seconds(apply, max(1, repeats // 2)) / inception_images
  return [{"phase": f"inception-v3 features, per image (batch {inception_images})",
           "seconds": per_image},
          {"phase": f"inception-v3 features of {n} (extrapolated)", "seconds": per_image * n}]


def run(num_samples: int, local_dir: str, repeats: int, inception_images: int,
        classifier_dir: str) -> List[Dict[str, object]]:
  if local_dir:
    data = sources.load("mnist", "test", local_dir, None)
  else:
    rng = np.random.default_rng(0)
    data = sources.ImageData(rng.integers(0, 256, (num_samples, 28, 28, 1), dtype=np.uint8),
                             rng.integers(0, 10, num_samples).astype(np.int32), 10)
  rows: List[Dict[str, object]] = []
  inception_rows = (_inception_rows(inception_images, repeats,
                                    min(num_samples, len(data.images)))
                    if inception_images else [])
  start = time.perf_counter()
  module, variables, meta = (domain_classifier.load(classifier_dir) if classifier_dir else
                             domain_classifier.train(data, steps=20, holdout=0))  # cost: see README
  rows.append({"phase": "classifier load" if classifier_dir else "classifier (20 steps)",
               "seconds": time.perf_counter() - start})
  extractor = features.ClassifierFeatures(module, variables, meta, data.image_shape)
  real = pipeline.to_model_range(data.images[:num_samples])
  n = len(real)

  config = saved_config.saved_config({"model": {"name": "dcgan_tutorial"}})
  experiment = builders.build(config, data.image_shape)
  g_state = experiment.init_states()[experiment.game.sampler]
  generate = generation.make_generate(experiment.game, g_state.variables(),
                                  setup.eval_latents_key(0), 500)
  rows.append({"phase": f"generate {n}", "seconds": _median_seconds(lambda: generate(n),
                                                                    repeats)})
  rows.append({"phase": f"classifier features of {n}",
               "seconds": _median_seconds(lambda: extractor(real), repeats)})
  fake_out = extractor(generate(n))
  real_out = extractor(real)
  rf, ff = real_out["features"], fake_out["features"]
  for name, fn in (("fid", lambda: metrics.fid_from_features(rf, ff)),
                   ("kid (100 subsets of 1000)",
                    lambda: metrics.kernel_inception_distance(rf, ff)),
                   ("precision/recall (k=3)", lambda: metrics.precision_recall(rf, ff, k=3)),
                   ("density/coverage (k=5)", lambda: metrics.density_coverage(rf, ff, k=5)),
                   ("inception score", lambda: metrics.inception_score(fake_out["probs"])),
                   ("class coverage", lambda: metrics.class_coverage(
                       np.argmax(fake_out["probs"], -1), 10))):
    rows.append({"phase": name, "seconds": _median_seconds(fn, repeats)})
  total = sum(r["seconds"] for r in rows[1:])
  rows.append({"phase": f"total for {n} samples (excl. classifier)", "seconds": total})
  rows += inception_rows
  return rows


def main(argv) -> None:
  del argv
  rows = run(FLAGS.num_samples, FLAGS.local_dir, FLAGS.repeats, FLAGS.inception_images,
             FLAGS.classifier_dir)
  print(f"evaluation cost, {jax.devices()[0].platform} ({jax.device_count()} device(s)), "
        f"jax {jax.__version__}, median of {FLAGS.repeats}")
  print("| phase | seconds |\n| --- | --- |")
  for row in rows:
    print(f"| {row['phase']} | {row['seconds']:.3f} |")


if __name__ == "__main__":
  flags.DEFINE_integer("num_samples", 10000, "Generated images (and real reference images).")
  flags.DEFINE_string("local_dir", "", "MNIST IDX folder (test split); random data if empty.")
  flags.DEFINE_string("classifier_dir", "", "A trained classifier; else a 20-step one.")
  flags.DEFINE_integer("repeats", 3, "Timed runs per phase (median).")
  flags.DEFINE_integer("inception_images", 0, "Batch for the Inception-v3 timing (0: skip).")
  app.run(main)
