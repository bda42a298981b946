"""Feature extractors: images -> (features for FID/KID/precision-recall, class probabilities).

An extractor is called as `extractor(images)` with images float [n, H, W, C] in [-1, 1] and
returns {"features": float32 [n, D], "probs": float64 [n, K]}. Two come with jaxgan:

* `ClassifierFeatures`: the domain classifier jaxgan trains itself
  (`jaxgan.evaluation.domain_classifier`); the default, so MNIST-family runs are evaluated
  offline. For Stacked MNIST (3-channel images, a 1-channel digit classifier) each channel is
  classified on its own: the features are the three channels' features side by side [n, 3F]
  and the class probabilities are over the 1000 digit triples,
  p(a, b, c | x) = p(a | R) p(b | G) p(c | B).
* `InceptionFeatures`: the standard FID Inception-v3 (pool3 features, 1008-way softmax),
  pytorch-fid's weights fetched on first use, or a converted file (`jaxgan.evaluation.inception`).

`class_prior` is the data's class distribution that mode coverage compares against (None:
uniform; None also when the classes mean nothing for the data, as ImageNet's for MNIST,
which `has_classes` says).
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan.core import errors
from jaxgan.evaluation import batching, metrics, resizing
from jaxgan.evaluation.classifier_network import Classifier


class ClassifierFeatures:
  """Features and class probabilities from jaxgan's own classifier."""

  has_classes = True

  def __init__(self, module: Classifier, variables: Any, meta: Dict[str, Any],
               image_shape, batch_size: int = 500):
    """image_shape: (H, W, C) of the images to evaluate; C=3 with a 1-channel classifier
    means Stacked MNIST (per-channel classification, 1000 classes)."""
    trained_shape = tuple(meta["image_shape"])
    image_shape = tuple(image_shape)
    self.per_channel = (trained_shape[-1] == 1 and image_shape[-1] == 3
                        and trained_shape[:2] == image_shape[:2])
    if not self.per_channel and trained_shape != image_shape:
      raise errors.InvalidInputError(
          f"The classifier takes images {trained_shape}; these are {image_shape}.")
    self.batch_size = batch_size
    k = meta["num_classes"]
    self.num_classes = k ** 3 if self.per_channel else k
    # Stacked MNIST's triples are uniform by construction; otherwise the training labels'.
    self.class_prior = None if self.per_channel else np.asarray(meta["class_prior"])
    self.name = "classifier" + ("_per_channel" if self.per_channel else "")
    apply = lambda x: module.apply(variables, x, train=False)

    @jax.jit
    def extract(x):
      if not self.per_channel:
        logits, features = apply(x)
        return {"features": features, "log_probs": jax.nn.log_softmax(logits)}
      # Channels as a batch of grayscale images: [n, H, W, 3] -> [3n, H, W, 1].
      n = x.shape[0]
      channels = jnp.moveaxis(x, -1, 0)[..., None].reshape(3 * n, *x.shape[1:3], 1)
      logits, features = apply(channels)
      log_p = jax.nn.log_softmax(logits).reshape(3, n, k)
      joint = (log_p[0][:, :, None, None] + log_p[1][:, None, :, None]
               + log_p[2][:, None, None, :]).reshape(n, k ** 3)  # mode 100a + 10b + c
      features = jnp.moveaxis(features.reshape(3, n, -1), 0, 1).reshape(n, -1)
      return {"features": features, "log_probs": joint}

    self._extract = extract
    self._meta = meta

  def provenance(self) -> Dict[str, Any]:
    """Which classifier: its identity (jaxgan.evaluation.domain_classifier.identity), folder,
    training data, steps and held-out accuracy."""
    meta = self._meta
    return {"name": self.name, "id": meta.get("id"), "dir": meta.get("dir"),
            "dataset": meta.get("dataset"), "steps": meta.get("steps"),
            "holdout_accuracy": meta.get("holdout_accuracy"),
            "holdout_examples": meta.get("holdout_examples")}

  def describe(self) -> str:
    """One line for tables and logs."""
    p = self.provenance()
    return (f"{self.name} {p['id']} ({p['dataset']}, {p['steps']} steps, held-out accuracy "
            f"{p['holdout_accuracy']:.4f})")

  def __call__(self, images: np.ndarray) -> Dict[str, np.ndarray]:
    out = batching.apply_in_batches(self._extract, images, self.batch_size)
    return {"features": out["features"], "probs": metrics.softmax64(out["log_probs"])}


class InceptionFeatures:
  """pool3 features [n, 2048] and the 1008-way softmax of the FID Inception-v3.

  Images reach it as a protocol's resize says (`evaluation/resizing.py`: rounded to integer
  pixels, resized to 299x299, mapped to that reference's input range). The weights are
  pytorch-fid's, fetched, verified and converted on first use (`inception.fetch_variables`),
  or a converted .npz of your own (`weights_path`).
  """

  has_classes = False
  class_prior: Optional[np.ndarray] = None
  name = "inception"

  def __init__(self, weights_path: str = "", batch_size: int = 50,
               resize: str = "legacy_pytorch"):
    from jaxgan.evaluation import inception  # ~24M parameters: loaded only when asked for.
    resizing.check_resize(resize)
    if weights_path:
      variables, self._source = inception.load_variables(weights_path), weights_path
    else:
      variables, digest = inception.fetch_variables()
      self._source = f"{inception.WEIGHTS_URL} (sha256 {digest})"
    self.batch_size, self.resize = batch_size, resize
    self.num_classes = 1008
    self._id = inception.weights_id(variables)
    self._extract = lambda images: inception.features_of(variables, images, resize)

  def provenance(self) -> Dict[str, Any]:
    """Which weights (a hash of their values, and where they came from) and which resize."""
    return {"name": self.name, "id": self._id, "weights": self._source, "resize": self.resize}

  def describe(self) -> str:
    return f"inception {self._id} ({self._source}), resize {self.resize}"

  def __call__(self, images: np.ndarray) -> Dict[str, np.ndarray]:
    out = batching.apply_in_batches(self._extract, images, self.batch_size)
    return {"features": out["pool"], "probs": metrics.softmax64(out["logits"])}
