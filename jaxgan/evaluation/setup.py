"""Builds the evaluator a run's settings ask for (config.eval, as
`jaxgan.core.run_settings.EvalSettings`), and the sampler it scores.

Kept apart from the evaluator so that the metrics code does not depend on configs, data
loading or the classifier's training.

What can fail is checked when the evaluator is made, before the step compiles: a saved
classifier that does not fit the data or config.eval.classifier_steps, Inception weights that
cannot be read, unlabelled domains for a classifier. What takes time is done at the first
evaluation (`DeferredEvaluator`): training the classifier (the first run with this data on a
machine: the classifier is cached per data, shape and steps) and the reference set's
features. So a run's first steps start at once, and the first evaluation's log says what it
set up and how long that took.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, Optional

import jax
from absl import logging

from jaxgan.core import errors, random_streams, run_settings
from jaxgan.data import domains, sources
from jaxgan.evaluation import (domain_classifier, evaluator, features, protocols,
                               reference_cache, translation)
from jaxgan.runtime import storage


def classifier_dir(settings: run_settings.RunSettings, train_data: sources.ImageData,
                   train_name: str) -> str:
  """Where the run's classifier lives: config.eval.classifier_dir, else the shared cache's
  folder for (data, image shape, config.eval.classifier_steps) (domain_classifier)."""
  return storage.expand_user(settings.eval.classifier_dir) or domain_classifier.cache_directory(
      train_data, train_name, settings.eval.classifier_steps)


class DeferredEvaluator:
  """An evaluator (`evaluator.Evaluator` or `translation.TranslationEvaluator`) built when it
  is first used: any attribute read builds it, logging what was set up and how long it took.

  Attributes:
    plan: what building it will do (e.g. "training the evaluation classifier ...").
  """

  def __init__(self, build: Callable[[], Any], plan: str):
    self._build, self.plan, self._built = build, plan, None

  def __getattr__(self, name: str) -> Any:
    if name.startswith("__"):
      raise AttributeError(name)
    if self._built is None:
      logging.info("Setting up the evaluation: %s.", self.plan)
      start = time.perf_counter()
      self._built = self._build()
      logging.info("Evaluation set up in %.1f s (%s; the reference set's features: %.1f s).",
                   time.perf_counter() - start, self.plan, self._built.reference_seconds)
    return getattr(self._built, name)


def make_extractor(settings: run_settings.RunSettings, data: sources.ImageData) -> Any:
  """The feature extractor of config.eval.feature_extractor (checked by
  builders.check_eval), ready to call (training the classifier first if it is not saved)."""
  return _extractor_when_needed(settings, data)[0]()


def _extractor_when_needed(settings: run_settings.RunSettings, data: sources.ImageData
                           ) -> tuple[Callable[[], Any], str]:
  """(a function giving the extractor, what calling it does). Checks now what can be
  checked without training: Inception's weights, a saved classifier's fit to the config."""
  protocol = protocols.of_settings(settings.eval)
  if protocol.extractor == "inception":
    extractor = features.InceptionFeatures(settings.eval.inception_weights,
                                           batch_size=min(settings.eval.batch_size, 25),
                                           resize=protocol.resize)
    return (lambda: extractor), extractor.describe()
  train_data, train_name = data, settings.dataset.name
  if settings.dataset.name == sources.STACKED_MNIST:
    # Stacked MNIST is scored digit by digit with a classifier of the underlying MNIST.
    dataset = settings.dataset
    train_data = sources.load("mnist", dataset.split, dataset.local_dir or None,
                              dataset.data_dir or None)
    train_name = "mnist"
  train_name = f"{train_name}/{settings.dataset.split}"
  if train_data.labels is None or train_data.num_classes < 2:
    raise unlabelled(repr(settings.dataset.name))
  directory = classifier_dir(settings, train_data, train_name)

  def extractor_of(saved):
    module, variables, meta = saved
    return features.ClassifierFeatures(module, variables, meta, data.image_shape,
                                       batch_size=settings.eval.batch_size)

  if domain_classifier.exists(directory):  # Loaded and checked now (a second or two).
    extractor = extractor_of(domain_classifier.load_or_train(
        directory, train_data, train_name, steps=settings.eval.classifier_steps))
    return (lambda: extractor), f"{extractor.describe()}, from {directory}"
  return (lambda: extractor_of(domain_classifier.load_or_train(
      directory, train_data, train_name, steps=settings.eval.classifier_steps)),
          f"training the evaluation classifier ({settings.eval.classifier_steps} steps on "
          f"{train_name}, into {directory}: the first run with this data on this machine)")


def unlabelled(what: str) -> errors.InvalidInputError:
  """The error for a classifier evaluation of unlabelled images (`what`: the data), naming
  both ways out."""
  return errors.InvalidInputError(
      f"config.eval.feature_extractor='classifier' (the default) trains a classifier on "
      f"labelled images, but {what} is unlabelled. Either evaluate in Inception's feature "
      "space (--config.eval.feature_extractor=inception: pytorch-fid's weights, fetched on "
      "first use, or --config.eval.inception_weights=FILE.npz; README 'Evaluate'), or train "
      "without periodic evaluation (--config.eval.every_steps=0).")


def make_evaluator(settings: run_settings.RunSettings, data: Any,
                   sampling: Optional[Dict[str, Any]] = None) -> DeferredEvaluator:
  """The run's evaluator, checked now and built at its first use (module docstring): an
  Evaluator of generated images, or for two domains (jaxgan.data.domains.DomainPair) a
  TranslationEvaluator. `sampling`: the generator's sampling options the evaluation will use
  (recorded with the protocol; None: the model's defaults)."""
  if isinstance(data, domains.DomainPair):
    return _translation_evaluator(settings, data)
  extractor, plan = _extractor_when_needed(settings, data)
  protocol = protocols.of_settings(settings.eval)
  reference = {**_reference_settings(settings), "num_samples": protocol.num_samples}
  evaluator.check_num_samples(**reference)
  dataset = f"{settings.dataset.name}/{settings.dataset.split}"

  def build() -> evaluator.Evaluator:
    made = extractor()
    key = reference_cache.key_of(
        data=dataset, data_fingerprint=domain_classifier.data_fingerprint(data),
        image_shape=data.image_shape, extractor=made.provenance(), resize=protocol.resize,
        reference=protocol.reference, num_samples=protocol.num_samples, seed=settings.seed)
    return evaluator.Evaluator(made, data.images, **reference, reference=protocol.reference,
                               protocol=protocol, reference_store=reference_cache.store(key),
                               sampling=sampling)

  return DeferredEvaluator(build, f"{plan}; {protocol.describe(dataset)}")


def _reference_settings(settings: run_settings.RunSettings) -> dict:
  """config.eval's settings of the reference set and the metrics (both evaluators')."""
  ev = settings.eval
  return dict(num_samples=ev.num_samples, seed=settings.seed, kid_subsets=ev.kid_subsets,
              kid_subset_size=ev.kid_subset_size, precision_recall_k=ev.precision_recall_k,
              density_coverage_k=ev.density_coverage_k)


def _translation_evaluator(settings: run_settings.RunSettings, pair: domains.DomainPair
                           ) -> DeferredEvaluator:
  """Scores both directions; a classifier extractor is trained on both domains' labels."""
  classes = translation.labelled_union(pair)
  if classes is None and settings.eval.feature_extractor == "classifier":
    raise unlabelled(f"the domains of {settings.dataset.name!r}")
  extractor, plan = _extractor_when_needed(settings, classes if classes is not None else pair.a)
  reference = _reference_settings(settings)
  # What TranslationEvaluator will score: at most each domain's held-out and training images.
  evaluator.check_num_samples(**{**reference, "num_samples": min(
      reference["num_samples"], *(len(pair.held_out(d).images) for d in "ab"),
      len(pair.a.images), len(pair.b.images))})
  return DeferredEvaluator(lambda: translation.TranslationEvaluator(
      extractor(), pair, batch_size=settings.eval.batch_size, **reference), plan)


def eval_latents_key(seed: int) -> jax.Array:
  """Key of the evaluation latents: the same at every evaluation of a run (lower variance
  between evaluations, so a curve shows the generator changing, not the noise)."""
  return random_streams.run_key(seed, random_streams.EVAL_LATENTS)
