"""Feature matching (Salimans et al., 2016, section 3.1).

G is trained to match the mean of D's intermediate features on real data:
    L_fm = mean_k (E_x[f(x)]_k - E_z[f(G(z))]_k)^2
where f is the layer a discriminator exposes with `jaxgan.models.layers.expose_features`, the
means are over the *global* batch, and mean_k averages the squared difference over the
feature dimension (the paper's ||.||_2^2 divided by the number of features, so that one weight
suits any width).
"""
from __future__ import annotations

from typing import Optional

import jax
import jax.numpy as jnp
from jax import lax

from jaxgan import parallel


def batch_mean(features: jax.Array, axis_name: Optional[str]) -> jax.Array:
  """Mean over the global batch of features [n, ...] -> [...]."""
  mean = jnp.mean(features.astype(jnp.float32), axis=0)
  return parallel.device_mean(mean, axis_name)


def feature_matching_loss(real_features: jax.Array, fake_features: jax.Array,
                          axis_name: Optional[str]) -> jax.Array:
  """The scalar L_fm between real [n, ...] and fake [n, ...] features (real: no gradient).

  Differentiating through the pmean is exact: every device computes the same global value,
  and the pmean of the devices' gradients is that value's gradient (tested on 1/2/4 devices).
  """
  real_mean = lax.stop_gradient(batch_mean(real_features, axis_name))
  return jnp.mean(jnp.square(real_mean - batch_mean(fake_features, axis_name)))
