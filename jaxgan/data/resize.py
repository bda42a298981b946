"""Centre crop and resize of uint8 images (config.dataset.crop, config.dataset.image_size).

One TensorFlow implementation serves both the tfds pipeline (mapped over examples before
batching, so a large dataset such as CelebA is never held at full resolution) and arrays from
local files, so the same config gives the same pixels from either source.

  crop: side of the centred square kept (0: no crop). CelebA's 218x178 faces are usually
    cropped to 108 (DCGAN) or 140-178 before resizing to 64.
  image_size: side of the square output (0: keep the size). Resizing uses bilinear
    interpolation with antialiasing (an area-weighted filter when shrinking), rounded to uint8.
"""
from __future__ import annotations

import numpy as np

from jaxgan.core import errors


def check_sizes(height: int, width: int, crop: int, image_size: int, source: str) -> None:
  """Raises ValueError when the crop does not fit or a resize would distort the aspect."""
  if crop < 0 or image_size < 0:
    raise errors.InvalidInputError(
        f"config.dataset.crop={crop} and image_size={image_size} must be >= 0.")
  if crop and (crop > height or crop > width):
    raise errors.InvalidInputError(
        f"config.dataset.crop={crop} is larger than the {height}x{width} images "
        f"of {source}.")
  if image_size and not crop and height != width:
    raise errors.InvalidInputError(
        f"config.dataset.image_size={image_size} would stretch the {height}x"
        f"{width} images of {source}; set config.dataset.crop (a centred square "
        "side) as well.")


def tf_crop_and_resize(images, crop: int, image_size: int):
  """tf uint8 [H, W, C] or [N, H, W, C] -> the same rank, cropped and resized, uint8."""
  import tensorflow as tf

  if crop:
    shape = tf.shape(images)  # dynamic: tfds datasets of mixed image sizes have no static one
    height, width = shape[-3], shape[-2]
    images = tf.image.crop_to_bounding_box(images, (height - crop) // 2, (width - crop) // 2,
                                           crop, crop)
  if image_size:
    resized = tf.image.resize(tf.cast(images, tf.float32), (image_size, image_size),
                              method="bilinear", antialias=True)
    images = tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8)
  return images


def crop_and_resize(images: np.ndarray, crop: int, image_size: int, source: str = "the data",
                    chunk: int = 1024) -> np.ndarray:
  """uint8 [N, H, W, C] -> uint8 [N, S, S, C] (S = image_size or crop); unchanged when both 0."""
  if not crop and not image_size:
    return images
  check_sizes(images.shape[1], images.shape[2], crop, image_size, source)
  import tensorflow as tf  # Imported only when needed: TF takes seconds to import.

  out = [tf_crop_and_resize(tf.constant(images[i:i + chunk]), crop, image_size).numpy()
         for i in range(0, len(images), chunk)]
  return np.concatenate(out)
