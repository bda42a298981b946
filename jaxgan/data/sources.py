"""Where images come from: original local files or tensorflow-datasets, as in-memory arrays.

Both return an `ImageData`: every image of the split as uint8 [N, H, W, C] (and labels [N]).
Datasets that fit in host memory (MNIST, Fashion-MNIST, CIFAR-10: well under 200 MB) are held
whole, which lets the pipeline address any example by index: the batch of a step is then a
pure function of (seed, step), resumable without iterator state.
"""
from __future__ import annotations

import dataclasses
from typing import List, Optional

import numpy as np

from jaxgan.core import errors, moved_modules, run_settings
from jaxgan.data import idx
from jaxgan.runtime import storage

# Datasets whose original files are IDX: {name: {split: (images file, labels file)}}.
IDX_DATASETS = {
    name: {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
           "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
    for name in ("mnist", "fashion_mnist")
}


# Built from MNIST by jaxgan (not a tfds name): three digits as the RGB channels, 1000 modes.
STACKED_MNIST = "stacked_mnist"

# Built from MNIST by jaxgan for the cyclegan game (jaxgan.data.domains): two domains, digits
# as written and written with a thicker pen.
DIGIT_STROKES = "digit_strokes"

# Researchers' own files in config.dataset.local_dir (jaxgan.data.local_files).
LOCAL_FORMATS = ("image_folder", "npz")


class DataUnavailableError(errors.UserError, RuntimeError):
  """The dataset cannot be found or fetched; the message says how to provide it."""


class SplitNotFoundError(DataUnavailableError):
  """The dataset has no split of that name (a local folder without it, or a tfds split name
  the dataset does not have); the message names the splits there are."""


def as_uint8_pixels(images: np.ndarray, source: str) -> np.ndarray:
  """`images` as uint8, when they are integer pixel values in [0, 255]; otherwise an error
  (a cast would wrap 16-bit values and zero float images in [0, 1] without a word)."""
  if images.dtype == np.uint8:
    return images
  if np.issubdtype(images.dtype, np.integer) and images.size:
    low, high = int(images.min()), int(images.max())
    if 0 <= low and high <= 255:
      return images.astype(np.uint8)
    raise errors.InvalidInputError(
        f"{source}: pixel values must lie in [0, 255]; these {images.dtype} "
        f"images span [{low}, {high}].")
  raise errors.InvalidInputError(
      f"{source}: images must be integer pixel values in [0, 255] (uint8); got "
      f"{images.dtype}. Convert them (e.g. np.round(x * 255).astype(np.uint8) "
      "for floats in [0, 1]).")


@dataclasses.dataclass(frozen=True)
class ImageData:
  """A split: in memory, or streamed (`jaxgan.data.streaming`: images and labels are then
  array-likes that decode the rows they are indexed by).

  Attributes:
    images: uint8 [N, H, W, C] (an array, or streaming.LazyRows).
    labels: int32 [N], or None for an unlabelled dataset.
    num_classes: number of classes (0 when unlabelled).
  """
  images: np.ndarray
  labels: Optional[np.ndarray]
  num_classes: int

  def __post_init__(self):
    if self.images.dtype != np.uint8 or self.images.ndim != 4:
      raise errors.InvalidInputError(f"images must be uint8 [N, H, W, C]; got {self.images.dtype} "
                                     f"{self.images.shape}.")
    if self.labels is not None and len(self.labels) != len(self.images):
      raise errors.InvalidInputError(f"{len(self.images)} images but {len(self.labels)} labels.")
    if len(self.images) == 0:
      raise errors.InvalidInputError("the dataset split is empty.")
    if self.labels is not None and self.num_classes and isinstance(self.labels, np.ndarray) and (
        self.labels.min() < 0 or self.labels.max() >= self.num_classes):
      raise errors.InvalidInputError(f"labels must lie in [0, {self.num_classes}); they span "
                                     f"[{self.labels.min()}, {self.labels.max()}].")

  @property
  def image_shape(self):
    return tuple(self.images.shape[1:])

  def describe(self) -> str:
    """"N images of shape (H, W, C), K classes (0: n0, 1: n1, ...)" or "..., unlabelled"
    (what a run logs at start-up; classes counted when the labels are in memory, as a range
    beyond 20 classes)."""
    out = f"{len(self.images)} images of shape {self.image_shape}"
    if self.labels is None:
      return out + ", unlabelled"
    if not isinstance(self.labels, np.ndarray):
      return out + f", {self.num_classes} classes"
    counts = np.bincount(self.labels, minlength=self.num_classes)
    if len(counts) > 20:
      return out + (f", {self.num_classes} classes ({counts.min()} to {counts.max()} images "
                    "each)")
    return out + f", {self.num_classes} classes (" + ", ".join(
        f"{k}: {n}" for k, n in enumerate(counts)) + ")"


def _split_names(split: str, valid: List[str]) -> List[str]:
  parts = [s.strip() for s in split.split("+")]
  for part in parts:
    if part not in valid:
      raise errors.InvalidInputError(
          f"config.dataset.split={split!r}: unknown split {part!r} for local "
          f"files; valid: {', '.join(valid)} (join with '+', e.g. 'train+test').")
  return parts


def _find(local_dir: str, base: str) -> Optional[str]:
  for candidate in (base + ".gz", base):
    path = storage.join(local_dir, candidate)
    if storage.exists(path):
      return path
  return None


def load_idx_dataset(name: str, split: str, local_dir: str) -> ImageData:
  """Reads an MNIST-family split from its original IDX files in `local_dir`.

  Args:
    name: "mnist" or "fashion_mnist".
    split: "train", "test", or several joined with "+".
    local_dir: folder holding e.g. t10k-images-idx3-ubyte.gz (gzip or uncompressed).
  """
  if name not in IDX_DATASETS:
    raise errors.InvalidInputError(
        f"config.dataset.local_dir reads IDX files for {sorted(IDX_DATASETS)}; "
        f"got dataset.name={name!r}.")
  if not storage.isdir(local_dir):
    raise DataUnavailableError(f"config.dataset.local_dir={local_dir!r} is not a folder.")
  files = IDX_DATASETS[name]
  images, labels = [], []
  for part in _split_names(split, sorted(files)):
    found = [_find(local_dir, base) for base in files[part]]
    if None in found:
      present = sorted(storage.listdir(local_dir))
      raise SplitNotFoundError(
          f"Split {part!r} of {name} needs {files[part][0]}[.gz] and {files[part][1]}[.gz] in "
          f"{local_dir!r}; it holds {present or 'nothing'}. Add the files, or choose a split "
          f"that is present with --config.dataset.split.")
    part_images = idx.read_idx(found[0], expected_ndim=3)
    part_labels = idx.read_idx(found[1], expected_ndim=1)
    if len(part_images) != len(part_labels):
      raise idx.IdxFormatError(f"{found[0]} holds {len(part_images)} images but {found[1]} "
                               f"holds {len(part_labels)} labels.")
    images.append(part_images[..., None])
    labels.append(part_labels.astype(np.int32))
  return ImageData(np.concatenate(images), np.concatenate(labels), num_classes=10)


def load_tfds_dataset(name: str, split: str, data_dir: Optional[str], crop: int = 0,
                      image_size: int = 0) -> ImageData:
  """Loads a tfds split whole ("image" uint8 [H, W, C] and optional "label" features).

  crop / image_size (see `jaxgan.data.resize`) are applied per example before batching, so
  only the resized images are ever held in memory (CelebA: 2.5 GB at 64x64 instead of 24 GB).
  """
  import tensorflow_datasets as tfds  # Imported here: tfds (and TF) take seconds to import.

  from jaxgan.data import resize

  from jaxgan.data import tfds_errors  # pylint: disable=g-import-not-at-top (it imports this)

  with tfds_errors.explained(name, split, data_dir):
    try:
      dataset, info = tfds.load(name, split=split, data_dir=data_dir, with_info=True)
    except tfds.core.registered.DatasetNotFoundError as e:
      raise errors.InvalidInputError(f"config.dataset.name={name!r} is not a "
                                     f"tensorflow-datasets dataset. {e}") from e
  if "image" not in info.features:
    raise errors.InvalidInputError(f"tfds dataset {name!r} has no 'image' feature "
                                   f"(features: {sorted(info.features)}).")
  if crop or image_size:
    height, width = info.features["image"].shape[:2]
    if height and width:  # None for datasets of mixed sizes: checked by TF per example.
      resize.check_sizes(height, width, crop, image_size, f"tfds dataset {name!r}")
    dataset = dataset.map(
        lambda example: {**example,
                         "image": resize.tf_crop_and_resize(example["image"], crop, image_size)})
  with tfds_errors.explained(name, split, data_dir):  # Unreadable or incomplete files, ...
    # Read in chunks of 10k rather than batch_size=-1 (one tensor of the whole split), which
    # aborts TensorFlow 2.21 inside tfds.testing.mock_data.
    chunks = list(tfds.as_numpy(dataset.batch(10_000)))
  if not chunks:
    raise DataUnavailableError(f"tfds split {name}/{split} is empty.")
  arrays = {key: np.concatenate([c[key] for c in chunks]) for key in ("image", "label")
            if key in chunks[0]}
  images = np.asarray(arrays["image"])
  if images.ndim == 3:
    images = images[..., None]
  labels, num_classes = None, 0
  if "label" in arrays:
    labels = np.asarray(arrays["label"]).astype(np.int32)
    num_classes = int(info.features["label"].num_classes)
  return ImageData(as_uint8_pixels(images, f"tfds dataset {name!r}"), labels, num_classes)


def load(name: str, split: str, local_dir: Optional[str], data_dir: Optional[str],
         crop: int = 0, image_size: int = 0, streaming: bool = False,
         channels: int = 0) -> ImageData:
  """The whole split, cropped and resized when asked (see `jaxgan.data.resize`); with
  `streaming`, a split whose rows are read on demand (image_folder and ArrayRecord tfds
  datasets only, see `jaxgan.data.streaming`).

  name: a tfds name (downloaded unless prepared), "mnist"/"fashion_mnist" from their original
    IDX files when `local_dir` is set (nothing is downloaded), "stacked_mnist" (built from the
    same split of MNIST, see `jaxgan.data.stacked`), or one of LOCAL_FORMATS ("image_folder",
    "npz": your own files in `local_dir`, see `jaxgan.data.local_files`).
  channels: an image folder's files read as grey (1) or RGB (3), or as stored (0); other
    sources keep their own channels (0 only).
  """
  from jaxgan.data import local_files, resize, streaming as streamed  # They import this module.

  if channels and name != "image_folder":
    raise errors.InvalidInputError(
        f"config.dataset.channels={channels} converts the files of an image folder; "
        f"{name!r} is read with its own channels: set --config.dataset.channels=0.")

  if streaming:
    if name == "image_folder" and local_dir:
      return streamed.image_folder(split, local_dir, crop, image_size, channels)
    if name not in LOCAL_FORMATS and name not in (STACKED_MNIST, DIGIT_STROKES) and not local_dir:
      return streamed.tfds_array_record(name, split, data_dir, crop, image_size)
    raise errors.InvalidInputError(
        f"config.dataset.streaming=True reads image folders (name='image_folder' with "
        f"local_dir) and tfds datasets prepared as ArrayRecord; {name!r}"
        f"{' from local_dir' if local_dir else ''} is read into memory: set "
        "--config.dataset.streaming=False.")

  if name == DIGIT_STROKES:
    raise errors.InvalidInputError(
        f"config.dataset.name={name!r} is a pair of domains: it is read by an "
        "image-to-image game (config.game.name='cyclegan').")
  if name in LOCAL_FORMATS:
    if not local_dir:
      raise errors.InvalidInputError(f"config.dataset.name={name!r} reads your own files: set "
                                     "--config.dataset.local_dir to their folder.")
    if name == "image_folder":
      return local_files.load_image_folder(split, local_dir, crop, image_size, channels)
    return local_files.load_npz(split, local_dir, crop, image_size)
  if name == STACKED_MNIST:
    from jaxgan.data import stacked  # Imports this module: a top-level import would cycle.
    data = stacked.stack_digits(load("mnist", split, local_dir, data_dir))
  elif local_dir:
    data = load_idx_dataset(name, split, local_dir)
  else:
    return load_tfds_dataset(name, split, data_dir, crop, image_size)
  return dataclasses.replace(data, images=resize.crop_and_resize(data.images, crop,
                                                                  image_size, name))


def from_spec(dataset: run_settings.DataSpec) -> ImageData:
  """`load` with the fields of a run's dataset settings (config.dataset)."""
  return load(dataset.name, dataset.split, dataset.local_dir or None, dataset.data_dir or None,
              dataset.crop, dataset.image_size, dataset.streaming, dataset.channels)


# Its name before the config was read in jaxgan.experiment only (it also takes config.dataset).
__getattr__ = moved_modules.forwarded_attributes(
    __name__, {"from_config": "jaxgan.data.sources:from_spec"})
