"""The reference set's features, computed once per (data, protocol) and cached.

A periodic evaluation, every `jaxgan.evaluate` and `jaxgan.fid` would otherwise extract the
same real images again (for `fid50k_full` on a 50,000-image split: most of an hour on a CPU).
The features are kept under a key of everything they depend on: the data (a hash of its
images and labels, as the classifier cache keys it), its name, split and image shape, the
protocol's extractor and its weights' identity, the resize, the reference set (every image,
or num_samples of them picked by the seed). The file is named by that key's hash and holds the
key itself: a file whose key differs (renamed, copied from elsewhere, damaged) is refused with a
warning and computed again; nothing is ever read under the wrong key.

Where: $JAXGAN_CACHE/reference_stats, else ~/.cache/jaxgan/reference_stats
(`fetched_weights.cache_root`); gs:// allowed.
"""
from __future__ import annotations

import hashlib
import io
import json
from typing import Any, Callable, Dict, Optional

import jax
import numpy as np
from absl import logging

from jaxgan.importers import fetched_weights
from jaxgan.runtime import storage


def directory() -> str:
  return storage.join(fetched_weights.cache_root(), "reference_stats")


def key_of(*, data: str, data_fingerprint: str, image_shape, extractor: Dict[str, Any],
           resize: str, reference: str, num_samples: int, seed: int) -> Dict[str, Any]:
  """The key of a reference set's features (module docstring). `extractor`: its provenance
  (where it was read from does not count; its identity does)."""
  extractor = {k: v for k, v in extractor.items() if k not in ("dir", "weights")}
  sampled = reference == "sample"
  return {"data": data, "data_fingerprint": data_fingerprint,
          "image_shape": [int(v) for v in image_shape], "extractor": extractor,
          "resize": resize, "reference": reference,
          "num_samples": int(num_samples) if sampled else None,
          "seed": int(seed) if sampled else None, "version": 1}


def path_of(key: Dict[str, Any], root: Optional[str] = None) -> str:
  text = json.dumps(key, sort_keys=True)
  name = "".join(c if c.isalnum() or c in "-_." else "-" for c in key["data"]) or "data"
  return storage.join(root or directory(),
                      f"{name}_{hashlib.sha256(text.encode()).hexdigest()[:16]}.npz")


def load(key: Dict[str, Any], root: Optional[str] = None) -> Optional[np.ndarray]:
  """The cached features of `key`, or None (absent; or refused, with a warning, when the
  file's own key differs or it cannot be read)."""
  path = path_of(key, root)
  if not storage.isfile(path):
    return None
  try:
    with storage.input_file(path) as f, np.load(f, allow_pickle=False) as saved:
      stored_key = json.loads(str(saved["key"]))
      features = saved["features"]
  except (OSError, ValueError, KeyError) as e:
    logging.warning("The cached reference features %s cannot be read (%s); computing them "
                    "again.", path, e)
    return None
  if stored_key != json.loads(json.dumps(key)):
    logging.warning("The cached reference features %s were made under another key (%s, not "
                    "%s); refused, computing them again.", path, stored_key, key)
    return None
  return features


def save(key: Dict[str, Any], features: np.ndarray, root: Optional[str] = None) -> str:
  """Writes the features under `key` (whole or not at all); returns the path."""
  path = path_of(key, root)
  storage.makedirs(storage.dirname(path))
  buffer = io.BytesIO()
  np.savez(buffer, key=np.array(json.dumps(key, sort_keys=True)),
           features=np.asarray(features, np.float32))
  storage.write_atomically(path, buffer.getvalue())
  return path


def store(key: Dict[str, Any], root: Optional[str] = None
          ) -> Callable[[Callable[[], np.ndarray]], np.ndarray]:
  """`store(compute)` for `evaluator.Evaluator(reference_store=...)`: the cached features,
  else `compute()`, saved for next time. Only process 0 writes (the others compute too)."""

  def cached(compute: Callable[[], np.ndarray]) -> np.ndarray:
    features = load(key, root)
    if features is not None:
      logging.info("Reference features from the cache: %s.", path_of(key, root))
      return features
    features = np.asarray(compute(), np.float32)
    if jax.process_index() == 0:
      try:
        logging.info("Reference features cached in %s.", save(key, features, root))
      except OSError as e:  # A read-only cache costs time, not the evaluation.
        logging.warning("Could not cache the reference features (%s).", e)
    return features

  return cached
