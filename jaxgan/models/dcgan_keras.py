"""The small DCGAN of the Keras examples, for 28x28 images (MNIST: 1 channel).

G: z [n, latent] -> Dense 7*7*128 -> LeakyReLU 0.2 -> ConvT 128 4x4 s1 -> LeakyReLU
   -> up 64 (4x4, 14x14) -> LeakyReLU -> up C (4x4, 28x28) -> tanh: [n, 28, 28, C].
D: x [n, 28, 28, C] -> down 64 (4x4, 14x14) -> LeakyReLU 0.2 -> down 128 (7x7) -> LeakyReLU
   -> Dropout 0.2 -> Dense 1: logits [n].
No BatchNorm anywhere, as in the Keras example. "up"/"down" are `jaxgan.models.resampling`
layers: stride-2 transposed / strided convolutions by default, or the other modes by name.
"""
from __future__ import annotations

from typing import Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models import layers
from jaxgan.models.conv_transpose import ConvTranspose
from jaxgan.models.minibatch import DiscriminatorOptions, head
from jaxgan.models.resampling import Downsample, Upsample


class KerasGenerator(nn.Module):
  """Latents [n, latent_dim] -> images [n, 28, 28, channels] in [-1, 1]."""
  channels: int = 1
  leaky_relu_slope: float = 0.2
  upsample: str = "transposed"
  axis_name: Optional[str] = None  # Unused (no BatchNorm); kept for a uniform signature.

  @nn.compact
  def __call__(self, z: jax.Array, train: bool) -> jax.Array:
    act = lambda x: nn.leaky_relu(x, self.leaky_relu_slope)
    x = act(nn.Dense(7 * 7 * 128)(z)).reshape(z.shape[0], 7, 7, 128)
    x = act(ConvTranspose(128, (4, 4), strides=(1, 1), padding="SAME")(x))
    x = act(Upsample(64, self.upsample)(x))
    return jnp.tanh(Upsample(self.channels, self.upsample)(x))


class KerasDiscriminator(DiscriminatorOptions):
  """Images [n, 28, 28, C] -> logits [n]; options as every jaxgan D (DiscriminatorHead)."""
  leaky_relu_slope: float = 0.2
  dropout_rate: float = 0.2
  downsample: str = "strided"

  @nn.compact
  def __call__(self, x: jax.Array, train: bool, codes: Optional[jax.Array] = None
               ) -> jax.Array:
    """codes: one-hot classes [n, num_classes] for the projection head, or None."""
    wrap = layers.spectral_norm_wrapper(self.spectral_norm, train)
    for features in (64, 128):
      x = nn.leaky_relu(Downsample(features, self.downsample)(x, wrap), self.leaky_relu_slope)
    x = layers.ExampleDropout(self.dropout_rate, self.axis_name)(x, deterministic=not train)
    return head(self, x, train, codes)
