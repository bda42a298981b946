"""Stacked MNIST: three MNIST digits as the three colour channels, 1000 modes.

The mode-collapse benchmark of Metz et al. 2017 (Unrolled GAN), VEEGAN and PacGAN: a
generator that covers the data makes all 1000 digit triples; a collapsed one makes few.
Image i stacks base digits (a_i, b_i, c_i), drawn uniformly with replacement from the base
split by a generator seeded with `seed`, so the dataset is the same on every machine. Its
label is the mode id 100 * digit(a_i) + 10 * digit(b_i) + digit(c_i) (R, G, B order), the
same numbering as `jaxgan.evaluation.metrics.stacked_mode_ids`.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from jaxgan.core import errors
from jaxgan.data.sources import ImageData

NUM_MODES = 1000
# Seed of the triples: part of the dataset's definition, not of a run (changing it changes
# the data, not the experiment's randomness).
DEFAULT_SEED = 1000


def stack_digits(base: ImageData, num_images: Optional[int] = None,
                 seed: int = DEFAULT_SEED) -> ImageData:
  """Builds Stacked MNIST from a labelled single-channel digit split.

  Args:
    base: MNIST-like split, images uint8 [N, 28, 28, 1] with labels 0..9.
    num_images: images to make (default: as many as the base split holds).
    seed: seed of the digit triples.

  Returns:
    ImageData with images uint8 [num_images, 28, 28, 3] and labels (mode ids) in 0..999.
  """
  if base.labels is None or base.image_shape[-1] != 1:
    raise errors.InvalidInputError(
        "Stacked MNIST needs a labelled single-channel digit dataset; got "
        f"images {base.image_shape} with labels={base.labels is not None}.")
  num_images = len(base.images) if num_images is None else num_images
  if num_images < 1:
    raise errors.InvalidInputError(f"Stacked MNIST needs num_images >= 1; got {num_images}.")
  picks = np.random.default_rng(seed).integers(0, len(base.images), (num_images, 3))
  images = np.concatenate([base.images[picks[:, c]] for c in range(3)], axis=-1)
  digits = base.labels[picks]  # [num_images, 3]
  modes = (100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2]).astype(np.int32)
  return ImageData(images, modes, num_classes=NUM_MODES)
