"""Batches for the train step, addressed by step number.

The global stream of examples is the concatenation of per-epoch permutations of the dataset,
epoch e shuffled by a generator seeded with (seed, e). The D batch number b (b = step *
n_critic + k) is positions [b * B, (b + 1) * B) of that stream, for the global batch size B.
A game whose batch changes during the run (`GrowingGame.batch_at`) gives, per step, the examples
before it and its B: batch k of the step is then positions [first + k B, first + (k + 1) B).
Hence:
  * the batch of a step is a pure function of (seed, step): a resumed run reads exactly the
    batches an uninterrupted one reads, with no iterator state to checkpoint;
  * the global batch does not depend on the number of devices or processes; each process
    gathers only the rows of its own devices (see `parallel` for the layout).
"""
from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple

import numpy as np

from jaxgan.core import errors
from jaxgan.data.sources import ImageData

_CROP_AND_FLIP = 1  # The crop-and-flip generators' last seed word (the shuffles' have none).


def to_model_range(images_uint8: np.ndarray) -> np.ndarray:
  """uint8 pixels [0, 255] -> float32 in [-1, 1] (the generator's tanh range)."""
  return images_uint8.astype(np.float32) * np.float32(1 / 127.5) - np.float32(1.0)


def output_shape(image_shape: Tuple[int, int, int], random_crop: int) -> Tuple[int, int, int]:
  """The shape of the batches' images from stored images of `image_shape`
  (config.dataset.random_crop)."""
  height, width, channels = image_shape
  return (random_crop, random_crop, channels) if random_crop else (height, width, channels)


def centre_crop(images: np.ndarray, side: int) -> np.ndarray:
  """The centred side x side square of uint8 images [N, H, W, C] (what the grids and the
  evaluation see of a dataset trained on random crops of that side)."""
  height, width = images.shape[1:3]
  top, left = (height - side) // 2, (width - side) // 2
  return images[:, top:top + side, left:left + side]


class StepBatches:
  """Real batches for `train_step`, shaped for this process's devices.

  `batch(step)` returns {"image": float32 [local_devices, n_critic, per_device, H, W, C] in
  [-1, 1], "label": int32 [local_devices, n_critic, per_device]} (label only when the data
  has labels).

  plan: `GrowingGame.batch_at` of a game whose batch changes during the run: step -> (examples
  before the step, its global batch), or None for global_batch_size.
  stream: for a game with several data streams (jaxgan.data.domains), this one's id: epoch e
    is then shuffled by a generator seeded with (seed, stream, e); None: (seed, e).
  random_crop, random_flip: each drawn example cropped to a random random_crop x random_crop
    square (0: none) and mirrored left-right with probability 1/2 (the CycleGAN reference's
    load-then-crop preprocessing), the draws a function of (seed, stream, its position in the
    stream): every draw of an image is cropped anew, the same on any device layout.
  """

  def __init__(self, data: ImageData, *, seed: int, global_batch_size: int, n_critic: int,
               process_index: int, local_device_count: int, global_device_count: int,
               plan: Optional[Callable[[int], Optional[Tuple[int, int]]]] = None,
               stream: Optional[int] = None, random_crop: int = 0, random_flip: bool = False):
    if global_batch_size % global_device_count:
      raise errors.InvalidInputError(f"batch size {global_batch_size} does not divide over "
                                     f"{global_device_count} devices.")
    if len(data.images) < global_batch_size:
      raise errors.InvalidInputError(
          f"The data has {len(data.images)} images, fewer than one global batch "
          f"(config.batch_size={global_batch_size}): every batch would repeat images. Add "
          "images, or lower --config.batch_size.")
    self.data = data
    self.seed = seed
    self.global_batch_size = global_batch_size
    self.n_critic = n_critic
    self.local_devices = local_device_count
    self._process_index, self._global_devices = process_index, global_device_count
    self._plan = plan
    self._permutations: Dict[int, np.ndarray] = {}
    self._stream = stream
    height, width = data.image_shape[:2]
    if random_crop and (random_crop > height or random_crop > width):
      raise errors.InvalidInputError(
          f"config.dataset.random_crop={random_crop} is larger than the images "
          f"({height}x{width}).")
    self.random_crop, self.random_flip = random_crop, random_flip

  def layout(self, step: int) -> Tuple[int, int]:
    """(examples of the stream before step `step`, its global batch of one D update)."""
    planned = self._plan(step) if self._plan is not None else None
    if planned is not None:
      return planned
    return step * self.n_critic * self.global_batch_size, self.global_batch_size

  def _rows(self, global_batch: int) -> np.ndarray:
    """This process's rows within a global batch (devices are numbered process-major)."""
    per_process = global_batch // self._global_devices * self.local_devices
    return np.arange(self._process_index * per_process,
                     (self._process_index + 1) * per_process)

  def _permutation(self, epoch: int) -> np.ndarray:
    if epoch not in self._permutations:
      if len(self._permutations) > 4:  # Steps move forward; keep only recent epochs.
        self._permutations.pop(min(self._permutations))
      seeds = [self.seed, epoch] if self._stream is None else [self.seed, self._stream, epoch]
      rng = np.random.default_rng(seeds)
      self._permutations[epoch] = rng.permutation(len(self.data.images))
    return self._permutations[epoch]

  def positions(self, step: int) -> np.ndarray:
    """Positions in the stream [n_critic, rows of this process] of train step `step`."""
    first, batch = self.layout(step)
    return first + np.arange(self.n_critic)[:, None] * batch + self._rows(batch)[None, :]

  def example_indices(self, step: int) -> np.ndarray:
    """Dataset indices [n_critic, rows of this process] for train step `step`."""
    return self._indices_at(self.positions(step))

  def _indices_at(self, positions: np.ndarray) -> np.ndarray:
    """Dataset indices of stream positions (any shape): epoch e's permutation at e's offset."""
    epochs, offsets = np.divmod(positions, len(self.data.images))
    out = np.empty_like(positions)
    for epoch in np.unique(epochs):
      mask = epochs == epoch
      out[mask] = self._permutation(int(epoch))[offsets[mask]]
    return out

  def batch(self, step: int) -> Dict[str, np.ndarray]:
    positions = self.positions(step)
    indices = self._indices_at(positions)
    shape = (self.n_critic, self.local_devices, indices.shape[1] // self.local_devices)

    def arrange(x):  # [n_critic, rows, ...] -> [devices, n_critic, per_device, ...]
      return np.swapaxes(x.reshape(shape + x.shape[2:]), 0, 1)

    images = self.data.images[indices]
    if self.random_crop or self.random_flip:
      images = self._crop_and_flip(images, positions)
    out = {"image": arrange(to_model_range(images))}
    if self.data.labels is not None:
      out["label"] = arrange(self.data.labels[indices])
    return out

  def _crop_and_flip(self, images: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """images uint8 [..., H, W, C] at stream `positions` [...] -> cropped and flipped."""
    height, width = images.shape[-3:-1]
    side_h, side_w = (self.random_crop, self.random_crop) if self.random_crop else (height, width)
    flat, out = images.reshape(-1, *images.shape[-3:]), []
    for image, position in zip(flat, positions.reshape(-1)):
      rng = np.random.default_rng([self.seed, self._stream or 0, int(position), _CROP_AND_FLIP])
      top, left = rng.integers(height - side_h + 1), rng.integers(width - side_w + 1)
      image = image[top:top + side_h, left:left + side_w]
      out.append(image[:, ::-1] if self.random_flip and rng.random() < 0.5 else image)
    return np.stack(out).reshape(*images.shape[:-3], side_h, side_w, images.shape[-1])

  def consecutive(self, step: int, n: int) -> Dict[str, np.ndarray]:
    """The batches of steps step .. step + n - 1 for one call of `games.common.run_steps`:
    {"image": [local_devices, n, n_critic, per_device, H, W, C], "label": ...}."""
    return stack_consecutive(self.batch, step, n)


def stack_consecutive(batch: Callable[[int], Dict[str, np.ndarray]], step: int, n: int
                      ) -> Dict[str, np.ndarray]:
  """`batch(s)` of steps step .. step + n - 1, each array stacked on a new axis 1 (after the
  devices' axis): the batches of one call of k steps (games.common.run_steps)."""
  per_step = [batch(s) for s in range(step, step + n)]
  return {name: np.stack([b[name] for b in per_step], axis=1) for name in per_step[0]}
