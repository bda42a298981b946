"""The evaluator: generated images -> every metric, against a fixed set of real images.

Built once per run (during training) or per invocation (`jaxgan.evaluate`): it extracts the
features of `num_samples` real images, drawn by a seeded permutation of the dataset, and keeps
them as the reference. `evaluate(images)` then reports, for generated images [n, H, W, C] in
[-1, 1] (n should equal the reference size: FID and KID are biased by sample size, so compare
numbers only at equal n):

  fid                  Frechet distance of the feature Gaussians
  kid, kid_std         unbiased kernel distance (cubic polynomial kernel), mean/std over subsets
  precision, recall    Kynkaanniemi et al. 2019 (k-NN manifolds in feature space)
  density, coverage    Naeem et al. 2020
  is, is_std           Inception Score (with the classifier: the classifier's confidence/diversity)
  classes_covered      classes predicted at least once (of num_classes; 1000 for Stacked MNIST)
  class_kl             KL(predicted class histogram || data's class distribution)
  class_accuracy       conditional models: share of samples the classifier assigns to the class
                       they were made for (given the requested classes)

`real_reference_split(n)` gives a second, disjoint set of real images: evaluating it gives the
metrics' floor (what a perfect generator would score at this sample size).
"""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, Optional

import numpy as np

from jaxgan.core import errors
from jaxgan.data import pipeline
from jaxgan.evaluation import metrics


def min_samples(precision_recall_k: int, density_coverage_k: int) -> int:
  """The fewest reference samples the k-NN metrics accept (k-th neighbours, and a disjoint
  set of the same size left for the floor)."""
  return 2 * max(precision_recall_k, density_coverage_k) + 2


def check_num_samples(num_samples: int, precision_recall_k: int = 3,
                      density_coverage_k: int = 5, **unused_settings) -> None:
  """Refuses a reference set too small for the k-NN metrics (checked when a run's evaluator
  is made, before the step compiles, and again by Evaluator)."""
  if num_samples < min_samples(precision_recall_k, density_coverage_k):
    raise errors.InvalidInputError(
        f"config.eval.num_samples={num_samples} is too small for k-NN metrics "
        f"with k={max(precision_recall_k, density_coverage_k)}.")


class Evaluator:
  """Scores generated images against a fixed reference set of real images."""

  def __init__(self, extractor: Any, real_images_uint8: np.ndarray, *, num_samples: int,
               seed: int = 0, kid_subsets: int = 100, kid_subset_size: int = 1000,
               precision_recall_k: int = 3, density_coverage_k: int = 5):
    """
    Args:
      extractor: a feature extractor (see jaxgan.evaluation.features).
      real_images_uint8: the dataset's images, uint8 [N, H, W, C].
      num_samples: size of the reference set (at most N).
      seed: seed of the permutation that picks the reference images.
    """
    check_num_samples(num_samples, precision_recall_k, density_coverage_k)
    self.extractor, self.seed = extractor, seed
    self.kid_subsets, self.kid_subset_size = kid_subsets, kid_subset_size
    self.pr_k, self.dc_k = precision_recall_k, density_coverage_k
    self._order = np.random.default_rng(seed).permutation(len(real_images_uint8))
    self._real_uint8 = real_images_uint8
    self.num_samples = min(num_samples, len(real_images_uint8))
    self.reference_images = real_images_uint8[self._order[:self.num_samples]]
    start = time.perf_counter()
    self.reference = extractor(pipeline.to_model_range(self.reference_images))
    self.reference_seconds = time.perf_counter() - start
    self.reference_stats = metrics.FeatureStats(self.reference["features"].shape[1])
    self.reference_stats.update(self.reference["features"])

  def provenance(self) -> Dict[str, Any]:
    """What these numbers depend on besides the generator: the feature extractor (which
    classifier or weights), the reference set and the metrics' settings. Two evaluations are
    comparable when their provenance is equal."""
    return {"feature_extractor": self.extractor.provenance(), "num_samples": self.num_samples,
            "reference_seed": self.seed, "kid_subsets": self.kid_subsets,
            "kid_subset_size": self.kid_subset_size, "precision_recall_k": self.pr_k,
            "density_coverage_k": self.dc_k}

  @property
  def kid_std_is_zero_by_construction(self) -> bool:
    """With num_samples <= kid_subset_size every KID subset is the whole set, so the subsets'
    standard deviation is 0 whatever the generator."""
    return self.num_samples <= self.kid_subset_size

  def real_reference_split(self) -> Optional[np.ndarray]:
    """uint8 real images disjoint from the reference set, as many (None if too few)."""
    rest = self._order[self.num_samples:2 * self.num_samples]
    if len(rest) < self.num_samples:
      return None
    return self._real_uint8[rest]

  def evaluate(self, images: np.ndarray, timings: Optional[Dict[str, float]] = None,
               requested_classes: Optional[np.ndarray] = None) -> Dict[str, Any]:
    """Metrics of generated images float [n, H, W, C] in [-1, 1] (see the module docstring);
    with the classes int [n] a conditional G was asked for, also class_accuracy.

    Returns a dict of floats/ints, plus "predicted_classes" (int [n]) and "features" for the
    pictures; `scalars(result)` keeps only the numbers to log.
    """
    start = time.perf_counter()
    out = self.extractor(images)
    extracted = time.perf_counter()
    real, fake = self.reference["features"], out["features"]
    stats = metrics.FeatureStats(fake.shape[1])
    stats.update(fake)
    result: Dict[str, Any] = {
        "fid": metrics.frechet_distance(self.reference_stats.mean(),
                                        self.reference_stats.covariance(),
                                        stats.mean(), stats.covariance())}
    kid = metrics.kernel_inception_distance(real, fake, num_subsets=self.kid_subsets,
                                            subset_size=self.kid_subset_size)
    result["kid"], result["kid_std"] = kid["mean"], kid["std"]
    result.update(metrics.precision_recall(real, fake, k=self.pr_k))
    result.update(metrics.density_coverage(real, fake, k=self.dc_k))
    score = metrics.inception_score(out["probs"], num_splits=10)
    result["is"], result["is_std"] = score["mean"], score["std"]
    predicted = np.argmax(out["probs"], axis=-1)
    if self.extractor.has_classes:
      coverage = metrics.class_coverage(predicted, self.extractor.num_classes,
                                        self.extractor.class_prior)
      result["classes_covered"] = coverage["covered"]
      result["num_classes"] = self.extractor.num_classes
      result["class_kl"] = coverage["kl"]
      result["class_histogram"] = coverage["histogram"]
      if requested_classes is not None:
        result["class_accuracy"] = metrics.class_accuracy(predicted, requested_classes)
    result["num_samples"] = len(images)
    result["predicted_classes"] = predicted
    result["features"] = fake
    if timings is not None:
      timings["features_seconds"] = extracted - start
      timings["metrics_seconds"] = time.perf_counter() - extracted
    return result

  def evaluate_generator(self, generate: Callable[[int], np.ndarray],
                         requested_classes: Optional[Callable[[int], np.ndarray]] = None
                         ) -> Dict[str, Any]:
    """Evaluates `generate(n)` -> images [n, H, W, C] in [-1, 1] with n = the reference size
    (and, for a conditional G, `requested_classes(n)` -> the classes it made, int [n]); adds
    "images" and the seconds spent generating, extracting features and computing metrics.
    """
    timings: Dict[str, float] = {}
    start = time.perf_counter()
    images = np.asarray(generate(self.num_samples))
    timings["generate_seconds"] = time.perf_counter() - start
    classes = None if requested_classes is None else requested_classes(self.num_samples)
    result = self.evaluate(images, timings, classes)
    if classes is not None:
      result["requested_classes"] = classes
    result.update(timings)
    result["eval_seconds"] = time.perf_counter() - start
    result["images"] = images
    return result


_NOT_SCALARS = ("predicted_classes", "features", "images", "class_histogram",
                "requested_classes")


def scalars(result: Dict[str, Any]) -> Dict[str, float]:
  """The loggable numbers of an `Evaluator.evaluate` result, names prefixed with "eval_"."""
  return {f"eval_{name}": float(value) for name, value in result.items()
          if name not in _NOT_SCALARS}
