"""Datasets beyond MNIST: tfds (Fashion-MNIST, CIFAR-10, CelebA through mock data: tfds cannot
download here), centre crop and resize, and researchers' own files (image folders, .npz)."""
import os

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from jaxgan import train
from jaxgan.data import resize, sources
from tests import helpers


@pytest.mark.parametrize("name,shape", [("fashion_mnist", (28, 28, 1)),
                                        ("cifar10", (32, 32, 3))])
def test_tfds_labelled_datasets(name, shape):
  with tfds.testing.mock_data(num_examples=6):
    data = sources.load(name, "train", None, None)
  assert data.images.shape == (6, *shape) and data.images.dtype == np.uint8
  assert data.labels.shape == (6,) and data.num_classes == 10


def test_tfds_celeba_is_centre_cropped_and_resized_per_example():
  with tfds.testing.mock_data(num_examples=5):
    data = sources.load("celeb_a", "train", None, None, crop=108, image_size=64)
    full = sources.load("celeb_a", "train", None, None)
  assert full.images.shape == (5, 218, 178, 3)
  assert data.images.shape == (5, 64, 64, 3) and data.labels is None
  # The same pixels as cropping and resizing the full-size arrays afterwards.
  np.testing.assert_array_equal(data.images, resize.crop_and_resize(full.images, 108, 64))


@pytest.mark.parametrize("crop,size,message", [
    (300, 64, "crop=300 is larger than the 218x178 images"),
    (0, 64, "image_size=64 would stretch the 218x178 images .* set config.dataset.crop")])
def test_tfds_impossible_crop_or_resize_is_refused(crop, size, message):
  with tfds.testing.mock_data(num_examples=2):
    with pytest.raises(ValueError, match=message):
      sources.load("celeb_a", "train", None, None, crop=crop, image_size=size)


def test_centre_crop_keeps_the_middle():
  images = np.arange(2 * 10 * 8 * 1, dtype=np.uint8).reshape(2, 10, 8, 1)
  np.testing.assert_array_equal(resize.crop_and_resize(images, 4, 0), images[:, 3:7, 2:6])


def test_resize_keeps_a_linear_ramp_linear():
  """Antialiased bilinear halving samples a linear ramp at the output pixels' centres: output
  column j covers input columns 2j and 2j+1, centre 2j + 0.5 (away from the borders)."""
  ramp = np.tile(4.0 * np.arange(64) + 2.0, (64, 1))  # value = 4 * column + 2
  images = np.round(ramp).astype(np.uint8)[None, :, :, None]
  out = resize.crop_and_resize(images, 0, 32)[0, :, :, 0].astype(float)
  expected = 4.0 * (2 * np.arange(32) + 0.5) + 2.0
  np.testing.assert_allclose(out[5:-5, 2:-2], np.tile(expected, (32, 1))[5:-5, 2:-2], atol=1)


def test_idx_files_can_be_cropped_and_resized(tmp_path):
  mnist_dir = helpers.write_fake_mnist(str(tmp_path), n=4)
  data = sources.load("mnist", "test", mnist_dir, None, crop=20, image_size=16)
  assert data.images.shape == (4, 16, 16, 1) and data.labels.shape == (4,)


# --- .npz -------------------------------------------------------------------------------

def _write_npz(path, n=6, shape=(12, 12, 3), labels=True, seed=0, **extra):
  rng = np.random.default_rng(seed)
  arrays = {"images": rng.integers(0, 256, (n, *shape), dtype=np.uint8), **extra}
  if labels:
    arrays["labels"] = rng.integers(0, 4, (n,))
  np.savez(path, **arrays)
  return arrays


def test_npz_splits_join_and_keep_pixels_and_labels(tmp_path):
  train_arrays = _write_npz(tmp_path / "train.npz", n=6, seed=0)
  test_arrays = _write_npz(tmp_path / "test.npz", n=3, seed=1, num_classes=7)
  data = sources.load("npz", "train+test", str(tmp_path), None)
  np.testing.assert_array_equal(data.images, np.concatenate([train_arrays["images"],
                                                             test_arrays["images"]]))
  np.testing.assert_array_equal(data.labels, np.concatenate([train_arrays["labels"],
                                                             test_arrays["labels"]]))
  assert data.num_classes == 7


def test_npz_greyscale_unlabelled(tmp_path):
  _write_npz(tmp_path / "train.npz", shape=(8, 8), labels=False)
  data = sources.load("npz", "train", str(tmp_path), None)
  assert data.images.shape == (6, 8, 8, 1) and data.labels is None and data.num_classes == 0


@pytest.mark.parametrize("contents,message", [
    ({"pixels": np.zeros((2, 4, 4), np.uint8)}, "has no 'images' array .*pixels"),
    ({"images": np.zeros((2, 4), np.uint8)}, r"must be \[N, H, W\] or \[N, H, W, C\]"),
    ({"images": np.zeros((2, 4, 4), np.float32)}, "must be integer pixel values"),
    ({"images": np.zeros((2, 4, 4), np.uint8), "labels": np.zeros(3, int)},
     r"'labels' must be integers \[N=2\]"),
])
def test_npz_bad_contents_are_named(tmp_path, contents, message):
  np.savez(tmp_path / "train.npz", **contents)
  with pytest.raises(ValueError, match=message):
    sources.load("npz", "train", str(tmp_path), None)


def test_npz_missing_or_damaged_files(tmp_path):
  _write_npz(tmp_path / "train.npz")
  with pytest.raises(sources.DataUnavailableError, match="needs .*test.npz.*holds train.npz"):
    sources.load("npz", "test", str(tmp_path), None)
  (tmp_path / "test.npz").write_bytes(b"not a zip file")
  with pytest.raises(ValueError, match="Cannot read .*test.npz"):
    sources.load("npz", "test", str(tmp_path), None)
  with pytest.raises(ValueError, match="set --config.dataset.local_dir"):
    sources.load("npz", "train", None, None)


# --- image folders ----------------------------------------------------------------------

def _write_png(path, array):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  Image.fromarray(array).save(path)


def test_image_folder_with_class_subfolders(tmp_path):
  rng = np.random.default_rng(0)
  written = {}
  for cls in ("zebra", "ant"):  # labels follow the sorted folder names: ant 0, zebra 1
    for i in range(2):
      written[(cls, i)] = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
      _write_png(str(tmp_path / "train" / cls / f"{i}.png"), written[(cls, i)])
  data = sources.load("image_folder", "train", str(tmp_path), None)
  assert data.images.shape == (4, 10, 12, 3) and data.num_classes == 2
  np.testing.assert_array_equal(data.labels, [0, 0, 1, 1])
  np.testing.assert_array_equal(data.images[0], written[("ant", 0)])
  np.testing.assert_array_equal(data.images[3], written[("zebra", 1)])


def test_image_folder_flat_greyscale_and_resized_to_one_size(tmp_path):
  _write_png(str(tmp_path / "train" / "a.png"), np.full((20, 20), 7, np.uint8))
  _write_png(str(tmp_path / "train" / "b.png"), np.full((30, 40), 9, np.uint8))
  with pytest.raises(ValueError, match="differ in size.*b.png.*Set --config.dataset.image_size"):
    sources.load("image_folder", "train", str(tmp_path), None)
  data = sources.load("image_folder", "train", str(tmp_path), None, crop=20, image_size=8)
  assert data.images.shape == (2, 8, 8, 1) and data.labels is None
  assert set(np.unique(data.images[0])) == {7} and set(np.unique(data.images[1])) == {9}


def test_image_folder_errors_name_what_is_there(tmp_path):
  (tmp_path / "train").mkdir()
  with pytest.raises(sources.DataUnavailableError, match="No image files"):
    sources.load("image_folder", "train", str(tmp_path), None)
  with pytest.raises(sources.DataUnavailableError, match="needs the folder .*test.*holds train"):
    sources.load("image_folder", "test", str(tmp_path), None)
  (tmp_path / "train" / "broken.png").write_bytes(b"\x89PNG but not really")
  with pytest.raises(ValueError, match="Cannot read image .*broken.png"):
    sources.load("image_folder", "train", str(tmp_path), None)


def test_training_on_your_own_npz_with_the_64x64_dcgan_family(tmp_path):
  """The train command end to end on an .npz of 16x16 RGB images (Radford's DCGAN, small)."""
  (tmp_path / "data").mkdir()
  _write_npz(tmp_path / "data" / "train.npz", n=16, shape=(16, 16, 3))
  config = helpers.tiny_config(str(tmp_path / "data"), **{
      "dataset.name": "npz", "dataset.split": "train", "model.name": "dcgan_radford",
      "model.kwargs.base_features": 4, "num_train_steps": 2, "eval.every_steps": 0})
  result = train.train_and_evaluate(config, str(tmp_path / "w"))
  assert result["step"] == 2
  assert os.path.exists(tmp_path / "w" / "samples" / "step_0000002.png")
