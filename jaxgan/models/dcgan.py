"""The DCGAN pair of the TensorFlow DCGAN tutorial, for 28x28x1 images (MNIST) or 28x28x3
(Stacked MNIST: only G's last layer and D's first layer change).

G: z [n, latent] -> Dense 7*7*256 (no bias) -> BN -> LeakyReLU -> ConvT 128 5x5 s1 -> BN ->
   LeakyReLU -> ConvT 64 5x5 s2 -> BN -> LeakyReLU -> ConvT C 5x5 s2 -> tanh: [n, 28, 28, C].
D: x [n, 28, 28, C] -> Conv 64 5x5 s2 -> LeakyReLU -> Dropout -> Conv 128 5x5 s2 -> LeakyReLU
   -> Dropout -> Dense 1: logits [n].
As in the tutorial, the transposed convolutions have no bias (BN follows them) and LeakyReLU
has Keras' default slope 0.3; parameter counts equal the tutorial's (G 2,305,472 trainable +
25,472 BN statistics; D 212,865). The transposed convolutions are jaxgan's `ConvTranspose`:
the same function and parameters as `flax.linen.ConvTranspose`, ~10x faster to differentiate
on XLA:CPU (see conv_transpose.py).
"""
from __future__ import annotations

from typing import Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models import layers, normalization, strided_conv
from jaxgan.models.conv_transpose import ConvTranspose
from jaxgan.models.minibatch import DiscriminatorOptions, head


class TutorialGenerator(nn.Module):
  """Maps latents [n, latent_dim] to images [n, 28, 28, channels] in [-1, 1].

  normalization: after the Dense layer and each hidden ConvTranspose, "batch" (the
  tutorial's), "layer", "instance", "virtual_batch" or "none" (jaxgan.models.normalization).
  BatchNorm normalises the Dense layer's 12,544 outputs one by one, as the tutorial does; the
  others see them as the 7x7x256 map (instance normalisation needs its spatial axes).
  virtual_batch runs `num_reference` fixed reference latents with every batch (their
  images are dropped): (num_reference + n) / n of the work.
  """
  leaky_relu_slope: float = 0.3
  channels: int = 1  # 3 for Stacked MNIST; only the last layer changes.
  axis_name: Optional[str] = None
  normalization: str = "batch"
  num_reference: int = 64

  @nn.compact
  def __call__(self, z: jax.Array, train: bool, codes: Optional[jax.Array] = None
               ) -> jax.Array:
    """codes: one-hot classes [n, num_classes] for conditional BatchNorm, or None."""
    act = lambda x: nn.leaky_relu(x, self.leaky_relu_slope)
    kind = self.normalization
    n_ref = self.num_reference if kind == "virtual_batch" else 0
    if n_ref:
      z = jnp.concatenate([normalization.reference_latents(n_ref, z.shape[-1], z.dtype), z])
    norm = lambda: normalization.make(kind, train, self.axis_name, n_ref, codes)
    x = nn.Dense(7 * 7 * 256, use_bias=False)(z)
    if kind == "batch":
      x = act(norm()(x)).reshape(z.shape[0], 7, 7, 256)
    else:
      x = act(norm()(x.reshape(z.shape[0], 7, 7, 256)))
    for features, stride in ((128, 1), (64, 2)):
      x = ConvTranspose(features, (5, 5), strides=(stride, stride), padding="SAME",
                        use_bias=False)(x)
      x = act(norm()(x))
    x = ConvTranspose(self.channels, (5, 5), strides=(2, 2), padding="SAME",
                      use_bias=False)(x)
    return jnp.tanh(x[n_ref:])


class TutorialDiscriminator(DiscriminatorOptions):
  """Maps images [n, 28, 28, C] to real/fake logits [n].

  The options (all off by default, i.e. the tutorial's D) are the stabilisers of
  `jaxgan.models.minibatch.DiscriminatorHead`, spectral normalisation of every layer, and
  `normalization` ("none", "layer" or "instance") after the second convolution (the first
  layer of a DCGAN D is not normalised; Radford et al., 2016).
  """
  leaky_relu_slope: float = 0.3
  dropout_rate: float = 0.3
  normalization: str = "none"

  @nn.compact
  def __call__(self, x: jax.Array, train: bool, codes: Optional[jax.Array] = None
               ) -> jax.Array:
    """codes: one-hot classes [n, num_classes] for the projection head, or None."""
    for features in (64, 128):
      conv = strided_conv.Conv(features, (5, 5), strides=(2, 2), padding="SAME")
      x = layers.maybe_spectral_norm(conv, self.spectral_norm, x, train)
      if features == 128:
        x = normalization.make(self.normalization, train, self.axis_name)(x)
      x = nn.leaky_relu(x, self.leaky_relu_slope)
      x = layers.ExampleDropout(self.dropout_rate, self.axis_name)(x, deterministic=not train)
    return head(self, x, train, codes)
