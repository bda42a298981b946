"""IDX reading, local/tfds sources and the step-addressed batch pipeline."""
import gzip

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from jaxgan.data import idx, pipeline, sources
from tests import helpers


def test_idx_round_trip(tmp_path):
  array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
  for name in ("a-idx3-ubyte.gz", "a-idx3-ubyte"):
    path = str(tmp_path / name)
    idx.write_idx(path, array)
    np.testing.assert_array_equal(idx.read_idx(path, expected_ndim=3), array)


def test_idx_bad_magic(tmp_path):
  path = str(tmp_path / "x.gz")
  with gzip.open(path, "wb") as f:
    f.write(b"\x1f\x00\x08\x03" + b"\x00" * 20)
  with pytest.raises(idx.IdxFormatError, match="magic"):
    idx.read_idx(path, 3)


def test_idx_truncated_data_and_archive(tmp_path):
  path = str(tmp_path / "t.gz")
  idx.write_idx(path, np.zeros((10, 28, 28), np.uint8))
  raw = gzip.open(path).read()
  with gzip.open(path, "wb") as f:
    f.write(raw[:-100])
  with pytest.raises(idx.IdxFormatError, match="Truncated"):
    idx.read_idx(path, 3)
  with open(path, "rb") as f:
    compressed = f.read()
  with open(path, "wb") as f:
    f.write(compressed[: len(compressed) // 2])
  with pytest.raises(idx.IdxFormatError, match="complete download"):
    idx.read_idx(path, 3)


def test_idx_swapped_files_are_named(tmp_path):
  path = str(tmp_path / "labels.gz")
  idx.write_idx(path, np.zeros((5,), np.uint8))
  with pytest.raises(idx.IdxFormatError, match="swapped"):
    idx.read_idx(path, 3)


def test_local_mnist_splits(tmp_path):
  helpers.write_fake_mnist(str(tmp_path), n=20, split_prefix="t10k", seed=1)
  helpers.write_fake_mnist(str(tmp_path), n=30, split_prefix="train", seed=2)
  test = sources.load("mnist", "test", str(tmp_path), None)
  assert test.images.shape == (20, 28, 28, 1) and test.images.dtype == np.uint8
  assert test.labels.shape == (20,) and test.num_classes == 10
  both = sources.load("mnist", "train+test", str(tmp_path), None)
  assert len(both.images) == 50


def test_missing_split_names_the_files(tmp_path):
  helpers.write_fake_mnist(str(tmp_path), n=5, split_prefix="t10k")
  with pytest.raises(sources.DataUnavailableError,
                     match="train-images-idx3-ubyte.*train-labels-idx1-ubyte"):
    sources.load("mnist", "train", str(tmp_path), None)
  with pytest.raises(ValueError, match="valid: test, train"):
    sources.load("mnist", "validation", str(tmp_path), None)
  with pytest.raises(sources.DataUnavailableError, match="not a folder"):
    sources.load("mnist", "test", str(tmp_path / "nope"), None)


def test_tfds_path_with_mock_data():
  with tfds.testing.mock_data(num_examples=12):
    data = sources.load("mnist", "train", None, None)
  assert data.images.shape == (12, 28, 28, 1) and data.images.dtype == np.uint8
  assert data.labels.shape == (12,) and data.num_classes == 10


def test_pixels_outside_uint8_range_are_refused_not_wrapped():
  ok = sources.as_uint8_pixels(np.array([0, 17, 255], np.int64), "src")
  assert ok.dtype == np.uint8 and list(ok) == [0, 17, 255]
  with pytest.raises(ValueError, match=r"src: pixel values must lie in \[0, 255\]; these "
                                       r"uint16 images span \[0, 1023\]"):
    sources.as_uint8_pixels(np.array([0, 1023], np.uint16), "src")
  with pytest.raises(ValueError, match="images must be integer pixel values .* got float32"):
    sources.as_uint8_pixels(np.array([0.0, 0.5], np.float32), "src")
  images = np.zeros((2, 2, 2, 1), np.uint8)
  with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\); they span \[3, 10\]"):
    sources.ImageData(images, np.array([3, 10], np.int32), num_classes=10)
  with pytest.raises(ValueError, match="images must be uint8"):
    sources.ImageData(images.astype(np.float32), None, num_classes=0)


def test_tfds_float_images_are_refused(monkeypatch):
  """A tfds dataset whose images are floats in [0, 1]: an error, not a dataset of zeros."""
  def float_mnist(*args, **kwargs):
    with tfds.testing.mock_data(num_examples=4):
      dataset, info = original(*args, **kwargs)
    return dataset.map(lambda ex: {**ex, "image": tf.cast(ex["image"], tf.float32) / 255.0}
                       ), info
  original = tfds.load
  monkeypatch.setattr(tfds, "load", float_mnist)
  with pytest.raises(ValueError, match="tfds dataset 'mnist': images must be integer pixel"):
    sources.load("mnist", "train", None, None)


def test_tfds_unknown_dataset():
  with pytest.raises(ValueError, match="not a tensorflow-datasets dataset"):
    sources.load("mnistt", "train", None, None)


def test_to_model_range():
  out = pipeline.to_model_range(np.array([0, 127, 255], np.uint8))
  np.testing.assert_allclose(out, [-1.0, 127 / 127.5 - 1, 1.0], atol=1e-6)
  assert out.dtype == np.float32


def _data(n=50):
  images = np.arange(n, dtype=np.uint8)[:, None, None, None] * np.ones((1, 2, 2, 1), np.uint8)
  return sources.ImageData(images, np.arange(n, dtype=np.int32), num_classes=n)


def _batches(data, process=0, local=4, global_devices=4, batch=8, n_critic=1, seed=0):
  return pipeline.StepBatches(data, seed=seed, global_batch_size=batch, n_critic=n_critic,
                              process_index=process, local_device_count=local,
                              global_device_count=global_devices)


def test_batch_shape_and_labels_follow_images():
  b = _batches(_data(), n_critic=3).batch(5)
  assert b["image"].shape == (4, 3, 2, 2, 2, 1) and b["label"].shape == (4, 3, 2)
  # Pixel value i belongs to example i: labels and images stay paired.
  np.testing.assert_array_equal(np.round((b["image"][..., 0, 0, 0] + 1) * 127.5), b["label"])


def test_each_epoch_visits_every_example_once():
  data = _data(48)
  batches = _batches(data, batch=8)
  seen = np.concatenate([batches.example_indices(s).ravel() for s in range(6)])
  assert sorted(seen) == list(range(48))
  # The next epoch is another permutation.
  nxt = np.concatenate([batches.example_indices(s).ravel() for s in range(6, 12)])
  assert sorted(nxt) == list(range(48)) and not np.array_equal(seen, nxt)


def test_batches_are_a_function_of_seed_and_step_only():
  a, b = _batches(_data()), _batches(_data())
  for step in (7, 0, 3):  # Any order: no iterator state.
    np.testing.assert_array_equal(a.batch(step)["image"], b.batch(step)["image"])
  assert not np.array_equal(_batches(_data(), seed=1).example_indices(0),
                            a.example_indices(0))


def test_process_shards_partition_the_global_batch():
  data = _data()
  whole = _batches(data, process=0, local=4, global_devices=4, n_critic=2)
  parts = [_batches(data, process=p, local=2, global_devices=4, n_critic=2) for p in (0, 1)]
  for step in range(4):
    joined = np.concatenate([p.batch(step)["image"] for p in parts], axis=0)
    np.testing.assert_array_equal(joined, whole.batch(step)["image"])


def test_indivisible_batch():
  with pytest.raises(ValueError, match="does not divide"):
    _batches(_data(), batch=6, global_devices=4)
