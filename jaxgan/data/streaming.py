"""Datasets larger than host memory: rows decoded on demand (config.dataset.streaming).

jaxgan's batches are addressed by step (`pipeline.StepBatches`): the rows of a step are a
function of (seed, step), and each process reads only its own devices' rows. So a streaming
source needs random access by row index, not an iterator: `LazyRows` is an array-like
[N, ...] that `StepBatches` indexes exactly as it indexes an in-memory array, and which
decodes only the rows asked for. Streaming and in-memory runs therefore read the same
batches, bit for bit, and a resumed streaming run reads the batches an uninterrupted one
reads, with no iterator state to checkpoint (the same design as Grain's index sampler over a
random-access data source).

Sources:
  * "image_folder": the files are listed at start-up (names and class folders only); each
    image is read, cropped and resized when a batch needs it.
  * any tfds dataset prepared in the ArrayRecord format (`tfds.data_source`; prepare it with
    `tfds.builder(name).download_and_prepare(file_format="array_record")`): records are read
    and decoded by index.
"""
from __future__ import annotations

from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from jaxgan.core import errors
from jaxgan.data.sources import DataUnavailableError, ImageData


class StreamingError(errors.UserError, RuntimeError):
  """Something asked a streaming dataset for all its rows at once."""


class RowReader:
  """Decodes rows by index; `read(indices)` -> {"image": uint8 [n, H, W, C], "label": int32
  [n]} (label only when the data has labels). The last request is remembered, so the images
  and labels of one batch are decoded once."""

  def __init__(self, count: int, read: Callable[[np.ndarray], Dict[str, np.ndarray]],
               description: str):
    self.count = count
    self.description = description
    self._read = read
    self._last: Optional[Tuple[bytes, Dict[str, np.ndarray]]] = None
    self.rows_read = 0  # How many rows were decoded (tests check a process reads its own).

  def read(self, indices: np.ndarray) -> Dict[str, np.ndarray]:
    indices = np.asarray(indices, np.int64)
    key = indices.tobytes()
    if self._last is None or self._last[0] != key:
      self._last = (key, self._read(indices))
      self.rows_read += len(indices)
    return self._last[1]


class LazyRows:
  """One column ("image" or "label") of a RowReader, as an array-like [N, ...]: integer,
  index-array and slice indexing read those rows; nothing reads the whole column."""

  def __init__(self, reader: RowReader, column: str, row_shape: Tuple[int, ...],
               dtype: np.dtype):
    self.reader, self.column = reader, column
    self.shape = (reader.count, *row_shape)
    self.dtype = np.dtype(dtype)
    self.ndim = len(self.shape)

  def __len__(self) -> int:
    return self.shape[0]

  def __getitem__(self, key) -> np.ndarray:
    if isinstance(key, slice):
      return self[np.arange(*key.indices(len(self)))]
    if isinstance(key, (int, np.integer)):
      return self[np.asarray([key])][0]
    indices = np.asarray(key)
    if indices.dtype == bool or not np.issubdtype(indices.dtype, np.integer):
      raise TypeError(f"a streaming dataset is indexed by row numbers; got {indices.dtype}.")
    indices = np.where(indices < 0, indices + len(self), indices)
    if indices.size and (indices.min() < 0 or indices.max() >= len(self)):
      raise IndexError(f"rows {indices.min()}..{indices.max()} of {len(self)}.")
    rows = self.reader.read(indices.reshape(-1))[self.column]
    return rows.reshape(*indices.shape, *self.shape[1:])

  def __array__(self, dtype=None, copy=None):
    raise StreamingError(
        f"{self.reader.description} streams ({len(self)} rows) and is not read whole; "
        "index it by rows instead (config.dataset.streaming=False reads it into memory).")


def lazy_image_data(reader: RowReader, image_shape: Tuple[int, int, int], labelled: bool,
                    num_classes: int) -> ImageData:
  """An ImageData whose images (and labels) are LazyRows of `reader`."""
  images = LazyRows(reader, "image", image_shape, np.uint8)
  labels = LazyRows(reader, "label", (), np.int32) if labelled else None
  return ImageData(images, labels, num_classes)


def is_streaming(data: ImageData) -> bool:
  return isinstance(data.images, LazyRows)


def image_folder(split: str, local_dir: str, crop: int = 0, image_size: int = 0,
                 channels: int = 0) -> ImageData:
  """`local_dir/<split>/[<class>/]*.png|...` (jaxgan.data.local_files' layout), streamed.

  channels: 1 or 3 converts every image; 0 takes the first file's, and a file of the other
  kind (grey among colour or the reverse) is refused when it is read, naming the setting (a
  streamed folder is not read through at start-up).
  """
  from jaxgan.data import local_files, resize  # pylint: disable=g-import-not-at-top

  local_files.check_channels(channels)
  files, labels, classes = local_files.list_image_folder(split, local_dir)
  first = local_files.read_resized(files[0], channels or None, crop, image_size)

  def read(indices: np.ndarray) -> Dict[str, np.ndarray]:
    images = []
    for i in indices:
      image, stored = local_files.read_image_as_stored(files[i], channels)
      if not channels and stored != first.shape[-1]:
        raise errors.InvalidInputError(
            f"{files[i]!r} is {'greyscale' if stored == 1 else 'colour'} but the folder's "
            f"first image, {files[0]!r}, is not: set --config.dataset.channels=1 to read all "
            "as grey, or 3 to read all as RGB.")
      image = resize.crop_and_resize(image[None], crop, image_size, files[i])[0]
      if image.shape != first.shape:
        raise errors.InvalidInputError(
            f"{files[i]!r} is {image.shape}, the folder's first image "
            f"{first.shape}: set --config.dataset.image_size (and crop).")
      images.append(image)
    out = {"image": np.stack(images)}
    if labels is not None:
      out["label"] = labels[indices]
    return out

  reader = RowReader(len(files), read, f"image folder {local_dir}/{split}")
  return lazy_image_data(reader, first.shape, labels is not None, len(classes or ()))


def tfds_array_record(name: str, split: str, data_dir: Optional[str], crop: int = 0,
                      image_size: int = 0) -> ImageData:
  """A tfds split prepared as ArrayRecord, streamed by index (`tfds.data_source`)."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

  from jaxgan.data import resize  # pylint: disable=g-import-not-at-top

  try:
    source = tfds.data_source(name, split=split, data_dir=data_dir)
  except Exception as e:  # Not prepared, or prepared as TFRecord only: many types.
    errors.raise_if_broken_install(e, "tensorflow-datasets")
    raise DataUnavailableError(
        f"config.dataset.streaming=True reads tfds datasets prepared as ArrayRecord; "
        f"{name}/{split} could not be opened so ({type(e).__name__}: {str(e)[:300]}). Prepare "
        f"it with tfds.builder({name!r}).download_and_prepare(file_format='array_record'), "
        "or set --config.dataset.streaming=False to read it into memory.") from e
  if len(source) == 0:
    raise DataUnavailableError(f"tfds split {name}/{split} is empty.")
  features = source.dataset_info.features
  if "image" not in features:
    raise errors.InvalidInputError(f"tfds dataset {name!r} has no 'image' feature "
                                   f"(features: {sorted(features)}).")
  labelled = "label" in features

  def read(indices: np.ndarray) -> Dict[str, np.ndarray]:
    records = _records(source, indices)
    images = [resize.crop_and_resize(_as_hwc(r["image"])[None], crop, image_size, name)[0]
              for r in records]
    out = {"image": np.stack(images).astype(np.uint8)}
    if labelled:
      out["label"] = np.asarray([r["label"] for r in records], np.int32)
    return out

  first = read(np.zeros(1, np.int64))["image"][0]
  num_classes = int(features["label"].num_classes) if labelled else 0
  reader = RowReader(len(source), read, f"tfds dataset {name}/{split}")
  return lazy_image_data(reader, first.shape, labelled, num_classes)


def _records(source, indices: np.ndarray) -> Sequence[Dict[str, np.ndarray]]:
  # Record by record: ArrayRecord reads any record directly. (Its batched __getitems__ is
  # not used: tfds.testing.mock_data's version of it fails, so it could not be tested.)
  return [source[int(i)] for i in indices]


def _as_hwc(image) -> np.ndarray:
  image = np.asarray(image)
  return image[..., None] if image.ndim == 2 else image
