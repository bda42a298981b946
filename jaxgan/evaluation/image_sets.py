"""Sets of images scored against each other: the library half of `python -m jaxgan.fid`.

A set is named by a string (`kind_of` tells which):
  a folder of PNG/JPEG files   every image file directly in it (read as RGB, as clean-fid and
                               pytorch-fid read them; all of one size)
  FILE.npz                     its `images` array, uint8 [n, H, W(, C)] (what
                               `python -m jaxgan.sample` writes)
  FILE.npz of statistics       written by `save_stats` (`--save_stats`): the set's features
                               under a protocol, so a large reference is extracted once
  data:NAME/SPLIT              a dataset split as the training runs read it (tfds, or local
                               files with local_dir): its features cached like a run's
                               reference (`reference_cache`)
  a workdir                    handled by the command: its generator sampled
`features_of` extracts a set's features (chunk by chunk with progress, never holding more
than a chunk of images) into a `FeatureSet`; `evaluator.compare_features` scores two.

`jaxgan.evaluate` scores a run's checkpoint under its config's protocol and keeps the record
in the workdir; `jaxgan.fid` scores any two sets under a named protocol and prints the table.
Both use these extractors, protocols, caches and metrics.
"""
from __future__ import annotations

import dataclasses
import io
import json
from typing import Any, Dict, List, Optional

import numpy as np

from jaxgan.core import errors
from jaxgan.data import local_files, sources
from jaxgan.evaluation import domain_classifier, evaluator, reference_cache
from jaxgan.runtime import storage

DATA_PREFIX = "data:"
STATS_FORMAT = "jaxgan feature statistics v1"


@dataclasses.dataclass
class FeatureSet:
  """A set's features [n, D] and class probabilities [n, K] (None when read from statistics
  saved without them), what it is, and the protocol record they were made under."""
  description: str
  features: np.ndarray
  probs: Optional[np.ndarray]
  protocol: Dict[str, Any]

  @property
  def count(self) -> int:
    return len(self.features)


class _FolderImages:
  """The image files of a folder as uint8 [n, H, W, 3], read only when sliced."""

  def __init__(self, folder: str):
    self.files = local_files.image_files(folder)
    self.folder = folder
    if not self.files:
      raise errors.InvalidInputError(
          f"{folder!r} holds no image files ({', '.join(local_files.IMAGE_EXTENSIONS)}).")
    self.shape: Optional[tuple] = None

  def __len__(self) -> int:
    return len(self.files)

  def __getitem__(self, rows: slice) -> np.ndarray:
    images = [local_files.read_image(path, 3) for path in self.files[rows]]
    for path, image in zip(self.files[rows], images):
      self.shape = self.shape or image.shape
      if image.shape != self.shape:
        raise errors.InvalidInputError(
            f"{path!r} is {image.shape[1]}x{image.shape[0]}, but the other images of "
            f"{self.folder!r} are {self.shape[1]}x{self.shape[0]}: a set must be of one size "
            "(resize them first, as the paper you compare with did).")
    return np.stack(images)


def kind_of(name: str) -> str:
  """"data", "stats", "npz", "folder" or "workdir" (a folder with a checkpoints/ folder or a
  config.json); an error naming the name when it is none."""
  if name.startswith(DATA_PREFIX):
    return "data"
  if name.endswith(".npz"):
    if not storage.isfile(name):
      raise errors.MissingFileError(f"{name!r} does not exist.")
    with storage.input_file(name) as f, np.load(f, allow_pickle=False) as contents:
      return "stats" if "format" in contents.files else "npz"
  if storage.isdir(name):
    if (storage.isdir(storage.join(name, "checkpoints"))
        or storage.isfile(storage.join(name, "config.json"))):
      return "workdir"
    return "folder"
  raise errors.MissingFileError(
      f"{name!r} is neither a folder, an .npz file nor data:NAME/SPLIT.")


def _check_protocol(saved: Dict[str, Any], protocol: Dict[str, Any], name: str) -> None:
  fields = ("extractor", "extractor_id", "resize")
  if any(saved.get(f) != protocol.get(f) for f in fields):
    raise errors.InvalidInputError(
        f"{name} holds features made under another protocol ("
        + ", ".join(f"{f} {saved.get(f)!r}" for f in fields) + ") than this one ("
        + ", ".join(f"{f} {protocol.get(f)!r}" for f in fields)
        + "): features of different extractors or resizes are not comparable.")


def features_of(name: str, extractor: Any, protocol: Dict[str, Any], *,
                local_dir: Optional[str] = None, data_dir: Optional[str] = None
                ) -> FeatureSet:
  """The FeatureSet of a set named as the module docstring says (not a workdir: the command
  samples those, `features_of_images`). `protocol`: the record features are made under
  (`protocols.Protocol.record`); saved statistics under another are refused."""
  kind = kind_of(name)
  if kind == "workdir":
    raise errors.InvalidInputError(f"{name!r} is a workdir: sample it (jaxgan.fid does).")
  if kind == "stats":
    return load_stats(name, protocol)
  if kind == "data":
    dataset, _, split = name[len(DATA_PREFIX):].partition("/")
    if not dataset or not split:
      raise errors.InvalidInputError(f"{name!r}: write a dataset split as data:NAME/SPLIT "
                                     "(e.g. data:mnist/test).")
    data = sources.load(dataset, split, local_dir, data_dir)
    key = reference_cache.key_of(
        data=f"{dataset}/{split}", data_fingerprint=domain_classifier.data_fingerprint(data),
        image_shape=data.image_shape, extractor=extractor.provenance(),
        resize=protocol.get("resize", ""), reference="full", num_samples=len(data.images),
        seed=0)
    out = {}

    def compute() -> np.ndarray:
      out.update(evaluator.extract_in_chunks(extractor, data.images, f"Features of {name}"))
      return out["features"]

    features = reference_cache.store(key)(compute)
    shape = "x".join(map(str, data.image_shape))
    return FeatureSet(f"{name} ({len(features):,} images, {shape})", features,
                      out.get("probs"), protocol)
  images = (_FolderImages(name) if kind == "folder"
            else local_files.npz_images(storage.load_npz(name), name))
  what = "folder" if kind == "folder" else "file"
  return features_of_images(images, extractor, protocol, f"{what} {name}")


def features_of_images(images: Any, extractor: Any, protocol: Dict[str, Any],
                       description: str) -> FeatureSet:
  """The FeatureSet of uint8 images [n, H, W, C] (an array, or anything sliceable)."""
  out = evaluator.extract_in_chunks(extractor, images, f"Features of {description}")
  first = np.asarray(images[:1])
  shape = "x".join(map(str, first.shape[1:]))
  return FeatureSet(f"{description} ({len(out['features']):,} images, {shape})",
                    out["features"], out["probs"], protocol)


def save_stats(path: str, feature_set: FeatureSet) -> None:
  """Writes a set's features (and class probabilities) with its protocol and description."""
  buffer = io.BytesIO()
  arrays = {"format": np.array(STATS_FORMAT), "features": feature_set.features,
            "protocol": np.array(json.dumps(feature_set.protocol, sort_keys=True)),
            "description": np.array(feature_set.description)}
  if feature_set.probs is not None:
    arrays["probs"] = feature_set.probs
  np.savez(buffer, **arrays)
  storage.make_parent(storage.absolute(path))
  storage.write_atomically(path, buffer.getvalue())


def load_stats(path: str, protocol: Dict[str, Any]) -> FeatureSet:
  """Statistics written by `save_stats`, refused if made under another protocol."""
  with storage.input_file(path) as f, np.load(f, allow_pickle=False) as saved:
    if str(saved["format"]) != STATS_FORMAT:
      raise errors.InvalidInputError(f"{path!r} is not jaxgan's feature statistics.")
    record = json.loads(str(saved["protocol"]))
    _check_protocol(record, protocol, repr(path))
    probs = saved["probs"] if "probs" in saved.files else None
    return FeatureSet(f"statistics {path} of {saved['description']}", saved["features"],
                      probs, record)


def table(rows: List[tuple]) -> str:
  """A markdown table of (label, value text) rows."""
  lines = ["| metric | value |", "| --- | --- |"]
  lines += [f"| {label} | {value} |" for label, value in rows]
  return "\n".join(lines)
