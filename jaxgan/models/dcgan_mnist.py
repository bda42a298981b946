"""A DCGAN for 28x28 images sized for a CPU budget: configs/dcgan.py's architecture.

Radford et al. (2016)'s rules for a stable DCGAN, at MNIST's size: strided convolutions in D
and transposed ones in G (no pooling), BatchNorm in both players except G's output layer and
D's input layer, ReLU in G and LeakyReLU 0.2 in D, tanh output, weights drawn from N(0, 0.02).
The layer widths are parameters, so the pair can be as small as a 2-core CPU affords; with
the defaults (g_width 32, d_width 32) G has 791,777 parameters and D 109,473.

G: z [n, latent] -> Dense 7*7*4g (no bias) -> BN -> ReLU -> [n, 7, 7, 4g]
   -> ConvT 2g 4x4 s2 (14x14, no bias) -> BN -> ReLU
   -> ConvT g 4x4 s2 (28x28, no bias) -> BN -> ReLU
   -> Conv C 3x3 s1 -> tanh: images [n, 28, 28, C]
D: x [n, 28, 28, C] -> Conv d 4x4 s2 (14x14) -> LeakyReLU 0.2
   -> Conv 2d 4x4 s2 (7x7, no bias) -> BN -> LeakyReLU 0.2
   -> Conv 4d 3x3 s2 (4x4, no bias) -> BN -> LeakyReLU 0.2 -> Dense 1: logits [n]

BatchNorm uses momentum 0.9 and epsilon 1e-5 (the DCGAN reference code's), with statistics
over the global batch. The strided and transposed convolutions are jaxgan's XLA:CPU-friendly
layers (`strided_conv.Conv`, `conv_transpose.ConvTranspose`: the functions of flax's layers,
several times faster to differentiate on the CPU). With them this pair trains 1.7x the steps
per minute of `dcgan_stacked` (the same design from flax's layers, 3x3 kernels, a smaller G)
on one CPU core at batch 32 (experiments/quality/README.md).
"""
from __future__ import annotations

from typing import Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models import layers, strided_conv
from jaxgan.models.conv_transpose import ConvTranspose
from jaxgan.models.minibatch import DiscriminatorOptions, head

_INIT = nn.initializers.normal(0.02)
_BN = {"momentum": 0.9, "epsilon": 1e-5}


class MnistGenerator(nn.Module):
  """Latents [n, latent_dim] -> images [n, 28, 28, channels] in [-1, 1]."""
  channels: int = 1
  width: int = 32
  axis_name: Optional[str] = None

  @nn.compact
  def __call__(self, z: jax.Array, train: bool) -> jax.Array:
    bn = lambda: layers.batch_norm(train, self.axis_name, **_BN)
    # No bias before BatchNorm: its mean subtraction cancels it.
    x = nn.Dense(7 * 7 * 4 * self.width, use_bias=False, kernel_init=_INIT)(z)
    x = nn.relu(bn()(x.reshape(z.shape[0], 7, 7, 4 * self.width)))
    for width in (2 * self.width, self.width):
      x = ConvTranspose(width, (4, 4), strides=(2, 2), padding="SAME", use_bias=False,
                        kernel_init=_INIT)(x)
      x = nn.relu(bn()(x))
    x = nn.Conv(self.channels, (3, 3), padding="SAME", kernel_init=_INIT)(x)
    return jnp.tanh(x)


class MnistDiscriminator(DiscriminatorOptions):
  """Images [n, 28, 28, C] -> logits [n]; D's options as every jaxgan discriminator's."""
  width: int = 32

  @nn.compact
  def __call__(self, x: jax.Array, train: bool, codes: Optional[jax.Array] = None
               ) -> jax.Array:
    """codes: one-hot classes [n, num_classes] for the projection head, or None."""
    for i, (width, kernel) in enumerate(((self.width, 4), (2 * self.width, 4),
                                         (4 * self.width, 3))):
      conv = strided_conv.Conv(width, (kernel, kernel), strides=(2, 2), padding="SAME",
                               use_bias=i == 0, kernel_init=_INIT)
      x = layers.maybe_spectral_norm(conv, self.spectral_norm, x, train)
      if i > 0:  # Not on D's input layer (Radford et al.).
        x = layers.batch_norm(train, self.axis_name, **_BN)(x)
      x = nn.leaky_relu(x, 0.2)
    return head(self, x, train, codes)
