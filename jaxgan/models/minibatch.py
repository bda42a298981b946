"""Discriminator layers that look at the whole minibatch, against mode collapse.

Both see the *global* batch (or groups inside it), so they behave the same on any number of
devices.
"""
from __future__ import annotations

from typing import Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models import layers
from jaxgan.runtime import parallel


class MinibatchDiscrimination(nn.Module):
  """Minibatch discrimination (Salimans et al., 2016, section 3.2).

  For features f [n, A]: M = f T, T [A, B, C], so M_i is [B, C]. For each of the B kernels,
  o(x_i)_b = sum_{j != i} exp(-||M_i,b - M_j,b||_1) over the global batch. Returns [f, o]
  [n, A + B]: D can tell a batch of near-identical fakes from a varied real batch.

  Attributes:
    num_kernels: B.  kernel_dim: C.  axis_name: the pmap axis of the batch, or None.
  """
  num_kernels: int = 16
  kernel_dim: int = 8
  axis_name: Optional[str] = None

  @nn.compact
  def __call__(self, features: jax.Array) -> jax.Array:
    n, a = features.shape
    t = self.param("T", nn.initializers.normal(0.05), (a, self.num_kernels * self.kernel_dim))
    m = (features @ t).reshape(n, self.num_kernels, self.kernel_dim)
    everyone = parallel.device_gather(m, self.axis_name)
    l1 = jnp.sum(jnp.abs(m[:, None] - everyone[None]), axis=-1)  # [n, N, B]
    # Each row meets itself once, at distance 0: remove its exp(0) = 1.
    closeness = jnp.sum(jnp.exp(-l1), axis=1) - 1.0
    return jnp.concatenate([features, closeness], axis=-1)


class MinibatchStddev(nn.Module):
  """Minibatch standard deviation (Karras et al., 2018, section 3).

  For x [n, H, W, C]: split the batch into groups of `group_size` consecutive examples, take
  each feature's standard deviation over its group, average over all features, and append the
  group's value as one more channel: [n, H, W, C + 1]. Groups are within a device's rows, so
  `group_size` must divide the per-device batch.
  """
  group_size: int = 4

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    n = x.shape[0]
    g = min(self.group_size, n)
    if n % g:
      raise ValueError(f"minibatch_stddev group size {g} does not divide the per-device "
                       f"batch of {n}; choose a group size that does.")
    grouped = x.reshape(n // g, g, *x.shape[1:]).astype(jnp.float32)
    std = jnp.sqrt(jnp.var(grouped, axis=1) + 1e-8)           # [n/g, H, W, C]
    per_group = jnp.mean(std.reshape(n // g, -1), axis=1)      # [n/g]
    channel = jnp.repeat(per_group, g)[:, None, None, None]    # [n, 1, 1, 1]
    channel = jnp.broadcast_to(channel, (n, *x.shape[1:-1], 1)).astype(x.dtype)
    return jnp.concatenate([x, channel], axis=-1)


class DiscriminatorHead(nn.Module):
  """The shared end of jaxgan's discriminators: feature map [n, H, W, C] -> logits [n].

  [minibatch stddev] -> flatten -> expose features (for feature matching) -> [minibatch
  discrimination] -> Dense 1 (spectrally normalised when `spectral_norm`).

  With class codes (one-hot [n, num_classes]) it is a projection discriminator (Miyato &
  Koyama, 2018): logit_i = Dense1(h_i) + <embed(y_i), phi_i>, where phi [n, F] are the exposed
  features and embed a per-class [num_classes, F] table (spectrally normalised with the rest).

  Attributes:
    stddev_group: group size of the minibatch-stddev channel (0: none).
    discrimination_kernels: minibatch-discrimination kernels B (0: none), of dim 8.
  """
  spectral_norm: bool = False
  stddev_group: int = 0
  discrimination_kernels: int = 0
  axis_name: Optional[str] = None

  @nn.compact
  def __call__(self, x: jax.Array, train: bool, codes: Optional[jax.Array] = None
               ) -> jax.Array:
    if self.stddev_group:
      x = MinibatchStddev(self.stddev_group)(x)
    x = x.reshape(x.shape[0], -1)
    layers.expose_features(self, x)
    features = x
    if self.discrimination_kernels:
      x = MinibatchDiscrimination(self.discrimination_kernels, axis_name=self.axis_name)(x)
    logits = layers.maybe_spectral_norm(nn.Dense(1), self.spectral_norm, x, train)[:, 0]
    if codes is None:
      return logits
    # One-hot codes times a [num_classes, F] kernel = the classes' embeddings, [n, F].
    embedding = nn.Dense(features.shape[-1], use_bias=False, name="class_embedding")
    embedded = layers.maybe_spectral_norm(embedding, self.spectral_norm, codes.astype(x.dtype),
                                          train)
    return logits + jnp.sum(embedded * features, axis=-1)


class DiscriminatorOptions(nn.Module):
  """The settings every jaxgan discriminator shares; its modules inherit them and end in
  `head(self, x, train, codes)`.

  Attributes:
    spectral_norm: spectrally normalise every layer (the discriminator's own and the head's).
    minibatch_stddev_group: group size of the head's minibatch-stddev channel (0: none).
    minibatch_discrimination: the head's minibatch-discrimination kernels (0: none).
    axis_name: the pmap axis (for per-example dropout and batch-wide layers), or None.
  """
  spectral_norm: bool = False
  minibatch_stddev_group: int = 0
  minibatch_discrimination: int = 0
  axis_name: Optional[str] = None


def head(options: DiscriminatorOptions, x: jax.Array, train: bool,
         codes: Optional[jax.Array] = None) -> jax.Array:
  """The DiscriminatorHead configured by a discriminator's options, applied to features x
  [n, H, W, C] (and class codes [n, num_classes] for projection) -> logits [n]. Call it inside
  the discriminator's compact __call__."""
  return DiscriminatorHead(options.spectral_norm, options.minibatch_stddev_group,
                           options.minibatch_discrimination, options.axis_name)(x, train, codes)
