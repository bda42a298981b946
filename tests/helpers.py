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


def tiny_config(local_dir: str = "", **overrides):
  """The default config with the tiny model, small batches and frequent outputs."""
  config = default.get_config()
  config.model.name = "tiny"
  config.model.latent_dim = 8
  config.batch_size = 8
  config.num_train_steps = 4
  config.log_every_steps = 2
  config.sample_every_steps = 2
  config.checkpoint_every_steps = 2
  config.num_grid_samples = 4
  config.dataset.local_dir = local_dir
  config.dataset.split = "test"
  for key, value in overrides.items():
    target = config
    *parents, leaf = key.split(".")
    for parent in parents:
      target = target[parent]
    target[leaf] = value
  return config
