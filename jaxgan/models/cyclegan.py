"""CycleGAN's networks (Zhu et al., 2017), after junyanz/pytorch-CycleGAN-and-pix2pix
`models/networks.py`: the ResNet generator, the U-Net generator and the PatchGAN
discriminator, with instance normalisation without affine parameters and N(0, 0.02) weights.

All three are image -> image: G maps [n, H, W, C] to [n, H, W, C_out] in [-1, 1] (tanh);
D maps [n, H, W, C] to patch logits [n, h, w], one per overlapping patch of the input (the
70x70 PatchGAN for n_layers=3). They are built as a `TranslationPair` (jaxgan.models), which
the cyclegan game applies twice each (A->B and B->A, D_A and D_B).

Where this departs from the reference (the functions are the same):
  * `ConvTranspose2d(k=3, s=2, padding=1, output_padding=1)` becomes flax's `ConvTranspose`
    with explicit padding ((1, 2), (1, 2)) on the stride-dilated input, the same output size
    2H and the same function class (flax does not flip the kernel: a re-parameterisation);
  * the reference's `InstanceNorm2d(affine=False, track_running_stats=False)` is `instance_norm`
    below (biased variance, eps 1e-5): no parameters and no running statistics, the same in
    train and eval mode.
"""
from __future__ import annotations

from typing import Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models import layers

WEIGHT_INIT = nn.initializers.normal(0.02)  # networks.init_weights(init_type="normal", 0.02)
INSTANCE_NORM_EPS = 1e-5  # torch.nn.InstanceNorm2d's default


def instance_norm(x: jax.Array, eps: float = INSTANCE_NORM_EPS) -> jax.Array:
  """Each sample's channels to zero mean, unit variance over H, W. x: [n, H, W, C]."""
  mean = jnp.mean(x, axis=(1, 2), keepdims=True)
  var = jnp.mean(jnp.square(x - mean), axis=(1, 2), keepdims=True)
  return (x - mean) * jax.lax.rsqrt(var + eps)


def reflect_pad(x: jax.Array, pad: int) -> jax.Array:
  """nn.ReflectionPad2d(pad) on [n, H, W, C] (the edge pixel is not repeated)."""
  return jnp.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")


def _conv(features: int, kernel: int, stride: int = 1, padding="VALID", name=None) -> nn.Conv:
  return nn.Conv(features, (kernel, kernel), (stride, stride), padding=padding,
                 kernel_init=WEIGHT_INIT, bias_init=nn.initializers.zeros, name=name)


def _conv_up(features: int, kernel: int, padding: int, output_padding: int,
             name=None) -> nn.ConvTranspose:
  """ConvTranspose2d(kernel, stride 2, padding, output_padding): flax's transposed
  convolution pads the stride-dilated input by kernel - 1 - padding below and that plus
  output_padding above (H -> 2H for the reference's (3, 1, 1) and (4, 1, 0))."""
  low = kernel - 1 - padding
  return nn.ConvTranspose(features, (kernel, kernel), (2, 2),
                          padding=((low, low + output_padding), (low, low + output_padding)),
                          kernel_init=WEIGHT_INIT, bias_init=nn.initializers.zeros, name=name)


class ResnetBlock(nn.Module):
  """x + [reflect 1, conv 3x3, IN, ReLU, (dropout 0.5), reflect 1, conv 3x3, IN](x)."""
  features: int
  dropout: bool = False
  axis_name: Optional[str] = None

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    y = nn.relu(instance_norm(_conv(self.features, 3)(reflect_pad(x, 1))))
    if self.dropout:
      y = layers.ExampleDropout(0.5, self.axis_name)(y, deterministic=not train)
    y = instance_norm(_conv(self.features, 3)(reflect_pad(y, 1)))
    return x + y


class ResnetGenerator(nn.Module):
  """c7s1-ngf, d(2 ngf), d(4 ngf), n_blocks x R(4 ngf), u(2 ngf), u(ngf), c7s1-channels, tanh
  (the paper's appendix 7.2; networks.ResnetGenerator). H and W must be multiples of 4.

  Attributes:
    channels: output channels. ngf: the first layer's width. n_blocks: residual blocks (6 for
    128 px, 9 for 256 px in the paper). dropout: dropout 0.5 in the blocks (off by default).
  """
  channels: int
  ngf: int = 64
  n_blocks: int = 9
  dropout: bool = False
  axis_name: Optional[str] = None

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True) -> jax.Array:
    x = nn.relu(instance_norm(_conv(self.ngf, 7)(reflect_pad(x, 3))))
    for i in range(2):  # Downsampling: zero padding 1, as Conv2d(padding=1).
      x = nn.relu(instance_norm(_conv(self.ngf * 2 ** (i + 1), 3, 2, ((1, 1), (1, 1)))(x)))
    for _ in range(self.n_blocks):
      x = ResnetBlock(self.ngf * 4, self.dropout, self.axis_name)(x, train)
    for i in range(2):
      x = nn.relu(instance_norm(_conv_up(self.ngf * 2 ** (1 - i), 3, 1, 1)(x)))
    return jnp.tanh(_conv(self.channels, 7)(reflect_pad(x, 3)))


class UnetGenerator(nn.Module):
  """The U-Net generator (networks.UnetGenerator / UnetSkipConnectionBlock): `num_downs`
  stride-2 4x4 convolutions down to 1x1 for an image of side 2**num_downs, the same number of
  transposed ones up, each level's input joined to its output (skip connections).

  Widths from the outside in: ngf, 2 ngf, 4 ngf, then 8 ngf for the remaining levels
  (dropout 0.5 on the up path of the 8 ngf levels below the innermost, when `dropout`).
  Down: LeakyReLU(0.2) (not before the first conv), conv, IN (not at the outermost and
  innermost); up: ReLU, transposed conv, IN (not at the outermost, which ends in tanh).
  """
  channels: int
  num_downs: int = 8
  ngf: int = 64
  dropout: bool = False
  axis_name: Optional[str] = None

  def _widths(self):
    """(outer width, inner width) per level, outermost first."""
    inner = [self.ngf * min(2 ** i, 8) for i in range(self.num_downs)]
    return [(inner[i - 1] if i else None, inner[i]) for i in range(self.num_downs)]

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True) -> jax.Array:
    if self.num_downs < 5:
      raise ValueError(f"UnetGenerator needs num_downs >= 5 (the reference's structure); got "
                       f"{self.num_downs}.")
    side = 2 ** self.num_downs
    if x.shape[1] % side or x.shape[2] % side:
      raise ValueError(f"UnetGenerator with num_downs={self.num_downs} needs H and W "
                       f"multiples of {side}; got {x.shape[1:3]}.")
    levels = self._widths()
    skips = []
    for i, (_, inner) in enumerate(levels):
      if i:
        x = nn.leaky_relu(x, 0.2)
      x = _conv(inner, 4, 2, ((1, 1), (1, 1)), name=f"down_{i}")(x)
      if 0 < i < self.num_downs - 1:
        x = instance_norm(x)
      skips.append(x)
    for i in reversed(range(self.num_downs)):
      outer = levels[i][0] if i else self.channels
      if i < self.num_downs - 1:  # Every level but the innermost gets its inner's output
        x = jnp.concatenate([skips[i], x], axis=-1)  # joined to what it sent down.
      x = _conv_up(outer, 4, 1, 0, name=f"up_{i}")(nn.relu(x))
      if i == 0:
        return jnp.tanh(x)
      x = instance_norm(x)
      if self.dropout and 0 < i < self.num_downs - 1 and i >= 4:
        x = layers.ExampleDropout(0.5, self.axis_name)(x, deterministic=not train)
    raise AssertionError("unreachable")


class PatchDiscriminator(nn.Module):
  """The PatchGAN discriminator (networks.NLayerDiscriminator): n_layers stride-2 4x4
  convolutions (widths ndf, 2 ndf, ... capped at 8 ndf; no norm on the first), a stride-1 4x4
  convolution (IN), then a stride-1 4x4 convolution to one logit per patch; LeakyReLU(0.2);
  zero padding 1. Receptive field 70x70 for n_layers=3 (34 for 2, 16 for 1).

  Returns logits [n, h, w] (for 256 px and n_layers=3: [n, 30, 30]).
  """
  ndf: int = 64
  n_layers: int = 3
  axis_name: Optional[str] = None

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True) -> jax.Array:
    del train  # No dropout, no running statistics.
    pad = ((1, 1), (1, 1))
    x = nn.leaky_relu(_conv(self.ndf, 4, 2, pad)(x), 0.2)
    for n in range(1, self.n_layers):
      x = nn.leaky_relu(instance_norm(_conv(self.ndf * min(2 ** n, 8), 4, 2, pad)(x)), 0.2)
    x = nn.leaky_relu(instance_norm(_conv(self.ndf * min(2 ** self.n_layers, 8), 4, 1, pad)(x)),
                      0.2)
    return _conv(1, 4, 1, pad)(x)[..., 0]


def receptive_field(n_layers: int) -> int:
  """The side of the input patch one PatchGAN logit sees (70 for n_layers=3)."""
  field = 1
  for stride in reversed([2] * n_layers + [1, 1]):  # Every layer is a 4x4 kernel.
    field = (field - 1) * stride + 4
  return field
