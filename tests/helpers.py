"""Small data and configs shared by the tests."""
from __future__ import annotations

import os

import numpy as np

from configs import default
from jaxgan.data import idx


def write_fake_mnist(directory: str, n: int = 64, split_prefix: str = "t10k",
                     seed: int = 0) -> str:
  """Writes MNIST-format IDX files of `n` random 28x28 digits with labels; returns the dir."""
  rng = np.random.default_rng(seed)
  images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
  labels = rng.integers(0, 10, (n,), dtype=np.uint8)
  idx.write_idx(os.path.join(directory, f"{split_prefix}-images-idx3-ubyte.gz"), images)
  idx.write_idx(os.path.join(directory, f"{split_prefix}-labels-idx1-ubyte.gz"), labels)
  return directory


# The tiny model, small batches and frequent outputs (as `--config.KEY=VALUE` flags or
# config fields); tests add the data directory.
TINY_FLAGS = {"model.name": "tiny", "model.latent_dim": 8, "batch_size": 8,
              "num_train_steps": 4, "log_every_steps": 2, "sample_every_steps": 2,
              "checkpoint_every_steps": 2, "num_grid_samples": 4, "dataset.split": "test"}


def tiny_config(local_dir: str = "", **overrides):
  """The default config with TINY_FLAGS, data from `local_dir`, then `overrides`."""
  config = default.get_config()
  config.dataset.local_dir = local_dir
  for key, value in {**TINY_FLAGS, **overrides}.items():
    target = config
    *parents, leaf = key.split(".")
    for parent in parents:
      target = target[parent]
    target[leaf] = value
  return config
