"""A linear G and a linear D on 2-D points, for gradients derived by hand (test_unrolled).

G(z) = z A + b   (z [n, latent], A [latent, 2], b [2]) as points [n, 1, 1, 2]
D(x) = x w + c   (x flattened [n, 2 m], w [2 m], c scalar): logits [n]
"""
import flax.linen as nn

from jaxgan.models import GanPair


class LinearGenerator(nn.Module):
  @nn.compact
  def __call__(self, z, train):
    a = self.param("A", nn.initializers.normal(0.5), (z.shape[-1], 2))
    b = self.param("b", nn.initializers.normal(0.5), (2,))
    return (z @ a + b).reshape(z.shape[0], 1, 1, 2)


class LinearDiscriminator(nn.Module):
  @nn.compact
  def __call__(self, x, train):
    x = x.reshape(x.shape[0], -1)
    w = self.param("w", nn.initializers.normal(0.5), (x.shape[-1],))
    c = self.param("c", nn.initializers.zeros, ())
    return x @ w + c


def build(*, image_shape, latent_dim, axis_name):
  del image_shape, latent_dim, axis_name
  return GanPair(LinearGenerator(), LinearDiscriminator())
