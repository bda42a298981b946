"""Bring-your-own-data sources: a folder of image files, or `.npz` arrays.

`config.dataset.name`:
  "image_folder": `local_dir/<split>/` holds image files (PNG, JPEG, BMP, GIF), either directly
    (unlabelled) or in one subfolder per class (labels = the subfolders' sorted order, as in
    torchvision's ImageFolder), never both (refused). Hidden names (starting with ".":
    .ipynb_checkpoints, .DS_Store) are ignored, other files that are not images skipped and
    counted. Grey or colour: config.dataset.channels (1 or 3 converts every image; 0, the
    default, keeps the files' own and refuses a folder that mixes greyscale and colour).
    Every image must have the same size after the optional crop/resize (config.dataset.crop
    / image_size, see `jaxgan.data.resize`). Every unreadable file is listed. What was read
    (counts per class, channels, sizes before and after resizing, files skipped) is logged.
  "npz": `local_dir/<split>.npz` holds `images` uint8 [N, H, W] or [N, H, W, C] and optionally
    `labels` integers [N] in [0, num_classes) (num_classes = max label + 1, or the file's
    scalar `num_classes`).
Several splits join with "+", e.g. "train+test".
"""
from __future__ import annotations

import collections
import dataclasses
import os
from typing import Dict, List, Optional, Tuple

import numpy as np
from absl import logging

from jaxgan.core import errors
from jaxgan.data.sources import as_uint8_pixels, DataUnavailableError, ImageData, SplitNotFoundError
from jaxgan.runtime import storage

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
GREY_MODES = ("1", "L", "I", "I;16", "F")  # PIL modes read as one channel; any other as RGB
CHANNELS = (0, 1, 3)  # config.dataset.channels: 0 as stored (a mix refused), 1 grey, 3 RGB
_SHOWN = 10  # files named in a message listing many


def _require_dir(path: str, what: str) -> None:
  if not storage.isdir(path):
    raise DataUnavailableError(f"{what} {_named(path)} is not a folder.")


def _named(path: str) -> str:
  """`path` quoted, with the absolute path it means when it is relative."""
  full = storage.absolute(path)
  return repr(path) + (f" ({full})" if full != path else "")


def _splits(split: str) -> List[str]:
  return [part.strip() for part in split.split("+")]


def _listing(folder: str) -> str:
  names = sorted(storage.listdir(folder))
  return ", ".join(names[:20]) + (" ..." if len(names) > 20 else "") if names else "nothing"


def _visible(names: List[str]) -> List[str]:
  """Names not hidden: a name starting with "." (.ipynb_checkpoints, .DS_Store) is never
  data."""
  return sorted(name for name in names if not name.startswith("."))


def _join_splits(images: List[np.ndarray], local_dir: str) -> np.ndarray:
  """The splits' uint8 [N_i, H, W, C] arrays as one; they must agree on (H, W, C)."""
  shapes = {part.shape[1:] for part in images}
  if len(shapes) > 1:
    raise errors.InvalidInputError(
        f"The splits of {local_dir!r} have images of different shapes {shapes}.")
  return np.concatenate(images)


def is_image_file(name: str) -> bool:
  return name.lower().endswith(IMAGE_EXTENSIONS)


def image_files(folder: str) -> List[str]:
  """The visible image files directly in `folder`, sorted."""
  return [storage.join(folder, name) for name in _visible(storage.listdir(folder))
          if is_image_file(name)]


def read_image_as_stored(path: str, channels: int = 0) -> Tuple[np.ndarray, int]:
  """(uint8 [H, W, C], the file's own channels: 1 for a greyscale file, else 3). C is
  `channels` (1 grey, 3 RGB: converted by PIL), or with 0 the file's own. An unreadable file
  is an error naming it."""
  try:
    with storage.load_image(path) as image:
      stored = 1 if image.mode in GREY_MODES else 3
      out = channels or stored
      pixels = np.asarray(image.convert("L" if out == 1 else "RGB"))
      return pixels.reshape(image.height, image.width, out), stored
  except Exception as e:  # PIL raises several types for damaged or foreign files.
    errors.raise_if_broken_install(e, "Pillow")
    raise errors.InvalidInputError(f"Cannot read image {path!r}: {type(e).__name__}: {e}") from e


def read_image(path: str, channels: Optional[int]) -> np.ndarray:
  """uint8 [H, W, C]: C = `channels` (1 grey, 3 RGB), or when None 1 for a greyscale file and
  3 for anything else. An unreadable file is an error naming it."""
  return read_image_as_stored(path, channels or 0)[0]


@dataclasses.dataclass
class SplitListing:
  """What one split folder holds, before any image is read.

  Attributes:
    folder: local_dir/<split>.
    files: its image files, class by class (sorted within each).
    labels: int32 [len(files)], each file's class index, or None (unlabelled).
    classes: the class folders' names in label order, or None.
    skipped: files that are not images (or folders inside class folders), by kind
      (".txt", "folder"), e.g. {".txt": 2}; hidden names are not counted.
  """
  folder: str
  files: List[str]
  labels: Optional[np.ndarray]
  classes: Optional[List[str]]
  skipped: Dict[str, int]


def _kind(folder: str, name: str) -> str:
  return "folder" if storage.isdir(storage.join(folder, name)) else (
      os.path.splitext(name)[1].lower() or "no extension")


def _list_split(local_dir: str, part: str) -> SplitListing:
  """One split folder read as the module docstring says; its mistakes refused, named."""
  folder = storage.join(local_dir, part)
  if not storage.isdir(folder):
    _refuse_missing_split(local_dir, part, folder)
  names = _visible(storage.listdir(folder))
  subfolders = [name for name in names if storage.isdir(storage.join(folder, name))]
  loose = [name for name in names if is_image_file(name)]
  listed = set(subfolders) | set(loose)  # Sets: a folder may hold 100,000s of files.
  skipped = collections.Counter(_kind(folder, name) for name in names if name not in listed)
  if subfolders and loose:
    raise errors.InvalidInputError(
        f"{folder!r} holds {len(loose)} image file(s) (e.g. {loose[0]!r}) beside the class "
        f"folders {subfolders}: an image folder is either unlabelled (all images directly in "
        "it) or labelled (one subfolder per class, the images inside). Move the images into "
        "their class folders, or the folders out. (Hidden names, starting with '.', are "
        "ignored.)")
  if not subfolders:
    if not loose:
      raise DataUnavailableError(f"No image files ({', '.join(IMAGE_EXTENSIONS)}) in "
                                 f"{folder!r}; it holds {_listing(folder)}.")
    return SplitListing(folder, [storage.join(folder, name) for name in loose], None, None,
                        dict(skipped))
  files, labels = [], []
  for index, name in enumerate(subfolders):
    class_folder = storage.join(folder, name)
    inside = _visible(storage.listdir(class_folder))
    images = [name for name in inside if is_image_file(name)]
    if not images:
      raise DataUnavailableError(
          f"Class folder {class_folder!r} holds no image files ({', '.join(IMAGE_EXTENSIONS)})"
          f"; it holds {_listing(class_folder)}. Remove it, or add its images.")
    image_set = set(images)
    skipped.update(_kind(class_folder, n) for n in inside if n not in image_set)
    files += [storage.join(class_folder, n) for n in images]
    labels.append(np.full(len(images), index, np.int32))
  return SplitListing(folder, files, np.concatenate(labels), subfolders, dict(skipped))


def _refuse_missing_split(local_dir: str, part: str, folder: str) -> None:
  """A split folder that is not there: what to do, and said plainly when the images sit
  directly in local_dir."""
  loose = [name for name in _visible(storage.listdir(local_dir)) if is_image_file(name)]
  if loose:
    raise SplitNotFoundError(
        f"The images are directly in {_named(local_dir)} ({len(loose)} image files), but "
        f"image_folder reads them from a split folder: put them in "
        f"{storage.join(local_dir, part)}/ (with one subfolder per class for labels).")
  raise SplitNotFoundError(
      f"Split {part!r} needs the folder {folder!r}; {local_dir!r} holds "
      f"{_listing(local_dir)}. Choose a split that is there with --config.dataset.split.")


def list_splits(split: str, local_dir: str) -> List[SplitListing]:
  """Every split of `split` ("train+test": two), listed; their classes must agree."""
  _require_dir(local_dir, "config.dataset.local_dir")
  listings = [_list_split(local_dir, part) for part in _splits(split)]
  for listing in listings[1:]:
    if listing.classes != listings[0].classes:
      raise errors.InvalidInputError(
          f"Splits of {local_dir!r} have different classes: {listings[0].classes} and "
          f"{listing.classes} (in {listing.folder!r}).")
  return listings


def list_image_folder(split: str, local_dir: str
                      ) -> Tuple[List[str], Optional[np.ndarray], Optional[List[str]]]:
  """(the image files of `local_dir/<split>/[<class>/]`, their labels int32 [N] or None, the
  class folders or None), without reading any image; see the module docstring."""
  listings = list_splits(split, local_dir)
  files = [path for listing in listings for path in listing.files]
  labels = [listing.labels for listing in listings if listing.labels is not None]
  return files, np.concatenate(labels) if labels else None, listings[0].classes


def read_resized(path: str, channels: Optional[int], crop: int, image_size: int
                 ) -> np.ndarray:
  """`read_image`, then config.dataset.crop / image_size (`jaxgan.data.resize`): uint8
  [H', W', C], the image as the dataset serves it."""
  from jaxgan.data import resize
  return resize.crop_and_resize(read_image(path, channels)[None], crop, image_size, path)[0]


def check_channels(channels: int) -> None:
  if channels not in CHANNELS:
    raise errors.InvalidInputError(f"config.dataset.channels={channels!r}; valid: 0 (as the "
                                   "files are stored), 1 (grey) or 3 (RGB).")


def _refuse_mixed_channels(folder: str, files: List[str], stored: List[int]) -> None:
  """With channels=0 every file must have the same kind: name one of each and the counts."""
  grey = [path for path, c in zip(files, stored) if c == 1]
  colour = [path for path, c in zip(files, stored) if c == 3]
  if grey and colour:
    raise errors.InvalidInputError(
        f"{folder!r} mixes greyscale and colour images: {len(grey)} greyscale (e.g. "
        f"{grey[0]!r}) and {len(colour)} colour (e.g. {colour[0]!r}). Set "
        "--config.dataset.channels=1 to read all as grey, or 3 to read all as RGB.")


def _refuse_unreadable(folder: str, failures: List[str]) -> None:
  """Every file of `folder` that could not be read, in one error (`failures`: each one's
  message, naming the file)."""
  if failures:
    shown = "\n".join(f"  {failure}" for failure in failures[:_SHOWN])
    more = f"\n  ... and {len(failures) - _SHOWN} more" if len(failures) > _SHOWN else ""
    raise errors.InvalidInputError(
        f"{len(failures)} of the image files in {folder!r} cannot be read:\n{shown}{more}\n"
        "Remove or replace them.")


def _sizes(shapes: List[Tuple[int, ...]]) -> str:
  """"28x28 (300), 32x32 (2)": the sizes of `shapes` ([H, W, C]) with their counts."""
  counts = collections.Counter(f"{h}x{w}" for h, w, *_ in shapes)
  return ", ".join(f"{size} ({n})" for size, n in counts.most_common())


def _report(listing: SplitListing, stored: List[int], channels: int,
            before: List[Tuple[int, ...]], after: Tuple[int, ...]) -> str:
  """One line saying what was read from a split folder (logged at start-up)."""
  if listing.classes:
    counts = np.bincount(listing.labels, minlength=len(listing.classes))
    classes = f"{len(listing.classes)} classes (" + ", ".join(
        f"{name}: {n}" for name, n in zip(listing.classes, counts)) + ")"
  else:
    classes = "unlabelled"
  out = after[-1]
  channel_note = f"{out} channel(s)"
  converted = sum(c != out for c in stored)
  if converted:
    channel_note += f", {converted} converted (config.dataset.channels={channels})"
  size_note = f"size as stored {_sizes(before)}"
  if {tuple(shape[:2]) for shape in before} != {tuple(after[:2])}:
    size_note += f", served as {after[0]}x{after[1]}"
  skipped = sum(listing.skipped.values())
  kinds = ", ".join(f"{kind}: {n}" for kind, n in sorted(listing.skipped.items()))
  skip_note = f"skipped {skipped} entries that are not images ({kinds})" if skipped else (
      "no other files")
  return (f"Image folder {listing.folder}: {len(listing.files)} images, {classes}; "
          f"{channel_note}; {size_note}; {skip_note}; hidden names ignored.")


def _read_split(listing: SplitListing, channels: int, crop: int, image_size: int
                ) -> np.ndarray:
  """uint8 [N, H, W, C] of one split folder's files, cropped and resized; every unreadable
  file, a mix of grey and colour (channels=0) and images of different sizes refused."""
  from jaxgan.data import resize

  decoded, stored, failures = [], [], []
  for path in listing.files:
    try:
      image, kind = read_image_as_stored(path, channels)
    except errors.InvalidInputError as e:
      failures.append(str(e))
      continue
    decoded.append(image)
    stored.append(kind)
  _refuse_unreadable(listing.folder, failures)
  if not channels:
    _refuse_mixed_channels(listing.folder, listing.files, stored)
  before = [image.shape for image in decoded]
  resized = [resize.crop_and_resize(image[None], crop, image_size, path)[0]
             for image, path in zip(decoded, listing.files)]
  odd = next((i for i, image in enumerate(resized) if image.shape != resized[0].shape), None)
  if odd is not None:
    raise errors.InvalidInputError(
        f"Images in {listing.folder!r} differ in size: {listing.files[0]!r} is "
        f"{resized[0].shape} but {listing.files[odd]!r} is {resized[odd].shape} (sizes as "
        f"stored: {_sizes(before)}). Set --config.dataset.image_size (and "
        "--config.dataset.crop) to bring them to one size.")
  logging.info("%s", _report(listing, stored, channels, before, resized[0].shape))
  return np.stack(resized)


def load_image_folder(split: str, local_dir: str, crop: int = 0, image_size: int = 0,
                      channels: int = 0) -> ImageData:
  """Reads `local_dir/<split>/[<class>/]*.png|jpg|...`; see the module docstring.

  channels: 1 or 3 converts every image to grey or RGB; 0 keeps the files' own (grey: C = 1,
  anything else: C = 3) and refuses a folder that mixes the two.
  """
  check_channels(channels)
  listings = list_splits(split, local_dir)
  images = [_read_split(listing, channels, crop, image_size) for listing in listings]
  classes = listings[0].classes
  labels = np.concatenate([listing.labels for listing in listings]) if classes else None
  return ImageData(_join_splits(images, local_dir), labels,
                   num_classes=len(classes) if classes else 0)


def npz_images(contents: Dict[str, np.ndarray], path: str) -> np.ndarray:
  """The `images` array of an .npz's {name: array} as uint8 [N, H, W, C] (C 1 or 3; [N, H, W]
  gains C = 1); an error naming the file when it is missing, not pixels, or misshaped."""
  if "images" not in contents:
    raise errors.InvalidInputError(f"{path!r} has no 'images' array (it has: "
                                   f"{', '.join(sorted(contents)) or 'none'}).")
  images = as_uint8_pixels(contents["images"], path)
  if images.ndim == 3:
    images = images[..., None]
  if images.ndim != 4 or images.shape[-1] not in (1, 3):
    raise errors.InvalidInputError(
        f"{path!r}: 'images' must be [N, H, W] or [N, H, W, C] with C 1 or 3; "
        f"got {contents['images'].shape}.")
  return images


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
    part_images = npz_images(contents, path)
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
