"""A tiny pair for any image shape, so tests and smoke runs compile in a second or two.

It has the same moving parts as the real models (BatchNorm in G, dropout in D) so a test on
it exercises the same state handling, randomness and synchronisation.
"""
from __future__ import annotations

from typing import Optional, Tuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models import layers, strided_conv
from jaxgan.models.minibatch import DiscriminatorOptions, head


class TinyGenerator(nn.Module):
  """Latents [n, latent_dim] -> images [n, *image_shape] in [-1, 1]."""
  image_shape: Tuple[int, int, int]
  hidden: int = 16
  axis_name: Optional[str] = None

  @nn.compact
  def __call__(self, z: jax.Array, train: bool, codes: Optional[jax.Array] = None
               ) -> jax.Array:
    """codes: one-hot classes [n, num_classes] for conditional BatchNorm, or None."""
    # No bias before BatchNorm: BN's mean subtraction cancels it (its gradient is zero up to
    # rounding, which Adam would amplify into noise).
    x = nn.Dense(self.hidden, use_bias=False)(z)
    x = nn.relu(layers.batch_norm(train, self.axis_name, codes=codes)(x))
    height, width, channels = self.image_shape
    x = nn.Dense(height * width * channels)(x)
    return jnp.tanh(x).reshape(z.shape[0], height, width, channels)


class TinyDiscriminator(DiscriminatorOptions):
  """Images [n, H, W, C] -> logits [n]."""
  hidden: int = 8
  dropout_rate: float = 0.3

  @nn.compact
  def __call__(self, x: jax.Array, train: bool, codes: Optional[jax.Array] = None
               ) -> jax.Array:
    """codes: one-hot classes [n, num_classes] for the projection head, or None."""
    conv = strided_conv.Conv(self.hidden, (3, 3), strides=(2, 2))
    x = nn.leaky_relu(layers.maybe_spectral_norm(conv, self.spectral_norm, x, train), 0.2)
    x = layers.ExampleDropout(self.dropout_rate, self.axis_name)(x, deterministic=not train)
    return head(self, x, train, codes)
