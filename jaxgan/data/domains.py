"""Two image domains for unpaired translation (the cyclegan game): what is loaded, and the
two streams of batches.

`load(dataset)` returns a `DomainPair`: the training images of domain A and of domain B
(unpaired: different images, different counts allowed) and held-out test images of each.
config.dataset names them as the reference's layout does (datasets/<pair>/trainA, trainB,
testA, testB):
  * a tfds name (e.g. "cycle_gan/horse2zebra"): its splits "<split>A" and "<split>B", with
    "testA" / "testB" as the test images;
  * "image_folder": local_dir/<split>A/ and local_dir/<split>B/ (and testA/, testB/ if
    present), "npz": local_dir/<split>A.npz and <split>B.npz;
  * "digit_strokes" (offline, built by jaxgan from MNIST, `digit_strokes`): A = MNIST digits,
    B = the same kind of digits written with a thicker pen (a 3x3 grey dilation).

Each stream is shuffled on its own, epoch e of stream s by a generator seeded with
(seed, s, e) (`DomainBatches`), so resume stays exact and the two domains never pair up.
"""
from __future__ import annotations

import dataclasses
from typing import Dict, Optional

import numpy as np
from absl import logging

from jaxgan.core import errors, run_settings
from jaxgan.data import pipeline, sources

DIGIT_STROKES = sources.DIGIT_STROKES
DIGIT_STROKES_TEST = 1000  # the last images of the split: the paired test set
STREAMS = {"a": 1, "b": 2}  # stream ids folded into the shuffle's seed


@dataclasses.dataclass(frozen=True)
class DomainPair:
  """Attributes:
    a, b: the training images of each domain (uint8 [N_a, H, W, C], [N_b, H, W, C]).
    test_a, test_b: held-out images of each domain, or None.
    paired_test: test_a[i] and test_b[i] show the same content (known only for a pair built
      from one dataset, as digit_strokes): L1 to the counterpart is then measured.
  """
  a: sources.ImageData
  b: sources.ImageData
  test_a: Optional[sources.ImageData] = None
  test_b: Optional[sources.ImageData] = None
  paired_test: bool = False

  def __post_init__(self):
    if self.a.image_shape != self.b.image_shape:
      raise errors.InvalidInputError(
          f"the two domains' images differ in shape: A {self.a.image_shape}, "
          f"B {self.b.image_shape} (H, W, C); jaxgan converts neither: resize "
          "both with config.dataset.image_size, and give both the same channels "
          "(grey or RGB).")

  @property
  def image_shape(self):
    return self.a.image_shape

  def held_out(self, domain: str) -> sources.ImageData:
    """Domain "a" or "b"'s test images, or its training images when it has none."""
    test = getattr(self, f"test_{domain}")
    return test if test is not None else getattr(self, domain)

  def held_out_source(self) -> str:
    """What `held_out` serves (the grid's and the evaluation's inputs): "held-out test
    images", "training images (no test split)", or per domain when they differ."""
    kinds = {d: ("held-out" if getattr(self, f"test_{d}") is not None else "training")
             for d in "ab"}
    if kinds["a"] == kinds["b"]:
      return ("held-out test images" if kinds["a"] == "held-out"
              else "training images (no test split)")
    return f"A: {kinds['a']} images, B: {kinds['b']} images"

  def describe(self) -> str:
    """Both domains' training and held-out images (what a run logs at start-up)."""
    parts = []
    for d in "ab":
      test = getattr(self, f"test_{d}")
      held = (f"{len(test.images)} held out" if test is not None
              else "no test split: its grid and evaluation use training images")
      parts.append(f"domain {d.upper()}: {getattr(self, d).describe()}; {held}")
    return "; ".join(parts)

  # What the shared loop reads of a dataset (the real-images grid, logging).
  @property
  def images(self) -> np.ndarray:
    return self.a.images

  labels = None
  num_classes = 0


def centre_cropped(data, side: int):
  """An ImageData or DomainPair with every image set centre-cropped to side x side
  (pipeline.centre_crop); `data` itself for side 0."""
  if not side:
    return data
  crop = lambda x: None if x is None else dataclasses.replace(
      x, images=pipeline.centre_crop(x.images, side))
  if isinstance(data, DomainPair):
    return dataclasses.replace(data, a=crop(data.a), b=crop(data.b), test_a=crop(data.test_a),
                               test_b=crop(data.test_b))
  return crop(data)


def thicken(images: np.ndarray) -> np.ndarray:
  """A thicker pen: each pixel the maximum of its 3x3 neighbourhood (grey dilation).
  uint8 [N, H, W, C] -> the same shape."""
  padded = np.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0)))
  h, w = images.shape[1:3]
  return np.max(np.stack([padded[:, i:i + h, j:j + w] for i in range(3) for j in range(3)]),
                axis=0)


def digit_strokes(mnist: sources.ImageData, test_size: int = DIGIT_STROKES_TEST) -> DomainPair:
  """The offline digit pair from one MNIST split: its last `test_size` digits are the paired
  test set (A: as written, B: thickened, labels kept); of the others, the even-indexed are
  domain A and the odd-indexed, thickened, domain B, so no training digit is in both."""
  if mnist.labels is None or len(mnist.images) < test_size + 2:
    raise errors.InvalidInputError(
        f"digit_strokes needs more than {test_size + 2} labelled digits; the "
        f"split has {len(mnist.images)}.")
  train = slice(0, len(mnist.images) - test_size)
  images, labels, k = mnist.images[train], mnist.labels[train], mnist.num_classes
  test_images, test_labels = mnist.images[-test_size:], mnist.labels[-test_size:]
  a = sources.ImageData(images[0::2], labels[0::2], k)
  b = sources.ImageData(thicken(images[1::2]), labels[1::2], k)
  test_a = sources.ImageData(test_images, test_labels, k)
  test_b = sources.ImageData(thicken(test_images), test_labels, k)
  return DomainPair(a, b, test_a, test_b, paired_test=True)


def cycle_gan_pairs() -> list:
  """The pairs tfds' cycle_gan dataset has (its builder configs; nothing is downloaded)."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  return [pair.name for pair in tfds.builder_cls("cycle_gan").BUILDER_CONFIGS]


def _check_tfds_pair(name: str) -> None:
  """A "cycle_gan/<pair>" name must be one of tfds' pairs."""
  if not name.startswith("cycle_gan"):
    return
  pair, valid = name.partition("/")[2], cycle_gan_pairs()
  if pair not in valid:
    raise errors.InvalidInputError(
        f"config.dataset.name={name!r}: tfds' cycle_gan has no pair {pair!r}; "
        f"valid: {', '.join(f'cycle_gan/{p}' for p in valid)}.")


def load(dataset: run_settings.DataSpec) -> DomainPair:
  """The two domains `dataset` (config.dataset) names (see the module docstring). A domain
  that is missing or empty, or domains of different image shapes, are errors naming it."""
  if dataset.streaming:
    raise errors.InvalidInputError(
        "config.dataset.streaming=True streams one-domain datasets; the two "
        "domains of an image-to-image game are read into memory: set "
        "--config.dataset.streaming=False.")
  def split_of(split: str) -> sources.ImageData:
    try:
      return sources.load(dataset.name, split, dataset.local_dir or None,
                          dataset.data_dir or None, dataset.crop, dataset.image_size,
                          channels=dataset.channels)
    except errors.UserError as e:  # Named for its domain; anything else is a bug.
      raise type(e)(f"domain {split[-1]} (split {split!r} of {dataset.name!r}): {e}") from e

  if dataset.name == DIGIT_STROKES:
    mnist = sources.load("mnist", dataset.split, dataset.local_dir or None,
                         dataset.data_dir or None, dataset.crop, dataset.image_size)
    return digit_strokes(mnist)
  if "+" in dataset.split or dataset.split.endswith(("A", "B")):
    raise errors.InvalidInputError(
        f"config.dataset.split={dataset.split!r}: a two-domain dataset names the "
        "split without its domain letter (e.g. 'train' reads trainA and trainB).")
  _check_tfds_pair(dataset.name)
  a, b = split_of(dataset.split + "A"), split_of(dataset.split + "B")
  tests = []
  for domain in "AB":
    try:
      tests.append(split_of("test" + domain) if dataset.split != "test" else None)
    except sources.SplitNotFoundError:  # Optional: the evaluation uses the training split.
      logging.warning("%s has no test%s split: the grid and the evaluation translate the "
                      "training images of domain %s.", dataset.name, domain, domain)
      tests.append(None)
  return DomainPair(a, b, *tests)


class DomainBatches:
  """The batches of the two streams: `batch(step)` -> {"a": float32 [local_devices, 1,
  per_device, H, W, C], "b": ...} in [-1, 1], each stream a `pipeline.StepBatches` of its
  domain with its own shuffle seed (seed, stream id)."""

  def __init__(self, pair: DomainPair, **layout):
    """layout: pipeline.StepBatches' keyword arguments but n_critic, plan and stream."""
    self.streams = {}
    for name, stream in STREAMS.items():
      try:
        self.streams[name] = pipeline.StepBatches(getattr(pair, name), stream=stream,
                                                  n_critic=1, **layout)
      except errors.InvalidInputError as e:
        raise errors.InvalidInputError(f"domain {name.upper()}: {e}") from e

  def layout(self, step: int):
    """(images of stream A before step `step`, the global batch)."""
    return self.streams["a"].layout(step)

  def batch(self, step: int) -> Dict[str, np.ndarray]:
    return {name: stream.batch(step)["image"] for name, stream in self.streams.items()}

  def consecutive(self, step: int, n: int) -> Dict[str, np.ndarray]:
    return pipeline.stack_consecutive(self.batch, step, n)
