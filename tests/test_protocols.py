"""Evaluation protocols: a preset's sample count and reference set (50,000 samples against
every training image, with a stub extractor and generator, in seconds), the reference
features' cache, the protocol in every record, and progress."""
from __future__ import annotations

import io
import json
import os
import types

import numpy as np
import pytest

from jaxgan.core import errors
from jaxgan.evaluation import evaluator as evaluator_lib
from jaxgan.evaluation import progress, protocols, reference_cache


class StubExtractor:
  """Features: each image's mean and its first pixel (2-d); probabilities over 10 classes
  from the mean. Counts the images it saw."""
  has_classes, num_classes, class_prior, name = False, 10, None, "inception"
  resize = "legacy_tensorflow"

  def __init__(self):
    self.seen = 0

  def provenance(self):
    return {"name": self.name, "id": "stub", "resize": self.resize}

  def describe(self):
    return f"stub extractor, resize {self.resize}"

  def __call__(self, images):
    self.seen += len(images)
    flat = images.reshape(len(images), -1).astype(np.float64)
    features = np.stack([flat.mean(1), flat[:, 0]], 1).astype(np.float32)
    logits = -np.square(np.linspace(-1, 1, 10)[None] - flat.mean(1, keepdims=True))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return {"features": features, "probs": probs}


class StubGenerator:
  """Row i of the sequence is an image filled from a seeded stream of i: the same rows
  whatever the chunking. Records the calls."""

  def __init__(self):
    self.calls = []

  def __call__(self, n, start=0):
    self.calls.append((start, n))
    rows = np.arange(start, start + n)
    values = np.sin(rows[:, None] * 0.37 + np.arange(4)[None]) * 0.9
    return values.reshape(n, 2, 2, 1).astype(np.float32)


def _training_split(n=60_000):
  rng = np.random.default_rng(0)
  return rng.integers(0, 256, (n, 2, 2, 1), dtype=np.uint8)


def test_fid50k_full_scores_50000_samples_against_every_training_image(tmp_path, monkeypatch):
  """The k-NN metrics (N x N comparisons: minutes here at this size, tested on their own in
  test_metrics.py) are replaced by stubs that record the sizes they were given."""
  sizes = []
  monkeypatch.setattr(evaluator_lib.metrics, "precision_recall",
                      lambda real, fake, k: sizes.append((len(real), len(fake)))
                      or {"precision": 0.5, "recall": 0.5})
  monkeypatch.setattr(evaluator_lib.metrics, "density_coverage",
                      lambda real, fake, k: {"density": 1.0, "coverage": 0.5})
  preset = protocols.PRESETS["fid50k_full"]
  real, extractor, generate = _training_split(), StubExtractor(), StubGenerator()
  key = reference_cache.key_of(
      data="stub/train", data_fingerprint="f" * 12, image_shape=(2, 2, 1),
      extractor=extractor.provenance(), resize=preset.resize, reference=preset.reference,
      num_samples=preset.num_samples, seed=0)
  store = reference_cache.store(key, str(tmp_path))
  ev = evaluator_lib.Evaluator(extractor, real, num_samples=preset.num_samples,
                               reference="full", protocol=preset, reference_store=store,
                               kid_subsets=2, kid_subset_size=100)
  assert extractor.seen == 60_000 and len(ev.reference["features"]) == 60_000
  result = ev.evaluate_generator(generate)
  assert result["num_samples"] == 50_000 and extractor.seen == 110_000
  assert generate.calls == [(s, evaluator_lib.CHUNK) for s in range(0, 50_000,
                                                                     evaluator_lib.CHUNK)]
  assert len(result["images"]) == evaluator_lib.CHUNK  # Only the first chunk is kept.
  assert sizes == [(60_000, 50_000)]
  assert ev.real_reference_split() is None  # No disjoint real set beside every image.
  record = ev.provenance()
  assert record["protocol"] == {
      "name": "fid50k_full", "extractor": "inception", "resize": "legacy_tensorflow",
      "num_samples": 50_000, "reference": "full", "extractor_id": "stub", "sampling": {}}
  assert record["reference_size"] == 60_000
  json.dumps(record)  # Recorded as JSON.

  # A second evaluator under the same key reads the features, extracting no real image.
  again = StubExtractor()
  ev2 = evaluator_lib.Evaluator(again, real, num_samples=50_000, reference="full",
                                protocol=preset, reference_store=store)
  assert again.seen == 0
  np.testing.assert_array_equal(ev2.reference["features"], ev.reference["features"])


def test_chunks_give_what_one_pass_gives(monkeypatch):
  """More than CHUNK samples are made and extracted a chunk at a time (rows [s, s + m) of the
  same sequence): every metric equals one pass's over all of them."""
  monkeypatch.setattr(evaluator_lib, "CHUNK", 1000)
  real, generate = _training_split(4000), StubGenerator()
  ev = evaluator_lib.Evaluator(StubExtractor(), real, num_samples=3500, reference="sample",
                               kid_subsets=3, kid_subset_size=500)
  chunked = ev.evaluate_generator(generate)
  assert generate.calls == [(0, 1000), (1000, 1000), (2000, 1000), (3000, 500)]
  whole = ev.evaluate(generate(3500))
  for name in ("fid", "kid", "precision", "recall", "density", "coverage", "is"):
    assert chunked[name] == pytest.approx(whole[name], rel=1e-9, abs=1e-12), name


def test_a_cache_file_made_under_another_key_is_refused(tmp_path):
  key = reference_cache.key_of(data="d/train", data_fingerprint="a" * 12, image_shape=(2, 2, 1),
                               extractor={"name": "classifier", "id": "c1", "dir": "/x"},
                               resize="", reference="sample", num_samples=10, seed=0)
  other = {**key, "data_fingerprint": "b" * 12}
  os.makedirs(tmp_path, exist_ok=True)
  path = reference_cache.save(other, np.ones((3, 2)), str(tmp_path))
  os.replace(path, reference_cache.path_of(key, str(tmp_path)))  # Renamed into key's place.
  assert reference_cache.load(key, str(tmp_path)) is None
  computed = reference_cache.store(key, str(tmp_path))(lambda: np.zeros((3, 2)))
  np.testing.assert_array_equal(computed, 0.0)
  np.testing.assert_array_equal(reference_cache.load(key, str(tmp_path)), 0.0)
  # Where an extractor was read from does not change the key; what it is does.
  moved = reference_cache.key_of(data="d/train", data_fingerprint="a" * 12,
                                 image_shape=(2, 2, 1),
                                 extractor={"name": "classifier", "id": "c1", "dir": "/y"},
                                 resize="", reference="sample", num_samples=10, seed=0)
  assert reference_cache.path_of(moved) == reference_cache.path_of(key)
  assert reference_cache.path_of({**key, "seed": 1}) != reference_cache.path_of(key)


def test_protocol_of_the_config():
  ev = types.SimpleNamespace(protocol="", feature_extractor="classifier", resize="clean",
                             num_samples=5000, reference="sample")
  assert protocols.of_settings(ev) == protocols.Protocol(
      "quick_classifier", "classifier", "", 5000, "sample")
  inception = types.SimpleNamespace(**{**vars(ev), "feature_extractor": "inception",
                                       "reference": "full"})
  assert protocols.of_settings(inception).name == "custom_inception"
  assert protocols.of_settings(inception).resize == "clean"
  named = types.SimpleNamespace(**{**vars(ev), "protocol": "clean_fid50k_full"})
  assert protocols.of_settings(named) == protocols.PRESETS["clean_fid50k_full"]
  with pytest.raises(errors.InvalidInputError, match="valid: fid50k_full, clean_fid50k_full"):
    protocols.of_settings(types.SimpleNamespace(**{**vars(ev), "protocol": "fid50k"}))
  assert protocols.label({"provenance": {"feature_extractor": {}}}) == "unrecorded"


def test_progress_logs_an_eta_when_not_in_a_terminal(monkeypatch):
  lines = []
  monkeypatch.setattr(progress.logging, "info", lambda fmt, *a: lines.append(fmt % a))
  shown = progress.Progress("Generated samples", 50_000, every_seconds=0.0,
                            stream=io.StringIO())
  for _ in range(5):
    shown.update(10_000)
  shown.close()
  assert len(lines) == 5  # Four while going (not at 100%), one at the end.
  assert lines[0].startswith("Generated samples: 10,000/50,000 images (20%)")
  assert "ETA" in lines[0] and lines[-1].startswith("Generated samples: 50,000/50,000")

  class Terminal(io.StringIO):
    def isatty(self):
      return True

  terminal = Terminal()
  shown = progress.Progress("Reference features", 4, stream=terminal)
  shown.update(2)
  shown.close()
  assert terminal.getvalue().count("\r") == 2 and terminal.getvalue().endswith("\n")
