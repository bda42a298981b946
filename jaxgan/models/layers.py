"""Building blocks shared by the model families.

Randomness in jaxgan is per *example*, never per device: a layer draws its random numbers for
row i of a batch from (its rng, the row's index in the global batch). So the same global batch
trains the same way on 1, 2 or 256 devices. Inside `pmap`, the global index of a device's row
i is `axis_index * rows_per_device + i`, which is why these layers take the pmap axis name.
"""
from __future__ import annotations

from typing import Callable, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxgan.runtime import parallel


def global_example_ids(n: int, axis_name: Optional[str]) -> jax.Array:
  """Indices [n] of this device's rows within the global batch (devices hold equal slices)."""
  offset = lax.axis_index(axis_name) * n if axis_name else 0
  return offset + jnp.arange(n)


def per_example_keys(key: jax.Array, n: int, axis_name: Optional[str]) -> jax.Array:
  """One PRNG key per row, [n] keys: fold_in(key, global row index)."""
  ids = global_example_ids(n, axis_name)
  return jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, ids)


class ExampleDropout(nn.Module):
  """Inverted dropout whose mask for a row depends on (rng, global row index) only.

  Same maths as `flax.linen.Dropout` (keep with probability 1 - rate, scale kept units by
  1 / (1 - rate)), but the mask does not change when the batch is spread over more devices.
  The kept units are multiplied by 1 / (1 - rate) rounded once to float32, not divided by
  1 - rate: the same product in every program, compiled or eager. (A division by a constant
  is what XLA rewrites into this multiplication when it compiles, so training steps compute
  what they did; an eager division, where jax >= 0.12.1 passes the rate as an operand, is
  1 ulp away for some units.)

  Attributes:
    rate: probability of zeroing a unit.
    axis_name: the pmap axis the batch is split over, or None outside pmap.
  """
  rate: float
  axis_name: Optional[str] = None

  @nn.compact
  def __call__(self, x: jax.Array, deterministic: bool) -> jax.Array:
    if deterministic or self.rate == 0.0:
      return x
    keep_prob = 1.0 - self.rate
    keys = per_example_keys(self.make_rng("dropout"), x.shape[0], self.axis_name)
    keep = jax.vmap(lambda k: jax.random.bernoulli(k, keep_prob, x.shape[1:]))(keys)
    # A Python float (weakly typed: x keeps its dtype) holding the float32 reciprocal.
    scale = float(np.float32(1.0) / np.float32(keep_prob))
    return jnp.where(keep, x * scale, jnp.zeros_like(x))


def batch_norm(train: bool, axis_name: Optional[str], name: Optional[str] = None,
               momentum: float = 0.99, epsilon: float = 1e-3,
               codes: Optional[jax.Array] = None) -> Callable[[jax.Array], jax.Array]:
  """BatchNorm with statistics over the *global* batch (synchronised across `axis_name`).

  Synchronised statistics are what make a step on 4 devices equal the same step on 1.
  The defaults (momentum 0.99, epsilon 1e-3) are Keras', as in the TensorFlow DCGAN tutorial.
  With class `codes` (one-hot [n, num_classes]) it is a ConditionalBatchNorm: the same
  normalisation, with a scale and offset per class.
  """
  # Statistics are synchronised in training only, and only over more than one device (an
  # all-reduce over one device is a copy that holds back what follows: parallel.device_mean).
  synced = axis_name if train and not parallel.one_device_axis(axis_name) else None
  if codes is not None:
    cbn = ConditionalBatchNorm(use_running_average=not train, momentum=momentum,
                               epsilon=epsilon, axis_name=synced, name=name)
    return lambda x: cbn(x, codes)
  return nn.BatchNorm(use_running_average=not train, momentum=momentum, epsilon=epsilon,
                      axis_name=synced, name=name)


class ConditionalBatchNorm(nn.Module):
  """Class-conditional BatchNorm (de Vries et al., 2017; Miyato & Koyama, 2018).

  x [n, ..., C] is normalised with the batch's statistics (as nn.BatchNorm, without its own
  scale and offset), then row i is scaled by gain[y_i] and shifted by bias[y_i]: per-class
  [num_classes, C] tables, read as one-hot codes [n, num_classes] times the table, so rows
  with mixed codes would blend classes. The gains start at 1 and the biases at 0, so a fresh
  layer equals plain BatchNorm.
  """
  use_running_average: bool
  momentum: float = 0.99
  epsilon: float = 1e-3
  axis_name: Optional[str] = None

  @nn.compact
  def __call__(self, x: jax.Array, codes: jax.Array) -> jax.Array:
    x = nn.BatchNorm(use_running_average=self.use_running_average, momentum=self.momentum,
                     epsilon=self.epsilon, axis_name=self.axis_name, use_scale=False,
                     use_bias=False)(x)
    channels = x.shape[-1]
    zeros = nn.initializers.zeros
    codes = codes.astype(x.dtype)  # float32 one-hots would promote a bf16 layer to float32.
    gain = 1.0 + nn.Dense(channels, use_bias=False, kernel_init=zeros, name="gain")(codes)
    bias = nn.Dense(channels, use_bias=False, kernel_init=zeros, name="bias")(codes)
    shape = (x.shape[0],) + (1,) * (x.ndim - 2) + (channels,)
    return x * gain.reshape(shape) + bias.reshape(shape)


FEATURES_COLLECTION, FEATURES_NAME = "intermediates", "features"


def expose_features(module: nn.Module, features: jax.Array) -> None:
  """Records a discriminator's penultimate features [n, ...] for feature matching.

  The train step reads them by applying D with mutable=["intermediates"]; a D that never calls
  this cannot be used with config.feature_matching (checked at start-up).
  """
  module.sow(FEATURES_COLLECTION, FEATURES_NAME, features)


class SpectralNorm(nn.SpectralNorm):  # The same class name: parameter paths unchanged.
  """flax's SpectralNorm, handing the layer its normalised kernel in the kernel's own dtype.

  The power iteration runs in float32 (its vector u is float32 state), which would promote a
  bfloat16 kernel (config.compute_dtype) and with it the whole layer to float32."""

  def _spectral_normalize(self, path, vs, update_stats):
    normalised = super()._spectral_normalize(path, vs, update_stats)
    return normalised.astype(jnp.asarray(vs).dtype)


def maybe_spectral_norm(layer: nn.Module, enabled: bool, x: jax.Array, train: bool
                        ) -> jax.Array:
  """Applies `layer` to x, with its kernel spectrally normalised when `enabled`.

  Spectral normalisation (Miyato et al., 2018) divides the kernel by an estimate of its largest
  singular value from one power iteration per training call; the power-iteration vector u is
  state in the "batch_stats" collection, so it lives in D's TrainState.model_state, is saved
  in checkpoints and is advanced only in D's own updates (train=True).
  """
  if not enabled:
    return layer(x)
  return SpectralNorm(layer)(x, update_stats=train)


def spectral_norm_wrapper(enabled: bool, train: bool
                          ) -> Callable[[nn.Module, jax.Array], jax.Array]:
  """`wrap(layer, x)` = maybe_spectral_norm(layer, enabled, x, train): for building blocks
  (`jaxgan.models.resampling.Downsample`) that make the layer themselves."""
  return lambda layer, x: maybe_spectral_norm(layer, enabled, x, train)


def find_features(intermediates) -> jax.Array:
  """The features a D exposed with `expose_features`, from its "intermediates" collection.

  Raises:
    ValueError: the discriminator exposes none, or more than one.
  """
  found = [leaf for path, leaf in jax.tree_util.tree_flatten_with_path(
      intermediates, is_leaf=lambda x: isinstance(x, tuple))[0]
           if FEATURES_NAME in jax.tree_util.keystr(path)]
  if len(found) != 1:
    raise ValueError(f"the discriminator exposes {len(found)} feature layers (expected 1: call "
                     "jaxgan.models.layers.expose_features once in its __call__).")
  return found[0][0]
