"""A fully connected pair for 2-D points: the mixture-of-Gaussians toy (jaxgan.data.mixture).

Points travel through jaxgan as [n, 1, 1, 2] "images" so that the standard game, its losses,
penalties and plug-ins (unrolling, packing, minibatch discrimination) apply unchanged; they
are not confined to [-1, 1] (G's output is linear).

G: z [n, latent] -> (Dense h -> ReLU) per g_hidden -> Dense 2: points [n, 1, 1, 2]
D: x [n, 1, 1, 2 m] -> flatten -> (Dense h -> ReLU) per d_hidden -> Dense 1: logits [n]
   (2 m inputs under PacGAN packing m).
The sizes default to the Unrolled GAN paper's toy (Metz et al. 2017, appendix A: G two
hidden layers of 128 ReLU units, D one of 128), as in its published notebook.
"""
from __future__ import annotations

from typing import Optional, Sequence

import flax.linen as nn
import jax

from jaxgan.models.minibatch import DiscriminatorOptions, head


class PointGenerator(nn.Module):
  """Latents [n, latent_dim] -> points [n, 1, 1, 2]."""
  hidden: Sequence[int] = (128, 128)

  @nn.compact
  def __call__(self, z: jax.Array, train: bool) -> jax.Array:
    del train  # No layer behaves differently in training.
    x = z
    for width in self.hidden:
      x = nn.relu(nn.Dense(width)(x))
    return nn.Dense(2)(x).reshape(z.shape[0], 1, 1, 2)


class PointDiscriminator(DiscriminatorOptions):
  """Points [n, 1, 1, C] -> logits [n]."""
  hidden: Sequence[int] = (128,)

  @nn.compact
  def __call__(self, x: jax.Array, train: bool, codes: Optional[jax.Array] = None
               ) -> jax.Array:
    x = x.reshape(x.shape[0], -1)
    for width in self.hidden:
      x = nn.relu(nn.Dense(width)(x))
    return head(self, x[:, None, None, :], train, codes)
