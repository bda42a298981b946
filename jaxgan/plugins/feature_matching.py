"""Feature matching (Salimans et al., 2016, section 3.1).

G is trained to match the mean of D's intermediate features on real data:
    L_fm = mean_k (E_x[f(x)]_k - E_z[f(G(z))]_k)^2
where f is the layer a discriminator exposes with `jaxgan.models.layers.expose_features`, the
means are over the *global* batch, and mean_k averages the squared difference over the
feature dimension (the paper's ||.||_2^2 divided by the number of features, so that one weight
suits any width).
"""
from __future__ import annotations

import dataclasses
from typing import Optional

import jax
import jax.numpy as jnp
from jax import lax

from jaxgan.core import config_checks as checks
from jaxgan.models import conditional, layers
from jaxgan.plugins.protocol import LossTerm, Plugin, RunFacts
from jaxgan.runtime import parallel


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


@dataclasses.dataclass(frozen=True)
class FeatureMatching(Plugin):
  """G's feature-matching term. Attributes: weight; replace_g_loss: the term replaces G's
  adversarial loss instead of adding to it; model_name: config.model.name (for errors)."""
  weight: float
  replace_g_loss: bool = False
  model_name: str = ""

  section = "feature_matching"
  alternating_only = True  # G's D passes need D's features; a one-pass step has none.
  uses_features = True

  @classmethod
  def from_section(cls, run: RunFacts, *, weight: float, replace_g_loss: bool
                   ) -> Optional["FeatureMatching"]:
    checks.check_non_negative(cls.field("weight"), weight)
    if replace_g_loss and not weight > 0:
      raise checks.ConfigError("config.feature_matching.replace_g_loss needs "
                               "config.feature_matching.weight > 0 (it would leave G no loss).")
    if not weight > 0:
      return None
    return cls(float(weight), bool(replace_g_loss), run.model_name)

  def check_build(self, pair, image_shape):
    """D must expose its features (checked by shape inference)."""
    def features():
      x = jnp.zeros((2, *image_shape))
      labels = conditional.example_kwargs(pair.discriminator, 2)
      variables = pair.discriminator.init(jax.random.key(0), x, train=False, **labels)
      _, collections = pair.discriminator.apply(variables, x, train=False,
                                                mutable=[layers.FEATURES_COLLECTION], **labels)
      return layers.find_features(collections.get(layers.FEATURES_COLLECTION, {}))

    try:
      jax.eval_shape(features)
    except (ValueError, KeyError) as e:
      raise checks.ConfigError(
          f"config.feature_matching needs a discriminator that exposes features; "
          f"config.model.name={self.model_name!r}: {e}") from e

  def loss_terms(self):
    fn = lambda ctx: feature_matching_loss(ctx.real_features, ctx.fake_features, ctx.axis_name)
    return (LossTerm("g", "g_feature_matching", self.weight, fn,
                     replaces_loss=self.replace_g_loss),)
