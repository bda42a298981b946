"""The small DCGAN of the Unrolled GAN paper's Stacked MNIST experiment (28x28x3).

Metz et al. 2017 (appendix: Stacked MNIST) shrink D to 1/4 or 1/2 of its usual size so that
a plain GAN collapses and the mode-collapse remedies have something to cure; PacGAN (Lin et
al. 2018, Table 3) reran that setting. The layers below follow PacGAN's reproduction code
(fjxmlzn/PacGAN, stacked_MNIST_experiments/unrolled_GAN_experiment/D=0.25G/model.py):

G: z [n, latent] -> Dense 4*4*8w -> BN -> ReLU -> [n, 4, 4, 8w]
   -> 3x3 transposed conv, stride 2, 4w channels -> 7x7 -> BN -> ReLU
   -> 3x3 transposed conv, stride 2, 2w -> 14x14 -> BN -> ReLU
   -> 3x3 transposed conv, stride 2, w -> 28x28 -> BN -> ReLU
   -> 3x3 conv, stride 1, C channels -> tanh: images [n, 28, 28, C]        (w = g_width = 8)
D: x [n, 28, 28, C'] -> 3 x (3x3 conv stride 2 'SAME' -> BN -> LeakyReLU 0.3), widths
   d_width, 2 d_width, 4 d_width (14, 7, 4) -> flatten -> Dense 1: logits [n].
   d_width 2: "D is 1/4 the size of G"; 4: "1/2"  (C' = 3 m under PacGAN packing m).

Weights N(0, 0.02) as the reference's ops.py (its truncated normal for convolutions); BN with
momentum 0.9 and epsilon 1e-5 (its batch_norm), statistics over the global batch.
"""
from __future__ import annotations

from typing import Optional, Tuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models import layers
from jaxgan.models.minibatch import DiscriminatorOptions, head

_INIT = nn.initializers.normal(0.02)
_BN = {"momentum": 0.9, "epsilon": 1e-5}


def _transposed_padding(size_in: int) -> Tuple[Tuple[int, int], Tuple[int, int]]:
  """Padding of a 3x3 stride-2 transposed conv from side `size_in` to TF's 'SAME' output
  (4 -> 7, then doubling): the transpose of the 'SAME' convolution that shrinks it back."""
  out = 7 if size_in == 4 else 2 * size_in
  pad_total = max((size_in - 1) * 2 + 3 - out, 0)  # the forward conv's 'SAME' padding
  low = pad_total // 2
  pads = (2 - low, 2 - (pad_total - low))  # kernel - 1 - forward padding, per side
  return (pads, pads)


class StackedGenerator(nn.Module):
  """Latents [n, latent_dim] -> images [n, 28, 28, channels] in [-1, 1]."""
  channels: int = 3
  width: int = 8
  axis_name: Optional[str] = None

  @nn.compact
  def __call__(self, z: jax.Array, train: bool) -> jax.Array:
    bn = lambda: layers.batch_norm(train, self.axis_name, **_BN)
    x = nn.Dense(4 * 4 * 8 * self.width, kernel_init=_INIT)(z)
    x = nn.relu(bn()(x.reshape(z.shape[0], 4, 4, 8 * self.width)))
    for width in (4 * self.width, 2 * self.width, self.width):
      x = nn.ConvTranspose(width, (3, 3), strides=(2, 2),
                           padding=_transposed_padding(x.shape[1]), kernel_init=_INIT)(x)
      x = nn.relu(bn()(x))
    x = nn.Conv(self.channels, (3, 3), padding="SAME", kernel_init=_INIT)(x)
    return jnp.tanh(x)


class StackedDiscriminator(DiscriminatorOptions):
  """Images [n, 28, 28, C] -> logits [n]; D's options as every jaxgan discriminator's."""
  width: int = 2

  @nn.compact
  def __call__(self, x: jax.Array, train: bool, codes: Optional[jax.Array] = None
               ) -> jax.Array:
    for width in (self.width, 2 * self.width, 4 * self.width):
      conv = nn.Conv(width, (3, 3), strides=(2, 2), padding="SAME", kernel_init=_INIT)
      x = layers.maybe_spectral_norm(conv, self.spectral_norm, x, train)
      x = nn.leaky_relu(layers.batch_norm(train, self.axis_name, **_BN)(x), 0.3)
    return head(self, x.reshape(x.shape[0], 1, 1, -1), train, codes)
