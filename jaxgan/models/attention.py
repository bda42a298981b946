"""Self-attention over image positions (SAGAN: Zhang et al., 2019, section 3).

x [n, H, W, C] -> x + gamma * o, with N = H*W positions:
  f = x W_f, g = x W_g  ([n, N, C/8] each; 1x1 convolutions), h = x W_h ([n, N, C]);
  beta[i, j] = softmax_i(f_i . g_j)  (how much output position j attends to position i);
  o_j = sum_i beta[i, j] h_i;
  gamma is a learnt scalar that starts at 0, so the block starts as the identity and the
  network learns how much non-local evidence to use.
With `spectral_norm` (as SAGAN does in D), the three 1x1 convolutions are normalised.
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models import layers


class SelfAttention(nn.Module):
  """[n, H, W, C] -> [n, H, W, C]; C must be a multiple of 8."""
  spectral_norm: bool = False

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    n, height, width, channels = x.shape
    if channels % 8:
      raise ValueError(f"self-attention needs channels divisible by 8; got {channels}.")

    def project(features: int, name: str) -> jax.Array:
      conv = nn.Conv(features, (1, 1), use_bias=False, name=name)
      out = layers.maybe_spectral_norm(conv, self.spectral_norm, x, train)
      return out.reshape(n, height * width, features)

    f = project(channels // 8, "f")
    g = project(channels // 8, "g")
    h = project(channels, "h")
    logits = jnp.einsum("nic,njc->nij", f, g)  # [n, N (i), N (j)]
    beta = jax.nn.softmax(logits, axis=1)      # over i, for each output position j
    o = jnp.einsum("nij,nic->njc", beta, h).reshape(x.shape)
    gamma = self.param("gamma", nn.initializers.zeros_init(), ())
    return x + gamma * o
