"""The domain classifier evaluation uses as its offline feature space: train, save, load, cache.

Trains `jaxgan.evaluation.classifier_network.Classifier` on a labelled dataset (holding out a
seeded random set of examples to measure accuracy) and keeps it as DIR/classifier.msgpack (the
variables) and DIR/classifier.json (image shape, classes, class prior, accuracies, how it was
trained). Training is deterministic: the same data, seed and steps give the same classifier,
so runs evaluated with classifiers trained separately are still comparable on one platform. A
GAN run trains one on first use when `config.eval.classifier_dir` has none (`load_or_train`,
in the shared cache keyed by data, shape, steps and seed); `python -m jaxgan.classifier`
trains one by hand.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from typing import Any, Dict, Tuple

import flax
import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import logging

from jaxgan.core import errors
from jaxgan.data import pipeline, sources
from jaxgan.evaluation import batching
from jaxgan.evaluation.classifier_network import Classifier
from jaxgan.runtime import storage

VARIABLES_FILE = "classifier.msgpack"
META_FILE = "classifier.json"


class ClassifierError(errors.UserError, ValueError):
  """The classifier cannot be trained or loaded as asked; the message says why."""


def _split_indices(n: int, holdout: int, seed: int) -> Tuple[np.ndarray, np.ndarray]:
  if not 0 <= holdout <= n // 2:
    raise ClassifierError(f"holdout={holdout} must be in [0, {n // 2}] for {n} examples.")
  order = np.random.default_rng(seed).permutation(n)
  return order[holdout:], order[:holdout]


def predict(module: Classifier, variables: Any, images: np.ndarray, batch_size: int = 1000
            ) -> Tuple[np.ndarray, np.ndarray]:
  """(logits [n, K], features [n, F]) as float32 numpy, for images [n, H, W, C] in [-1, 1]."""
  apply = _jitted_apply(module)
  return batching.apply_in_batches(lambda chunk: apply(variables, chunk), images, batch_size)


@functools.lru_cache(maxsize=8)
def _jitted_apply(module: Classifier):
  return jax.jit(lambda variables, x: module.apply(variables, x, train=False))


def accuracy(module: Classifier, variables: Any, data: sources.ImageData,
             indices: np.ndarray) -> float:
  if len(indices) == 0:
    return float("nan")
  logits, _ = predict(module, variables, pipeline.to_model_range(data.images[indices]))
  return float(np.mean(np.argmax(logits, -1) == data.labels[indices]))


def train(data: sources.ImageData, *, steps: int = 600, batch_size: int = 128,
          learning_rate: float = 1e-3, seed: int = 0, holdout: int = 1000,
          dataset_name: str = "") -> Tuple[Classifier, Any, Dict[str, Any]]:
  """Trains a classifier on `data` (labels required).

  Returns:
    (module, variables, meta): meta is what `save` writes to classifier.json.
  """
  if data.labels is None or data.num_classes < 2:
    raise ClassifierError(
        f"The classifier needs a labelled dataset; {dataset_name or 'this dataset'} has no "
        "labels. Evaluate with config.eval.feature_extractor='inception' instead.")
  if steps < 1 or batch_size < 1:
    raise ClassifierError(f"steps and batch_size must be >= 1; got {steps}, {batch_size}.")
  train_idx, holdout_idx = _split_indices(len(data.images), holdout, seed)
  module = Classifier(num_classes=data.num_classes)
  key = jax.random.PRNGKey(seed)
  variables = module.init(key, jnp.zeros((1, *data.image_shape)), train=False)
  tx = optax.adam(optax.cosine_decay_schedule(learning_rate, steps))
  opt_state = tx.init(variables["params"])

  @jax.jit
  def step_fn(params, opt_state, images, labels, dropout_key):
    def loss_of(p):
      logits, _ = module.apply({"params": p}, images, train=True,
                               rngs={"dropout": dropout_key})
      return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
    loss, grads = jax.value_and_grad(loss_of)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  rng = np.random.default_rng(seed)
  params = variables["params"]
  start = time.perf_counter()
  for step in range(steps):
    rows = train_idx[rng.integers(0, len(train_idx), batch_size)]
    images = pipeline.to_model_range(data.images[rows])
    params, opt_state, loss = step_fn(params, opt_state, images, data.labels[rows],
                                      jax.random.fold_in(key, step))
    if (step + 1) % 200 == 0 or step + 1 == steps:
      logging.info("classifier step %d/%d: loss %.4f", step + 1, steps, float(loss))
  variables = {"params": params}
  counts = np.bincount(data.labels[train_idx], minlength=data.num_classes)
  meta = {
      "dataset": dataset_name, "image_shape": list(data.image_shape),
      "num_classes": int(data.num_classes), "feature_dim": module.feature_dim,
      "class_prior": (counts / counts.sum()).tolist(),
      "train_examples": int(len(train_idx)), "holdout_examples": int(len(holdout_idx)),
      "holdout_accuracy": accuracy(module, variables, data, holdout_idx),
      "train_accuracy": accuracy(module, variables, data, train_idx[:5000]),
      "steps": steps, "batch_size": batch_size, "learning_rate": learning_rate, "seed": seed,
      "train_seconds": round(time.perf_counter() - start, 1),
  }
  return module, variables, meta


def identity(payload: bytes) -> str:
  """The classifier's identity: the first 16 hex digits of the sha256 of its serialised
  variables (two evaluations with the same identity are in the same feature space)."""
  return hashlib.sha256(payload).hexdigest()[:16]


def save(directory: str, variables: Any, meta: Dict[str, Any]) -> None:
  """Writes the classifier; meta["id"] is set to its `identity`."""
  storage.makedirs(directory)
  payload = flax.serialization.to_bytes(variables)
  meta["id"] = identity(payload)
  # Variables first, meta last: a directory with a meta file holds a complete classifier.
  # Each file is written under a name of its own and renamed into place, so two processes
  # saving at once (a training run and jaxgan.evaluate) leave one complete copy.
  for name, data in ((VARIABLES_FILE, payload),
                     (META_FILE, json.dumps(meta, indent=1).encode())):
    storage.write_atomically(storage.join(directory, name), data)


def exists(directory: str) -> bool:
  return storage.exists(storage.join(directory, META_FILE))


def load(directory: str) -> Tuple[Classifier, Any, Dict[str, Any]]:
  """(module, variables, meta) of a classifier saved by `save`."""
  if not exists(directory):
    raise ClassifierError(f"No classifier in {directory!r} ({META_FILE} missing); train one "
                          "with python -m jaxgan.classifier --workdir=... .")
  meta = json.loads(storage.read_text(storage.join(directory, META_FILE)))
  module = Classifier(num_classes=meta["num_classes"], feature_dim=meta["feature_dim"])
  target = module.init(jax.random.PRNGKey(0), jnp.zeros((1, *meta["image_shape"])),
                       train=False)
  payload = storage.read_bytes(storage.join(directory, VARIABLES_FILE))
  try:
    variables = flax.serialization.from_bytes(target, payload)
  except Exception as e:  # msgpack and structure errors come in many types.
    errors.raise_if_broken_install(e, "flax")
    raise ClassifierError(f"{storage.join(directory, VARIABLES_FILE)} is corrupt or does not "
                          f"match {META_FILE}: {type(e).__name__}: {e}") from e
  digest = identity(payload)
  if meta.setdefault("id", digest) != digest:  # Saved before identities: computed here.
    raise ClassifierError(f"{storage.join(directory, VARIABLES_FILE)} does not match "
                          f"{META_FILE} (identity {digest}, recorded {meta['id']}): the "
                          "files were changed or damaged; delete the folder to retrain.")
  return module, variables, meta


def load_or_train(directory: str, data: sources.ImageData, dataset_name: str,
                  steps: int) -> Tuple[Classifier, Any, Dict[str, Any]]:
  """The classifier saved in `directory`, trained there on `data` first if there is none.

  A saved classifier must take the data's image shape and have been trained for `steps`
  steps (config.eval.classifier_steps): reusing another would silently score in another
  feature space than the config says.
  """
  if exists(directory):
    module, variables, meta = load(directory)
    if tuple(meta["image_shape"]) != data.image_shape:
      raise ClassifierError(
          f"The classifier in {directory!r} takes images {tuple(meta['image_shape'])}, but "
          f"the data's are {data.image_shape}; point config.eval.classifier_dir elsewhere.")
    if meta["steps"] != steps:
      raise ClassifierError(
          f"The classifier in {directory!r} was trained for {meta['steps']} steps, but "
          f"config.eval.classifier_steps is {steps}: its features are not the ones the "
          f"config asks for. Set --config.eval.classifier_steps={meta['steps']} to score with "
          "it, or leave config.eval.classifier_dir empty (the shared cache keeps one "
          "classifier per data and step count).")
    if meta.get("dataset") and dataset_name and meta["dataset"] != dataset_name:
      logging.warning("The classifier in %s was trained on %s; scoring %s with it.",
                      directory, meta["dataset"], dataset_name)
    return module, variables, {**meta, "dir": directory}
  logging.info("Training the evaluation classifier on %s (%d images, %d steps) into %s.",
               dataset_name, len(data.images), steps, directory)
  # A tenth held out (at most 1000) to report the accuracy the metrics rest on.
  module, variables, meta = train(data, steps=steps, dataset_name=dataset_name,
                                  holdout=min(1000, len(data.images) // 10))
  save(directory, variables, meta)
  meta = {**meta, "dir": directory}
  logging.info("Classifier %s: held-out accuracy %.4f (%d examples).", meta["id"],
               meta["holdout_accuracy"], meta["holdout_examples"])
  return module, variables, meta


CACHE_ENV = "JAXGAN_CLASSIFIER_CACHE"


def cache_root() -> str:
  """The shared classifier cache: $JAXGAN_CLASSIFIER_CACHE, else
  $XDG_CACHE_HOME/jaxgan/classifiers (~/.cache/jaxgan/classifiers)."""
  if os.environ.get(CACHE_ENV):
    return storage.expand_user(os.environ[CACHE_ENV])
  base = os.environ.get("XDG_CACHE_HOME") or storage.join(storage.expand_user("~"), ".cache")
  return storage.join(base, "jaxgan", "classifiers")


def data_fingerprint(data: sources.ImageData) -> str:
  """12 hex digits of the sha256 of the images and labels (the same split read from tfds,
  local files or another folder is the same data). A streamed dataset (too large to hash) is
  named by its source and size instead."""
  from jaxgan.data import streaming  # pylint: disable=g-import-not-at-top
  if streaming.is_streaming(data):
    return hashlib.sha256(f"{data.images.reader.description}:{data.images.shape}".encode()
                          ).hexdigest()[:12]
  digest = hashlib.sha256(np.ascontiguousarray(data.images).tobytes())
  if data.labels is not None:
    digest.update(np.ascontiguousarray(data.labels).tobytes())
  return digest.hexdigest()[:12]


def cache_directory(data: sources.ImageData, dataset_name: str, steps: int,
                    seed: int = 0) -> str:
  """Where the shared cache keeps the classifier of (data, image shape, steps, seed): every
  run on the same data with the same settings is scored in the same feature space."""
  shape = "x".join(map(str, data.image_shape))
  name = "".join(c if c.isalnum() or c in "-_." else "-" for c in dataset_name) or "data"
  return storage.join(cache_root(),
                      f"{name}_{shape}_{steps}steps_seed{seed}_{data_fingerprint(data)}")
