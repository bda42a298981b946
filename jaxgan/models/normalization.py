"""The normalisation layers a GAN course lists, chosen by name (an architecture option).

  batch          BatchNorm over the global batch (`layers.batch_norm`; the DCGAN default)
  layer          per example, over all its features (H, W, C): Ba et al., 2016; the WGAN-GP
                 critic's replacement for BatchNorm (Gulrajani et al., 2017, sec. 4)
  instance       per example and channel, over H and W: Ulyanov et al., 2016
  virtual_batch  per example, with the statistics of a fixed reference batch and of the
                 example itself (Salimans et al., 2016, sec. 3.4; `VirtualBatchNorm`)
  none           the identity

Layer, instance and virtual batch normalisation look at one example at a time (with the
reference batch, the same on every device), so they need no cross-device statistics and have
no running averages: training and inference are the same function. Each has a learned scale
and offset per channel (the last axis).
"""
from __future__ import annotations

from typing import Callable, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models import layers

GENERATOR_NORMALIZATIONS = ("batch", "layer", "instance", "virtual_batch", "none")
DISCRIMINATOR_NORMALIZATIONS = ("none", "layer", "instance")
EPSILON = 1e-5


def check(option: str, kind: str, valid) -> None:
  if kind not in valid:
    raise ValueError(f"{option}={kind!r}; valid: {', '.join(valid)}.")


class VirtualBatchNorm(nn.Module):
  """Virtual batch normalisation of x [num_reference + n, ..., C], the reference rows first.

  Every example is normalised with per-channel statistics that combine the fixed reference
  batch's (over its rows and spatial positions) and its own (over its spatial positions),
  weighted N/(N+1) and 1/(N+1), N = num_reference: mean = (N mean_ref + mean_x) / (N + 1),
  var = (N E_ref[h^2] + E_x[h^2]) / (N + 1) - mean^2. The reference rows themselves are
  normalised with the reference statistics alone (as in OpenAI's improved-GAN code). The
  generator runs the reference latents through every layer with the batch, so that every
  virtual batch normalisation sees the reference batch's activations of its own layer.
  """
  num_reference: int
  epsilon: float = EPSILON

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    n_ref, channels = self.num_reference, x.shape[-1]
    scale = self.param("scale", nn.initializers.ones, (channels,))
    bias = self.param("bias", nn.initializers.zeros, (channels,))
    f32 = x.astype(jnp.float32)
    reference, examples = f32[:n_ref], f32[n_ref:]
    all_axes = tuple(range(x.ndim - 1))
    spatial = tuple(range(1, x.ndim - 1))
    ref_mean = jnp.mean(reference, axis=all_axes)
    ref_square = jnp.mean(jnp.square(reference), axis=all_axes)
    own = 1.0 / (n_ref + 1.0)
    keep = lambda v: v.reshape(v.shape[:1] + (1,) * len(spatial) + v.shape[1:])
    mean = keep(own * jnp.mean(examples, axis=spatial) + (1.0 - own) * ref_mean)
    square = keep(own * jnp.mean(jnp.square(examples), axis=spatial) + (1.0 - own) * ref_square)
    normalised = jnp.concatenate([
        (reference - ref_mean) * jax.lax.rsqrt(ref_square - ref_mean ** 2 + self.epsilon),
        (examples - mean) * jax.lax.rsqrt(square - mean ** 2 + self.epsilon)])
    return (normalised * scale + bias).astype(x.dtype)


def make(kind: str, train: bool, axis_name: Optional[str], num_reference: int = 0,
         codes: Optional[jax.Array] = None, name: Optional[str] = None
         ) -> Callable[[jax.Array], jax.Array]:
  """The normalisation `kind` (module docstring) of x [n, ..., C], as a function of x.

  codes: one-hot classes for class-conditional BatchNorm (batch only). num_reference: the
  reference rows at the front of x (virtual_batch only).
  """
  if kind == "batch":
    return layers.batch_norm(train, axis_name, name=name, codes=codes)
  if codes is not None:
    raise ValueError(f"Class-conditional normalisation is BatchNorm's; got {kind!r} (use "
                     "normalization='batch' with generator_conditioning='batch_norm').")
  if kind == "layer":
    return lambda x: nn.LayerNorm(epsilon=EPSILON, reduction_axes=tuple(range(1, x.ndim)),
                                  name=name)(x)
  if kind == "instance":
    return lambda x: nn.GroupNorm(num_groups=None, group_size=1, epsilon=EPSILON,
                                  name=name)(x)
  if kind == "virtual_batch":
    return VirtualBatchNorm(num_reference, name=name)
  if kind == "none":
    return lambda x: x
  raise ValueError(f"normalization={kind!r}; valid: {', '.join(GENERATOR_NORMALIZATIONS)}.")


def reference_latents(num: int, latent_dim: int, dtype=jnp.float32) -> jax.Array:
  """The virtual batch's reference latents [num, latent_dim]: fixed for the whole run (a
  constant of the program, from its own key), standard normal like the training latents."""
  return jax.random.normal(jax.random.PRNGKey(20160610), (num, latent_dim), dtype)
