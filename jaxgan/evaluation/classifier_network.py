"""A small CNN classifier whose penultimate layer is jaxgan's offline feature space.

Used by the evaluation (FID/KID/precision-recall in its feature space, Inception-Score-like
confidence and mode coverage from its class probabilities) where no Inception weights are at
hand, e.g. for every MNIST-family run. Kept small so that it trains in about a minute on a
laptop CPU (~6 MFLOP per 28x28 image forward).

x [n, H, W, C] in [-1, 1] -> Conv 32 3x3 -> ReLU -> Conv 64 3x3 s2 -> ReLU -> Conv 64 3x3 s2
-> ReLU -> Dense feature_dim -> ReLU (= features [n, feature_dim]) -> Dropout -> Dense
num_classes (= logits [n, num_classes]).
"""
from __future__ import annotations

from typing import Tuple

import flax.linen as nn
import jax


class Classifier(nn.Module):
  """Images [n, H, W, C] in [-1, 1] -> (logits [n, num_classes], features [n, feature_dim])."""
  num_classes: int = 10
  feature_dim: int = 128
  dropout_rate: float = 0.3

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> Tuple[jax.Array, jax.Array]:
    x = nn.relu(nn.Conv(32, (3, 3))(x))
    x = nn.relu(nn.Conv(64, (3, 3), strides=(2, 2))(x))
    x = nn.relu(nn.Conv(64, (3, 3), strides=(2, 2))(x))
    features = nn.relu(nn.Dense(self.feature_dim)(x.reshape(x.shape[0], -1)))
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(features)
    return nn.Dense(self.num_classes)(x), features
