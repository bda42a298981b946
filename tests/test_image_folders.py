"""Your own image folders read exactly as documented (jaxgan.data.local_files), and said back.

Each case here is one of issue 45's: a hidden subfolder that silently became the dataset, a
colour file quietly turned grey, one unreadable file named of several, images directly in
local_dir, a relative local_dir, a folder smaller than one batch. What was read is logged.
"""
from __future__ import annotations

import logging
import os

import numpy as np
import pytest
from PIL import Image

from jaxgan import train, translate
from jaxgan.core import errors, run_settings
from jaxgan.data import domains, pipeline, resize, sources, streaming
from jaxgan.experiment import builders
from jaxgan.workdir import artefacts
from tests import helpers


def _png(path, array):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  Image.fromarray(array).save(path)


def _digits(folder, n, shape=(8, 8), start=0):
  """n greyscale PNGs 0.png... in `folder`, image i filled with (start + i) % 256."""
  for i in range(n):
    _png(os.path.join(folder, f"{start + i:03d}.png"), np.full(shape, (start + i) % 256, np.uint8))


def _load(root, split="train", **kwargs):
  return sources.load("image_folder", split, str(root), None, **kwargs)


def test_hidden_names_are_ignored_not_taken_for_a_class(tmp_path):
  """Before: `.ipynb_checkpoints/` was a class, and the 12 top-level images were dropped."""
  _digits(tmp_path / "train", 12)
  _digits(tmp_path / "train" / ".ipynb_checkpoints", 1)
  (tmp_path / "train" / ".DS_Store").write_bytes(b"\0\1")
  data = _load(tmp_path)
  assert data.images.shape == (12, 8, 8, 1) and data.labels is None
  np.testing.assert_array_equal(data.images[:, 0, 0, 0], np.arange(12))


def test_images_beside_class_folders_are_refused_with_what_to_do(tmp_path):
  _digits(tmp_path / "train", 3)
  _digits(tmp_path / "train" / "cats", 2)
  with pytest.raises(errors.InvalidInputError,
                     match=r"holds 3 image file\(s\) .*beside the class folders \['cats'\].*"
                     "Move the images into their class folders"):
    _load(tmp_path)


def test_an_empty_class_folder_is_refused(tmp_path):
  _digits(tmp_path / "train" / "ant", 2)
  (tmp_path / "train" / "bee").mkdir()
  (tmp_path / "train" / "bee" / "notes.txt").write_text("no images")
  with pytest.raises(sources.DataUnavailableError, match="Class folder .*bee.* holds no image"):
    _load(tmp_path)


def test_a_mix_of_grey_and_colour_is_refused_unless_channels_says_which(tmp_path, caplog):
  """Before: the first file decided, and an RGB file among grey ones became grey silently."""
  _digits(tmp_path / "train", 4)
  colour = np.zeros((8, 8, 3), np.uint8)
  colour[..., 0] = 200  # pure red: grey 60 by ITU-R 601-2 luma (PIL's "L")
  _png(str(tmp_path / "train" / "zz_colour.png"), colour)
  with pytest.raises(errors.InvalidInputError,
                     match=r"mixes greyscale and colour images: 4 greyscale \(e.g. .*000.png'\)"
                     r" and 1 colour \(e.g. .*zz_colour.png'\).*channels=1.*or 3"):
    _load(tmp_path)
  with caplog.at_level(logging.INFO):
    rgb = _load(tmp_path, channels=3)
  assert rgb.images.shape == (5, 8, 8, 3)
  np.testing.assert_array_equal(rgb.images[4], colour)
  np.testing.assert_array_equal(rgb.images[1], np.ones((8, 8, 3)))  # grey 1 as RGB
  assert "3 channel(s), 4 converted (config.dataset.channels=3)" in caplog.text
  grey = _load(tmp_path, channels=1)
  assert grey.images.shape == (5, 8, 8, 1) and grey.images[4].max() == 60


def test_every_unreadable_file_is_listed(tmp_path):
  _digits(tmp_path / "train", 3)
  for name in ("bad1.png", "bad2.jpg", "bad3.png"):
    (tmp_path / "train" / name).write_bytes(b"not an image")
  with pytest.raises(errors.InvalidInputError,
                     match=r"(?s)3 of the image files .* cannot be read:.*bad1.png.*bad2.jpg"
                     ".*bad3.png"):
    _load(tmp_path)


def test_images_directly_in_local_dir_are_told_where_to_go(tmp_path):
  _digits(tmp_path, 5)
  with pytest.raises(sources.SplitNotFoundError,
                     match=r"directly in .* \(5 image files\).*put them in .*train/"):
    _load(tmp_path)


def test_a_relative_local_dir_is_named_with_its_absolute_path(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  with pytest.raises(sources.DataUnavailableError,
                     match=f"local_dir 'my_images' \\({tmp_path}/my_images\\) is not a folder"):
    _load("my_images")
  _digits(tmp_path / "my_images" / "train", 2)
  assert len(_load("my_images").images) == 2  # resolved against the working directory


def test_what_was_read_is_said_back(tmp_path, caplog):
  _digits(tmp_path / "train" / "ant", 3, shape=(10, 10))
  _digits(tmp_path / "train" / "bee", 2, shape=(12, 12))
  (tmp_path / "train" / "README.txt").write_text("about the data")
  (tmp_path / "train" / "ant" / "labels.csv").write_text("x")
  with caplog.at_level(logging.INFO):
    data = _load(tmp_path, image_size=8)
  assert data.images.shape == (5, 8, 8, 1) and data.num_classes == 2
  line = next(r.getMessage() for r in caplog.records if "Image folder" in r.getMessage())
  assert "5 images, 2 classes (ant: 3, bee: 2); 1 channel(s);" in line
  assert "size as stored 10x10 (3), 12x12 (2), served as 8x8" in line
  assert "skipped 2 entries that are not images (.csv: 1, .txt: 1)" in line


def test_fewer_images_than_one_global_batch_are_refused():
  data = sources.ImageData(np.zeros((6, 4, 4, 1), np.uint8), None, 0)
  with pytest.raises(errors.InvalidInputError,
                     match=r"6 images, fewer than one global batch \(config.batch_size=8\)"):
    pipeline.StepBatches(data, seed=0, global_batch_size=8, n_critic=1, process_index=0,
                         local_device_count=1, global_device_count=1)


def test_channels_is_for_image_folders_only(tmp_path):
  with pytest.raises(errors.InvalidInputError, match="channels=3 converts the files of an "
                     "image folder; 'npz' is read with its own channels"):
    sources.load("npz", "train", str(tmp_path), None, channels=3)


def test_a_streamed_folder_refuses_the_other_kind_when_it_reads_it(tmp_path):
  _digits(tmp_path / "train", 3)
  _png(str(tmp_path / "train" / "zz.png"), np.zeros((8, 8, 3), np.uint8))
  data = streaming.image_folder("train", str(tmp_path))
  assert data.images[np.arange(3)].shape == (3, 8, 8, 1)
  with pytest.raises(errors.InvalidInputError, match="zz.png' is colour but .*channels=1"):
    data.images[np.arange(4)]
  assert streaming.image_folder("train", str(tmp_path), channels=3).images[
      np.arange(4)].shape == (4, 8, 8, 3)


def test_evaluating_unlabelled_images_names_both_ways_out_before_training(tmp_path):
  """Before: the classifier's refusal came at the first evaluation, naming one way out."""
  _digits(tmp_path / "data" / "train", 16)
  config = helpers.tiny_config(str(tmp_path / "data"), **{
      "dataset.name": "image_folder", "dataset.split": "train", "eval.every_steps": 2,
      "eval.num_samples": 16})
  with pytest.raises(errors.InvalidInputError,
                     match=r"'image_folder' is unlabelled\. Either .*feature_extractor=inception"
                     r".*or .*eval\.every_steps=0"):
    train.train_and_evaluate(config, str(tmp_path / "w"))
  assert not os.listdir(tmp_path / "w" / "checkpoints")  # Refused before the first step.


def test_two_domains_are_said_back_with_their_held_out_images(tmp_path):
  a = sources.ImageData(np.zeros((6, 4, 4, 1), np.uint8), None, 0)
  b = sources.ImageData(np.zeros((5, 4, 4, 1), np.uint8), np.array([0, 1, 1, 0, 1]), 2)
  pair = domains.DomainPair(a, b, test_a=a)
  said = pair.describe()
  assert "domain A: 6 images of shape (4, 4, 1), unlabelled; 6 held out" in said
  assert ("domain B: 5 images of shape (4, 4, 1), 2 classes (0: 2, 1: 3); no test split: its "
          "grid and evaluation use training images") in said
  assert pair.held_out_source() == "A: held-out images, B: training images"
  assert domains.DomainPair(a, a).held_out_source() == "training images (no test split)"
  assert artefacts.grid_examples(pair, 2)["source"] == pair.held_out_source()


@pytest.mark.parametrize("model, kwargs, batch, message", [
    ("stylegan2", {"channel_base": 64, "channel_max": 16}, 40,  # 10 per device of 4
     r"model\.kwargs\.mbstd_group_size=4 \(its default.*divide the 10 images .*"
     r"batch_size=40 over 4 device"),
    ("dcgan_tutorial", {"minibatch_stddev_group": 4}, 24,
     r"model\.kwargs\.minibatch_stddev_group=4 \(set.*divide the 6 images"),
])
def test_an_architecture_constraint_names_its_setting_before_data_loads(
    tmp_path, model, kwargs, batch, message):
  """Before: the model's ValueError at trace time, after loading the data, naming no field."""
  config = helpers.tiny_config(str(tmp_path / "nowhere"), **{
      "model.name": model, "model.kwargs": kwargs, "batch_size": batch,
      "dataset.name": "image_folder", "dataset.image_size": 8})
  with pytest.raises(builders.ConfigError, match=message):
    train.train_and_evaluate(config, str(tmp_path / "w"))


def test_translate_applies_the_runs_crop_and_resize_or_names_the_size_it_needs():
  dataset = run_settings.DataSpec(
      name="image_folder", split="train", local_dir="", data_dir="", crop=0, image_size=8,
      channels=0, random_crop=6, random_flip=False, streaming=False, prefetch=2)
  images = np.random.default_rng(0).integers(0, 256, (3, 16, 16, 1), dtype=np.uint8)
  fitted = translate.fit_to_run(images, (6, 6, 1), dataset)
  assert fitted.shape == (3, 6, 6, 1)
  np.testing.assert_array_equal(fitted, pipeline.centre_crop(
      resize.crop_and_resize(images, 0, 8), 6))
  with pytest.raises(errors.InvalidInputError, match=r"trained on \(6, 6, 3\).*and channels"):
    translate.fit_to_run(images, (6, 6, 3), dataset)
