"""The fully connected GAN of the course notes (the classic Keras "GAN" example), any image
shape (MNIST: 784 pixels).

G: z [n, latent] -> Dense 256 -> LeakyReLU 0.2 -> BN -> Dense 512 -> LeakyReLU -> BN
   -> Dense 1024 -> LeakyReLU -> BN -> Dense H*W*C -> tanh: images [n, H, W, C].
D: x [n, H, W, C] -> flatten -> Dense 1024 -> LeakyReLU 0.2 -> Dropout 0.3 -> Dense 512 ->
   LeakyReLU -> Dropout -> Dense 256 -> LeakyReLU -> Dropout -> Dense 1: logits [n].

As taught, BatchNorm follows the activation (so the Dense layers keep their biases) and uses
momentum 0.8. D has no BatchNorm. D's options are those of every jaxgan discriminator
(`jaxgan.models.minibatch.DiscriminatorHead`), plus spectral norm on every Dense layer.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models import layers
from jaxgan.models.minibatch import DiscriminatorOptions, head


class MLPGenerator(nn.Module):
  """Latents [n, latent_dim] -> images [n, *image_shape] in [-1, 1]."""
  image_shape: Tuple[int, int, int]
  hidden: Sequence[int] = (256, 512, 1024)
  leaky_relu_slope: float = 0.2
  batch_norm_momentum: float = 0.8
  axis_name: Optional[str] = None

  @nn.compact
  def __call__(self, z: jax.Array, train: bool, codes: Optional[jax.Array] = None
               ) -> jax.Array:
    """codes: one-hot classes [n, num_classes] for conditional BatchNorm, or None."""
    x = z
    for width in self.hidden:
      x = nn.leaky_relu(nn.Dense(width)(x), self.leaky_relu_slope)
      x = layers.batch_norm(train, self.axis_name, momentum=self.batch_norm_momentum,
                            codes=codes)(x)
    height, width, channels = self.image_shape
    x = nn.Dense(height * width * channels)(x)
    return jnp.tanh(x).reshape(z.shape[0], height, width, channels)


class MLPDiscriminator(DiscriminatorOptions):
  """Images [n, H, W, C] -> logits [n]."""
  hidden: Sequence[int] = (1024, 512, 256)
  leaky_relu_slope: float = 0.2
  dropout_rate: float = 0.3

  @nn.compact
  def __call__(self, x: jax.Array, train: bool, codes: Optional[jax.Array] = None
               ) -> jax.Array:
    """codes: one-hot classes [n, num_classes] for the projection head, or None."""
    x = x.reshape(x.shape[0], -1)
    for width in self.hidden:
      x = layers.maybe_spectral_norm(nn.Dense(width), self.spectral_norm, x, train)
      x = nn.leaky_relu(x, self.leaky_relu_slope)
      x = layers.ExampleDropout(self.dropout_rate, self.axis_name)(x, deterministic=not train)
    # The shared head takes feature maps [n, H, W, C]: a 1x1 map of the last hidden layer.
    return head(self, x[:, None, None, :], train, codes)
