"""python -m jaxgan.fid: any two image sets (folders, .npz, saved statistics, dataset splits)
scored under a protocol, the table headed by its protocol line. The metrics' math is
test_metrics.py's; the extractor is a stub here except in the one command-line run."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from jaxgan import fid
from jaxgan.core import errors
from jaxgan.evaluation import image_sets
from tests import helpers
from tests.test_protocols import StubExtractor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _folder(path, n, shift, size=(16, 16), mode="RGB"):
  os.makedirs(path, exist_ok=True)
  rng = np.random.default_rng(shift)
  for i in range(n):
    pixels = np.clip(rng.integers(0, 180, (*size, 3)) + shift, 0, 255).astype(np.uint8)
    Image.fromarray(pixels).convert(mode).save(os.path.join(path, f"{i:03d}.png"))
  (path / "notes.txt").write_text("not an image")
  return str(path)


def test_two_folders_an_npz_and_saved_statistics(tmp_path):
  a = _folder(tmp_path / "a", 12, 0)
  b = _folder(tmp_path / "b", 10, 40, mode="L")  # Grey files are read as RGB, as peers do.
  protocol = fid.protocol_of("clean_fid50k_full", None)
  text = fid.run([a, b], protocol, StubExtractor(), save_stats=str(tmp_path / "a.npz"),
                 kid_subsets=2, kid_subset_size=5)
  lines = text.splitlines()
  assert lines[0].startswith("Protocol clean_fid50k_full: stub extractor, resize")
  assert lines[1] == f"A (reference): folder {a} (12 images, 16x16x3)"
  assert lines[2] == f"B: folder {b} (10 images, 16x16x3)"
  for row in ("| FID |", "| KID |", "| precision |", "| recall |", "| density |",
              "| coverage |", "| Inception Score (B) |"):
    assert row in text, row
  assert f"Wrote {tmp_path / 'a.npz'}" in text
  # The same numbers with A's statistics and B as an .npz of its pixels.
  pixels = np.stack([np.asarray(Image.open(os.path.join(b, f"{i:03d}.png")).convert("RGB"))
                     for i in range(10)])
  np.savez(tmp_path / "b.npz", images=pixels)
  again = fid.run([str(tmp_path / "a.npz"), str(tmp_path / "b.npz")], protocol,
                  StubExtractor(), kid_subsets=2, kid_subset_size=5)
  assert again.splitlines()[3:] == lines[3:len(again.splitlines())]
  assert "statistics " in again.splitlines()[1]


def test_statistics_of_another_protocol_are_refused(tmp_path):
  a = _folder(tmp_path / "a", 6, 0)
  stub = StubExtractor()
  record = fid.protocol_of("clean_fid50k_full", None).record(stub.provenance()["id"])
  image_sets.save_stats(str(tmp_path / "a.npz"), image_sets.features_of(a, stub, record))
  other = fid.protocol_of("fid50k_full", None)
  with pytest.raises(errors.InvalidInputError, match="another protocol .*resize 'clean'.*"
                     "resize 'legacy_tensorflow'"):
    fid.run([str(tmp_path / "a.npz"), a], other, stub)


def test_sets_named_wrongly_or_of_mixed_sizes(tmp_path):
  a = _folder(tmp_path / "a", 3, 0)
  Image.new("RGB", (20, 16)).save(os.path.join(a, "999.png"))
  with pytest.raises(errors.InvalidInputError, match="999.png' is 20x16, but the other "
                     "images .* are 16x16"):
    image_sets.features_of(a, StubExtractor(), {})
  with pytest.raises(errors.MissingFileError, match="neither a folder"):
    image_sets.kind_of(str(tmp_path / "absent"))
  with pytest.raises(errors.InvalidInputError, match="data:NAME/SPLIT"):
    image_sets.features_of("data:mnist", StubExtractor(), {})
  np.savez(tmp_path / "x.npz", pictures=np.zeros((2, 4, 4), np.uint8))
  with pytest.raises(errors.InvalidInputError, match="no 'images' array .*pictures"):
    image_sets.features_of(str(tmp_path / "x.npz"), StubExtractor(), {})


def test_a_dataset_split_is_extracted_once(tmp_path, monkeypatch):
  """data:NAME/SPLIT: read as training reads it; its features cached as a run's reference."""
  monkeypatch.setenv("JAXGAN_CACHE", str(tmp_path / "cache"))
  mnist = helpers.write_fake_mnist(str(tmp_path / "mnist"), n=30)
  stub = StubExtractor()
  record = fid.protocol_of("fid50k_full", None).record("stub")
  first = image_sets.features_of("data:mnist/test", stub, record, local_dir=mnist)
  assert stub.seen == 30 and first.count == 30 and "28x28x1" in first.description
  again = StubExtractor()
  second = image_sets.features_of("data:mnist/test", again, record, local_dir=mnist)
  assert again.seen == 0
  np.testing.assert_array_equal(first.features, second.features)


def test_the_command_with_inception(tmp_path):
  """The command itself, with FID Inception on random weights (a converted file): prints the
  protocol line and the table; FID of a set against itself is 0."""
  from jaxgan.evaluation import inception
  from tests.test_inception import _random_variables
  weights = str(tmp_path / "inception.npz")
  inception.save_variables(_random_variables(), weights)
  a = _folder(tmp_path / "a", 6, 0)
  result = subprocess.run(
      [sys.executable, "-m", "jaxgan.fid", a, a, f"--inception_weights={weights}",
       "--kid_subsets=2", "--kid_subset_size=3"],
      cwd=ROOT, capture_output=True, text=True, timeout=300,
      env={**os.environ, "JAX_PLATFORMS": "cpu"})
  assert result.returncode == 0, result.stderr[-2000:]
  lines = result.stdout.splitlines()
  assert lines[0].startswith("Protocol fid50k_full: inception ") and "legacy_tensorflow" in \
      lines[0]
  fid_row = next(line for line in lines if line.startswith("| FID |"))
  assert abs(float(fid_row.split("|")[2])) < 1e-3
  usage = subprocess.run([sys.executable, "-m", "jaxgan.fid", a], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
  assert usage.returncode != 0 and "--save_stats" in usage.stderr
