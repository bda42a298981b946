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

The reference set and sample count come from the evaluation's protocol
(jaxgan.evaluation.protocols): `reference="full"` compares num_samples generated images with
every image of the split (StyleGAN2-ADA's fid50k_full); the reference's features may come
from a cache (`reference_store`, jaxgan.evaluation.reference_cache). Every provenance carries
the protocol.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, Optional

import numpy as np

from jaxgan.core import errors
from jaxgan.data import pipeline
from jaxgan.evaluation import metrics, progress, protocols


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


# Above this many images, generated and real images are extracted CHUNK at a time, with
# progress, and only the first CHUNK generated images are kept (for the pictures): 50,000
# samples of 1024x1024 would not fit in memory.
CHUNK = 10_000


def extract_in_chunks(extractor: Any, images_uint8: Any, what: str) -> Dict[str, np.ndarray]:
  """`extractor` of uint8 images [n, H, W, C] (an array, or streamed rows), CHUNK at a time
  when there are more, showing progress; {"features", "probs"}."""
  n = len(images_uint8)
  if n <= CHUNK:
    return extractor(pipeline.to_model_range(np.asarray(images_uint8[:n])))
  shown = progress.Progress(what, n)
  pieces = []
  for start in range(0, n, CHUNK):
    batch = np.asarray(images_uint8[start:start + CHUNK])
    pieces.append(extractor(pipeline.to_model_range(batch)))
    shown.update(len(batch))
  shown.close()
  return {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0]}


def compare_features(real: np.ndarray, fake: np.ndarray,
                     real_stats: Optional[metrics.FeatureStats] = None, *,
                     kid_subsets: int = 100, kid_subset_size: int = 1000,
                     precision_recall_k: int = 3, density_coverage_k: int = 5
                     ) -> Dict[str, Any]:
  """FID, KID (and its spread over subsets), precision/recall and density/coverage of `fake`
  features [m, D] against `real` [n, D] (`real_stats`: their FeatureStats, if made already).
  The one implementation behind the evaluator and `python -m jaxgan.fid`."""
  if real_stats is None:
    real_stats = metrics.FeatureStats(real.shape[1])
    real_stats.update(real)
  stats = metrics.FeatureStats(fake.shape[1])
  stats.update(fake)
  result: Dict[str, Any] = {
      "fid": metrics.frechet_distance(real_stats.mean(), real_stats.covariance(),
                                      stats.mean(), stats.covariance())}
  kid = metrics.kernel_inception_distance(real, fake, num_subsets=kid_subsets,
                                          subset_size=kid_subset_size)
  result["kid"], result["kid_std"] = kid["mean"], kid["std"]
  result.update(metrics.precision_recall(real, fake, k=precision_recall_k))
  result.update(metrics.density_coverage(real, fake, k=density_coverage_k))
  return result


class Evaluator:
  """Scores generated images against a fixed reference set of real images."""

  def __init__(self, extractor: Any, real_images_uint8: np.ndarray, *, num_samples: int,
               seed: int = 0, kid_subsets: int = 100, kid_subset_size: int = 1000,
               precision_recall_k: int = 3, density_coverage_k: int = 5,
               reference: str = "sample", protocol: Optional[protocols.Protocol] = None,
               reference_store: Optional[Callable[[Callable[[], np.ndarray]], np.ndarray]]
               = None, sampling: Optional[Dict[str, Any]] = None):
    """
    Args:
      extractor: a feature extractor (see jaxgan.evaluation.features).
      real_images_uint8: the dataset's images, uint8 [N, H, W, C].
      num_samples: generated images scored; with reference="sample" also the size of the
        reference set (at most N).
      seed: seed of the permutation that picks the reference images.
      reference: "sample" (num_samples real images picked by the seed) or "full" (all N).
      protocol: what these numbers depend on (jaxgan.evaluation.protocols), recorded in the
        provenance; None: the protocol of these arguments (quick_classifier or
        custom_inception).
      reference_store: `store(compute)` -> the reference features: from a cache, or
        `compute()` and kept (jaxgan.evaluation.reference_cache); None computes them.
      sampling: the generator's sampling options the evaluation uses ({}: its defaults).
    """
    check_num_samples(num_samples, precision_recall_k, density_coverage_k)
    if reference not in protocols.REFERENCES:
      raise errors.InvalidInputError(
          f"reference={reference!r}; valid: {', '.join(protocols.REFERENCES)}.")
    self.extractor, self.seed = extractor, seed
    self.kid_subsets, self.kid_subset_size = kid_subsets, kid_subset_size
    self.pr_k, self.dc_k = precision_recall_k, density_coverage_k
    self.reference_kind = reference
    self._order = np.random.default_rng(seed).permutation(len(real_images_uint8))
    self._real_uint8 = real_images_uint8
    if reference == "full":
      self.num_samples = num_samples
      self.reference_images = real_images_uint8
    else:
      self.num_samples = min(num_samples, len(real_images_uint8))
      self.reference_images = real_images_uint8[self._order[:self.num_samples]]
    extractor_name = "inception" if getattr(extractor, "name", "") == "inception" else (
        "classifier")
    self.protocol = protocol or protocols.Protocol(
        "custom_inception" if extractor_name == "inception" else "quick_classifier",
        extractor_name, getattr(extractor, "resize", ""), self.num_samples, reference)
    self.sampling = dict(sampling or {})
    start = time.perf_counter()
    compute = lambda: extract_in_chunks(extractor, self.reference_images,
                                        "Reference features")["features"]
    features = reference_store(compute) if reference_store is not None else compute()
    self.reference = {"features": features}
    self.reference_seconds = time.perf_counter() - start
    self.reference_stats = metrics.FeatureStats(features.shape[1])
    self.reference_stats.update(features)

  def provenance(self) -> Dict[str, Any]:
    """What these numbers depend on besides the generator: the protocol, the feature
    extractor (which classifier or weights), the reference set and the metrics' settings.
    Two evaluations are comparable when their provenance is equal."""
    extractor = self.extractor.provenance()
    return {"protocol": self.protocol.record(extractor.get("id"), self.sampling),
            "feature_extractor": extractor, "num_samples": self.num_samples,
            "reference": self.reference_kind, "reference_size": len(self.reference_images),
            "reference_seed": self.seed, "kid_subsets": self.kid_subsets,
            "kid_subset_size": self.kid_subset_size, "precision_recall_k": self.pr_k,
            "density_coverage_k": self.dc_k}

  @property
  def kid_std_is_zero_by_construction(self) -> bool:
    """With num_samples <= kid_subset_size every KID subset is the whole set, so the subsets'
    standard deviation is 0 whatever the generator."""
    return min(self.num_samples, len(self.reference_images)) <= self.kid_subset_size

  def real_reference_split(self) -> Optional[np.ndarray]:
    """uint8 real images disjoint from the reference set, as many (None if too few, and
    always for a reference of every image)."""
    if self.reference_kind == "full":
      return None
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
    if timings is not None:
      timings["features_seconds"] = time.perf_counter() - start
    return self.metrics_of(out, len(images), timings, requested_classes)

  def metrics_of(self, out: Dict[str, np.ndarray], n: int,
                 timings: Optional[Dict[str, float]] = None,
                 requested_classes: Optional[np.ndarray] = None) -> Dict[str, Any]:
    """The metrics of n generated images' extracted {"features", "probs"}."""
    start = time.perf_counter()
    fake = out["features"]
    result = compare_features(self.reference["features"], fake, self.reference_stats,
                              kid_subsets=self.kid_subsets,
                              kid_subset_size=self.kid_subset_size,
                              precision_recall_k=self.pr_k, density_coverage_k=self.dc_k)
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
    result["num_samples"] = n
    result["predicted_classes"] = predicted
    result["features"] = fake
    if timings is not None:
      timings["metrics_seconds"] = time.perf_counter() - start
    return result

  def evaluate_generator(self, generate: Callable[..., np.ndarray],
                         requested_classes: Optional[Callable[[int], np.ndarray]] = None
                         ) -> Dict[str, Any]:
    """Evaluates `generate(n)` -> images [n, H, W, C] in [-1, 1] with n = num_samples (and,
    for a conditional G, `requested_classes(n)` -> the classes it made, int [n]); adds
    "images" and the seconds spent generating, extracting features and computing metrics.

    More than CHUNK samples are made `generate(m, start=s)` (rows [s, s + m), as
    `generation.make_generate` gives them) a chunk at a time, extracted as they come, with
    progress; "images" then holds the first chunk only.
    """
    timings: Dict[str, float] = {}
    start = time.perf_counter()
    n = self.num_samples
    classes = None if requested_classes is None else requested_classes(n)
    if n <= CHUNK:
      images = np.asarray(generate(n))
      timings["generate_seconds"] = time.perf_counter() - start
      result = self.evaluate(images, timings, classes)
    else:
      shown = progress.Progress("Generated samples, made and extracted", n)
      pieces, images = [], None
      timings["generate_seconds"] = timings["features_seconds"] = 0.0
      for first in range(0, n, CHUNK):
        began = time.perf_counter()
        chunk = np.asarray(generate(min(CHUNK, n - first), start=first))
        made = time.perf_counter()
        pieces.append(self.extractor(chunk))
        timings["generate_seconds"] += made - began
        timings["features_seconds"] += time.perf_counter() - made
        images = chunk if images is None else images
        shown.update(len(chunk))
      shown.close()
      out = {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0]}
      result = self.metrics_of(out, n, timings, classes)
    if classes is not None:
      result["requested_classes"] = classes[:len(images)]
      if len(images) < n:
        result["predicted_classes"] = result["predicted_classes"][:len(images)]
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
