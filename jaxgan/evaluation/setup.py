"""Builds the evaluator a config asks for (`config.eval`), and the sampler it scores.

Kept apart from the evaluator so that the metrics code does not depend on configs, data
loading or the classifier's training.
"""
from __future__ import annotations

from typing import Any

import jax
import ml_collections

from jaxgan import classifier, storage, streams
from jaxgan.data import domains, sources
from jaxgan.evaluation import evaluator, features, translation


def classifier_dir(config: ml_collections.ConfigDict, train_data: sources.ImageData,
                   train_name: str) -> str:
  """Where the run's classifier lives: config.eval.classifier_dir, else the shared cache's
  folder for (data, image shape, config.eval.classifier_steps) (jaxgan.classifier)."""
  return storage.expand_user(config.eval.classifier_dir) or classifier.cache_directory(
      train_data, train_name, config.eval.classifier_steps)


def make_extractor(config: ml_collections.ConfigDict, data: sources.ImageData) -> Any:
  """The feature extractor of config.eval.feature_extractor (checked by
  builders.check_eval), ready to call."""
  name = config.eval.feature_extractor
  if name == "inception":
    return features.InceptionFeatures(config.eval.inception_weights,
                                      batch_size=min(config.eval.batch_size, 25))
  train_data, train_name = data, config.dataset.name
  if config.dataset.name == sources.STACKED_MNIST:
    # Stacked MNIST is scored digit by digit with a classifier of the underlying MNIST.
    train_data = sources.load("mnist", config.dataset.split, config.dataset.local_dir or None,
                              config.dataset.data_dir or None)
    train_name = "mnist"
  train_name = f"{train_name}/{config.dataset.split}"
  module, variables, meta = classifier.load_or_train(
      classifier_dir(config, train_data, train_name), train_data, train_name,
      steps=config.eval.classifier_steps)
  return features.ClassifierFeatures(module, variables, meta, data.image_shape,
                                     batch_size=config.eval.batch_size)


def make_evaluator(config: ml_collections.ConfigDict, data: Any) -> Any:
  """The run's evaluator: an Evaluator of generated images, or for two domains
  (jaxgan.data.domains.DomainPair) a TranslationEvaluator."""
  if isinstance(data, domains.DomainPair):
    return _translation_evaluator(config, data)
  return evaluator.Evaluator(make_extractor(config, data), data.images,
                             **_reference_settings(config))


def _reference_settings(config: ml_collections.ConfigDict) -> dict:
  """config.eval's settings of the reference set and the metrics (both evaluators')."""
  ev = config.eval
  return dict(num_samples=ev.num_samples, seed=config.seed, kid_subsets=ev.kid_subsets,
              kid_subset_size=ev.kid_subset_size, precision_recall_k=ev.precision_recall_k,
              density_coverage_k=ev.density_coverage_k)


def _translation_evaluator(config: ml_collections.ConfigDict, pair: domains.DomainPair
                           ) -> translation.TranslationEvaluator:
  """Scores both directions; a classifier extractor is trained on both domains' labels."""
  classes = translation.labelled_union(pair)
  if classes is None and config.eval.feature_extractor == "classifier":
    raise ValueError(
        f"config.eval.feature_extractor='classifier' trains a classifier on labelled images, "
        f"but the domains of {config.dataset.name!r} are unlabelled: use "
        "feature_extractor='inception' (README 'Evaluation'), or config.eval.every_steps=0.")
  extractor = make_extractor(config, classes if classes is not None else pair.a)
  return translation.TranslationEvaluator(extractor, pair, batch_size=config.eval.batch_size,
                                          **_reference_settings(config))


def eval_latents_key(seed: int) -> jax.Array:
  """Key of the evaluation latents: the same at every evaluation of a run (lower variance
  between evaluations, so a curve shows the generator changing, not the noise)."""
  return streams.run_key(seed, streams.EVAL_LATENTS)
