"""Scores of an unpaired translation (the cyclegan game), in both directions.

For direction "ab" (G: A -> B; "ba" likewise), on the held-out test images of A:
  ab_fid, ab_kid, ab_precision, ab_recall, ab_density, ab_coverage, (ab_class_kl, ...):
      G(test A) against real B images, in the feature space of config.eval (jaxgan's
      Evaluator: the same metrics as a generator's, with the B training images as reference);
  ab_content: with labelled test images, the share of G(a) the classifier reads as a's class
      (content preservation: a translation that keeps the digit keeps its class);
  ab_l1_pair: with a paired test set (digit_strokes), mean |G(a) - b| to a's true
      counterpart, in the [-1, 1] pixel range;
  ab_cycle: mean |F(G(a)) - a|, the cycle's reconstruction error.
and once per evaluator, the floors the numbers are read against: ab_fid_floor (real test B
against the same reference) and ab_content_floor (the classifier's accuracy on real test B).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional

import numpy as np

from jaxgan.data import domains, pipeline, sources
from jaxgan.evaluation import generation, metrics
from jaxgan.evaluation import evaluator as evaluator_lib

DIRECTIONS = {"ab": ("a", "b"), "ba": ("b", "a")}  # direction -> (source, target)


class TranslationEvaluator:
  """See the module docstring. `evaluate(translate)` with translate(direction, images) ->
  images, both float [n, H, W, C] in [-1, 1]."""

  def __init__(self, extractor: Any, pair: domains.DomainPair, *, num_samples: int,
               seed: int = 0, batch_size: int = 500, **metric_settings):
    self.extractor, self.pair, self.batch_size = extractor, pair, batch_size
    self.sources = {name: pair.held_out(name) for name in ("a", "b")}
    n = min(num_samples, *(len(x.images) for x in self.sources.values()))
    self.num_samples = n
    self.targets = {
        direction: evaluator_lib.Evaluator(extractor, getattr(pair, target).images,
                                           num_samples=min(n, len(getattr(pair, target).images)),
                                           seed=seed, **metric_settings)
        for direction, (_, target) in DIRECTIONS.items()}
    self.reference_seconds = sum(e.reference_seconds for e in self.targets.values())
    self.floors: Dict[str, float] = {}
    for direction, (_, target) in DIRECTIONS.items():
      real = pipeline.to_model_range(self.sources[target].images[:n])
      result = self.targets[direction].evaluate(real)
      self.floors[f"{direction}_fid_floor"] = float(result["fid"])
      if self.sources[target].labels is not None and extractor.has_classes:
        self.floors[f"{direction}_content_floor"] = metrics.class_accuracy(
            result["predicted_classes"], self.sources[target].labels[:n])

  def provenance(self) -> Dict[str, Any]:
    return {**self.targets["ab"].provenance(), "test_images": self.num_samples,
            "paired_test": self.pair.paired_test}

  def _in_batches(self, fn: Callable[[np.ndarray], np.ndarray], images: np.ndarray
                  ) -> np.ndarray:
    """fn over images in batches of one compiled shape (the last padded)."""
    out = []
    for start in range(0, len(images), self.batch_size):
      chunk = images[start:start + self.batch_size]
      padded = np.concatenate([chunk, np.repeat(chunk[-1:], self.batch_size - len(chunk), 0)])
      out.append(np.asarray(fn(padded))[:len(chunk)])
    return np.concatenate(out)

  def evaluate(self, translate: Callable[[str, np.ndarray], np.ndarray]) -> Dict[str, float]:
    """{name: value} (the module docstring's names) for the translation `translate`."""
    n, out = self.num_samples, dict(self.floors)
    for direction, (source, target) in DIRECTIONS.items():
      back = "ba" if direction == "ab" else "ab"
      real = pipeline.to_model_range(self.sources[source].images[:n])
      translated = self._in_batches(lambda x, d=direction: translate(d, x), real)
      cycled = self._in_batches(lambda x, d=back: translate(d, x), translated)
      result = self.targets[direction].evaluate(translated)
      out.update({f"{direction}_{name[len('eval_'):]}": value
                  for name, value in evaluator_lib.scalars(result).items()})
      out[f"{direction}_cycle"] = float(np.mean(np.abs(cycled - real)))
      labels = self.sources[source].labels
      if labels is not None and self.extractor.has_classes:
        out[f"{direction}_content"] = metrics.class_accuracy(result["predicted_classes"],
                                                             labels[:n])
      if self.pair.paired_test:
        counterpart = pipeline.to_model_range(self.sources[target].images[:n])
        out[f"{direction}_l1_pair"] = float(np.mean(np.abs(translated - counterpart)))
    return out


def translator(game: Any, variables: Any) -> Callable[[str, np.ndarray], np.ndarray]:
  """translate(direction "ab" | "ba", images) with the game's sampling variables, jitted."""
  generate = generation.jitted_generate(game)
  return lambda direction, images: generate(variables, {direction[0]: images})


def labelled_union(pair: domains.DomainPair) -> Optional[sources.ImageData]:
  """Both domains' labelled training images as one dataset (the classifier that scores a
  translation must read both), or None when either domain is unlabelled."""
  if pair.a.labels is None or pair.b.labels is None:
    return None
  return sources.ImageData(np.concatenate([pair.a.images, pair.b.images]),
                           np.concatenate([pair.a.labels, pair.b.labels]),
                           max(pair.a.num_classes, pair.b.num_classes))
