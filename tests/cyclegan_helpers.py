"""Small pieces for tests/test_cyclegan.py: a pointwise image-to-image pair whose outputs a
test can compute by hand, two-domain .npz data, and tiny cyclegan configs."""
from __future__ import annotations

import os
from typing import Optional

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from jaxgan import models
from tests import helpers


class PointwiseGenerator(nn.Module):
  """G(x) = tanh(w x + c), one (w, c) for all pixels."""

  @nn.compact
  def __call__(self, x, train: bool = True):
    w = self.param("w", lambda key: jnp.asarray(0.8))
    c = self.param("c", lambda key: jnp.asarray(0.1))
    return jnp.tanh(w * x + c)


class PointwiseCritic(nn.Module):
  """Patch logits [n, H, W] = v x[..., 0] + u."""

  @nn.compact
  def __call__(self, x, train: bool = True):
    v = self.param("v", lambda key: jnp.asarray(1.5))
    u = self.param("u", lambda key: jnp.asarray(-0.2))
    return v * x[..., 0] + u


def build_pointwise(*, image_shape, latent_dim: int, axis_name: Optional[str]):
  """config.model.name = "tests.cyclegan_helpers:build_pointwise"."""
  del image_shape, latent_dim, axis_name
  return models.TranslationPair(PointwiseGenerator(), PointwiseCritic())


def write_domains(directory: str, n_a: int = 24, n_b: int = 20, side: int = 16,
                  labels: bool = False, seed: int = 0) -> str:
  """local_dir/trainA.npz, trainB.npz, testA.npz, testB.npz of random uint8 images."""
  rng = np.random.default_rng(seed)
  for split, n in (("trainA", n_a), ("trainB", n_b), ("testA", 8), ("testB", 8)):
    arrays = {"images": rng.integers(0, 256, (n, side, side, 1), dtype=np.uint8)}
    if labels:
      arrays["labels"] = rng.integers(0, 3, (n,))
    np.savez(os.path.join(directory, f"{split}.npz"), **arrays)
  return directory


def tiny_cyclegan_config(local_dir: str = "", **overrides):
  """A cyclegan config of a few hundred parameters on write_domains' 16x16 images."""
  config = helpers.tiny_config(local_dir, **{
      "game.name": "cyclegan", "model.name": "cyclegan_resnet", "dataset.name": "npz",
      "dataset.split": "train", "loss.name": "least_squares", "num_grid_samples": 12,
      **overrides})
  config.model.kwargs.update({"ngf": 2, "ndf": 2, "n_blocks": 1, "n_layers": 1})
  config.game.kwargs.update({"pool_size": 4})
  return config
