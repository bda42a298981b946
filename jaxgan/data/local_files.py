"""Bring-your-own-data sources: a folder of image files, or `.npz` arrays.

`config.dataset.name`:
  "image_folder": `local_dir/<split>/` holds image files (PNG, JPEG, BMP, GIF), either directly
    (unlabelled) or in one subfolder per class (labels = the subfolders' sorted order, as in
    torchvision's ImageFolder). Every image must have the same size after the optional
    crop/resize (config.dataset.crop / image_size, see `jaxgan.data.resize`).
  "npz": `local_dir/<split>.npz` holds `images` uint8 [N, H, W] or [N, H, W, C] and optionally
    `labels` integers [N] in [0, num_classes) (num_classes = max label + 1, or the file's
    scalar `num_classes`).
Several splits join with "+", e.g. "train+test".
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np

from jaxgan.core import errors
from jaxgan.data.sources import as_uint8_pixels, DataUnavailableError, ImageData, SplitNotFoundError
from jaxgan.runtime import storage

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def _require_dir(path: str, what: str) -> None:
  if not storage.isdir(path):
    raise DataUnavailableError(f"{what} {path!r} is not a folder.")


def _splits(split: str) -> List[str]:
  return [part.strip() for part in split.split("+")]


def _listing(folder: str) -> str:
  names = sorted(storage.listdir(folder))
  return ", ".join(names[:20]) + (" ..." if len(names) > 20 else "") if names else "nothing"


def _join_splits(images: List[np.ndarray], local_dir: str) -> np.ndarray:
  """The splits' uint8 [N_i, H, W, C] arrays as one; they must agree on (H, W, C)."""
  shapes = {part.shape[1:] for part in images}
  if len(shapes) > 1:
    raise errors.InvalidInputError(
        f"The splits of {local_dir!r} have images of different shapes {shapes}.")
  return np.concatenate(images)


def image_files(folder: str) -> List[str]:
  return sorted(storage.join(folder, name) for name in storage.listdir(folder)
                if name.lower().endswith(IMAGE_EXTENSIONS))


def read_image(path: str, channels: Optional[int]) -> np.ndarray:
  """uint8 [H, W, C]: C = `channels` (1 grey, 3 RGB), or when None 1 for a greyscale file and
  3 for anything else. An unreadable file is an error naming it."""
  try:
    with storage.load_image(path) as image:
      if channels is None:
        channels = 1 if image.mode in ("1", "L", "I", "I;16", "F") else 3
      return np.asarray(image.convert("L" if channels == 1 else "RGB")).reshape(
          image.height, image.width, channels)
  except Exception as e:  # PIL raises several types for damaged or foreign files.
    errors.raise_if_broken_install(e, "Pillow")
    raise errors.InvalidInputError(f"Cannot read image {path!r}: {type(e).__name__}: {e}") from e


def list_image_folder(split: str, local_dir: str
                      ) -> Tuple[List[str], Optional[np.ndarray], Optional[List[str]]]:
  """(the image files of `local_dir/<split>/[<class>/]`, their labels int32 [N] or None, the
  class folders or None), without reading any image; see the module docstring."""
  files, labels = [], []
  for _, part_files, part_labels, classes in _list_splits(split, local_dir):
    files += part_files
    if part_labels is not None:
      labels.append(part_labels)
  return files, np.concatenate(labels) if labels else None, classes


def _list_splits(split: str, local_dir: str):
  """Per split: (its folder, its files, their labels or None, the class folders or None)."""
  _require_dir(local_dir, "config.dataset.local_dir")
  out, classes = [], None
  for part in _splits(split):
    folder = storage.join(local_dir, part)
    if not storage.isdir(folder):
      raise SplitNotFoundError(
          f"Split {part!r} needs the folder {folder!r}; {local_dir!r} holds "
          f"{_listing(local_dir)}. Choose a split that is there with --config.dataset.split.")
    subfolders = sorted(name for name in storage.listdir(folder)
                        if storage.isdir(storage.join(folder, name)))
    part_classes = subfolders or None
    if classes is not None and part_classes != classes:
      raise errors.InvalidInputError(
          f"Splits of {local_dir!r} have different classes: {classes} and "
          f"{part_classes} (in {folder!r}).")
    classes = part_classes
    groups: List[Tuple[Optional[int], List[str]]] = (
        [(i, image_files(storage.join(folder, name))) for i, name in enumerate(subfolders)]
        if subfolders else [(None, image_files(folder))])
    files = [path for _, paths in groups for path in paths]
    if not files:
      raise DataUnavailableError(f"No image files ({', '.join(IMAGE_EXTENSIONS)}) in "
                                 f"{folder!r}{' or its class folders' if subfolders else ''}.")
    labels = (np.concatenate([np.full(len(paths), i, np.int32) for i, paths in groups])
              if subfolders else None)
    out.append((folder, files, labels, classes))
  return out


def read_resized(path: str, channels: Optional[int], crop: int, image_size: int
                 ) -> np.ndarray:
  """`read_image`, then config.dataset.crop / image_size (`jaxgan.data.resize`): uint8
  [H', W', C], the image as the dataset serves it."""
  from jaxgan.data import resize
  return resize.crop_and_resize(read_image(path, channels)[None], crop, image_size, path)[0]


def load_image_folder(split: str, local_dir: str, crop: int = 0, image_size: int = 0
                      ) -> ImageData:
  """Reads `local_dir/<split>/[<class>/]*.png|jpg|...`; see the module docstring.

  Greyscale files give C = 1, anything else RGB (C = 3), decided by the first file.
  """
  from jaxgan.data import resize

  images, labels, classes = [], [], None
  for folder, files, part_labels, classes in _list_splits(split, local_dir):
    first = read_image(files[0], None)  # its channels decide the others'
    decoded = ([resize.crop_and_resize(first[None], crop, image_size, files[0])[0]] +
               [read_resized(path, first.shape[-1], crop, image_size) for path in files[1:]])
    odd = next((i for i, image in enumerate(decoded) if image.shape != decoded[0].shape), None)
    if odd is not None:
      raise errors.InvalidInputError(
          f"Images in {folder!r} differ in size: {files[0]!r} is {decoded[0].shape} but "
          f"{files[odd]!r} is {decoded[odd].shape}. Set "
          "--config.dataset.image_size (and --config.dataset.crop) to bring them to one size.")
    images.append(np.stack(decoded))
    if part_labels is not None:
      labels.append(part_labels)
  return ImageData(_join_splits(images, local_dir),
                   np.concatenate(labels) if classes else None,
                   num_classes=len(classes) if classes else 0)


def load_npz(split: str, local_dir: str, crop: int = 0, image_size: int = 0) -> ImageData:
  """Reads `local_dir/<split>.npz` (arrays `images`, optional `labels`, `num_classes`)."""
  from jaxgan.data import resize

  _require_dir(local_dir, "config.dataset.local_dir")
  images, labels, num_classes = [], [], 0
  for part in _splits(split):
    path = storage.join(local_dir, part + ".npz")
    if not storage.exists(path):
      raise SplitNotFoundError(f"Split {part!r} needs {path!r}; {local_dir!r} holds "
                               f"{_listing(local_dir)}.")
    try:
      contents = storage.load_npz(path)
    except Exception as e:  # zipfile/ValueError/OSError for damaged files
      errors.raise_if_broken_install(e, "numpy")
      raise errors.InvalidInputError(
          f"Cannot read {path!r} as .npz: {type(e).__name__}: {e}") from e
    if "images" not in contents:
      raise errors.InvalidInputError(f"{path!r} has no 'images' array (it has: "
                                     f"{', '.join(sorted(contents)) or 'none'}).")
    part_images = as_uint8_pixels(contents["images"], path)
    if part_images.ndim == 3:
      part_images = part_images[..., None]
    if part_images.ndim != 4 or part_images.shape[-1] not in (1, 3):
      raise errors.InvalidInputError(
          f"{path!r}: 'images' must be [N, H, W] or [N, H, W, C] with C 1 or 3; "
          f"got {contents['images'].shape}.")
    images.append(resize.crop_and_resize(part_images, crop, image_size, path))
    if "labels" in contents:
      part_labels = contents["labels"]
      if part_labels.shape != (len(part_images),) or not np.issubdtype(part_labels.dtype,
                                                                      np.integer):
        raise errors.InvalidInputError(
            f"{path!r}: 'labels' must be integers [N={len(part_images)}]; got "
            f"{part_labels.dtype} {part_labels.shape}.")
      labels.append(part_labels.astype(np.int32))
      declared = int(contents["num_classes"]) if "num_classes" in contents else 0
      num_classes = max(num_classes, declared, int(part_labels.max()) + 1)
  if labels and len(labels) != len(images):
    raise errors.InvalidInputError(f"Some splits of {local_dir!r} have labels and some do not.")
  return ImageData(_join_splits(images, local_dir),
                   np.concatenate(labels) if labels else None, num_classes=num_classes)
