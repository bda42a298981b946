"""ProGAN's growing networks (Karras et al., 2018, "Progressive Growing of GANs for Improved
Quality, Stability, and Variation", ICLR; official code tkarras/progressive_growing_of_gans,
networks.py `G_paper` / `D_paper`, the "recursive" structure).

Resolutions are 4 * 2^s for stages s = 0 .. last (last = log2(side / 4)). Both modules own
the layers of *every* resolution from initialisation, so a checkpoint never changes shape,
and run those of `stage` only (a static attribute: one compiled program per stage). Images
are always full size: G's output at a low stage is repeated (nearest neighbour) up to the
data's side, and D first averages its input down to its stage, as the official networks do;
so the data, penalties, plug-ins, grids and evaluation see one shape throughout.

  G: z [n, latent] -> pixel norm -> dense 4x4 x nf(1) (gain sqrt(2)/4) -> lrelu, pn ->
       conv3x3 nf(1) -> lrelu, pn                                          (stage 0: 4x4)
     stage s > 0: nearest 2x -> (conv3x3 nf(s+1) -> lrelu -> pn) x 2
     -> to_rgb_s (1x1, gain 1, linear); while fading in (alpha given):
        alpha * to_rgb_s(h_s) + (1 - alpha) * upsample(to_rgb_{s-1}(h_{s-1}))
  D: x [n, side, side, C] -> average down to 4 * 2^stage -> from_rgb_stage (1x1, lrelu)
     stage s > 0: conv3x3 nf(s+1) -> lrelu -> conv3x3 nf(s) -> lrelu -> average 2x; while
        fading in, the top block's output is blended with from_rgb_{s-1}(average 2x of x_s)
     4x4: minibatch stddev (group 4) -> conv3x3 nf(1) -> lrelu -> dense nf(0) -> lrelu ->
        dense 1 (gain 1) -> logits [n]
  nf(i) = min(fmap_base / 2^(i * fmap_decay), fmap_max); LeakyReLU slope 0.2.

Equalised learning rate (section 4.1): every weight is drawn from N(0, 1) and multiplied at
run time by gain / sqrt(fan_in) (He's constant; gain sqrt(2) unless noted), so Adam's
scale-free steps change every layer at the same relative speed; biases start at 0. G's
output is linear, as the official one; `jaxgan.games.progressive` clips samples to [-1, 1].
"""
from __future__ import annotations

import math
from typing import Any, Dict, Optional, Tuple

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from jaxgan.models import resampling
from jaxgan.models.minibatch import MinibatchStddev
from jaxgan.models.resampling import downscale, upscale

SQRT2 = math.sqrt(2.0)
LEAKY_SLOPE = 0.2


# The stage of a side 4 * 2^k (k), or None for a side of another form.
last_stage = resampling.doublings_from_4


def resolution(stage: int) -> int:
  return 4 * 2 ** stage


def feature_maps(index: int, fmap_base: int, fmap_max: int, fmap_decay: float) -> int:
  """nf(index) of the official code: min(fmap_base / 2^(index * fmap_decay), fmap_max)."""
  return min(int(fmap_base / 2.0 ** (index * fmap_decay)), fmap_max)


def _as_float(x: jax.Array) -> jax.Array:
  """x as float32 unless it is floating already (bf16 stays bf16: config.compute_dtype)."""
  return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.float32)


def pixel_norm(x: jax.Array, epsilon: float = 1e-8) -> jax.Array:
  """Pixelwise feature vector normalisation (section 4.2): x / sqrt(mean_c(x^2) + eps)."""
  return x * lax.rsqrt(jnp.mean(jnp.square(x), axis=-1, keepdims=True) + epsilon)


def lerp(old: jax.Array, new: jax.Array, alpha: jax.Array) -> jax.Array:
  """alpha * new + (1 - alpha) * old; exactly `new` at alpha = 1 and `old` at alpha = 0.
  In the images' dtype (a float32 alpha would promote bf16 activations, compute_dtype)."""
  alpha = jnp.asarray(alpha).astype(new.dtype)
  return new * alpha + old * (1.0 - alpha)


class EqualizedDense(nn.Module):
  """Dense layer with equalised learning rate: y = x @ (w * gain / sqrt(fan_in)) + b.

  use_bias False: no bias (G's first layer, whose bias is per channel after the reshape)."""
  features: int
  gain: float = SQRT2
  use_bias: bool = True

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    fan_in = x.shape[-1]
    kernel = self.param("kernel", nn.initializers.normal(1.0), (fan_in, self.features))
    y = x @ (kernel * (self.gain / math.sqrt(fan_in)))
    if self.use_bias:
      y = y + self.param("bias", nn.initializers.zeros, (self.features,))
    return y


class EqualizedConv(nn.Module):
  """k x k convolution ("SAME" padding, stride 1), equalised learning rate: the kernel
  [k, k, C_in, C_out] ~ N(0, 1) is scaled by gain / sqrt(k * k * C_in) at run time."""
  features: int
  kernel_size: int = 3
  gain: float = SQRT2

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    k, fan_in = self.kernel_size, self.kernel_size ** 2 * x.shape[-1]
    kernel = self.param("kernel", nn.initializers.normal(1.0),
                        (k, k, x.shape[-1], self.features))
    bias = self.param("bias", nn.initializers.zeros, (self.features,))
    y = lax.conv_general_dilated(x, kernel * (self.gain / math.sqrt(fan_in)), (1, 1), "SAME",
                                 dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return y + bias


def _activate(x: jax.Array, normalise: bool) -> jax.Array:
  x = nn.leaky_relu(x, LEAKY_SLOPE)
  return pixel_norm(x) if normalise else x


class _Widths(nn.Module):
  """What both networks share: the data's shape, the widths, the stage and the fade."""
  image_shape: Tuple[int, int, int]
  fmap_base: int = 8192
  fmap_max: int = 512
  fmap_decay: float = 1.0
  stage: Optional[int] = None   # the resolution phase run (None: the last, full size)
  alpha: Any = None             # fade-in weight of `stage`'s new layers (None: no fade)

  @property
  def last(self) -> int:
    return last_stage(self.image_shape[0])

  @property
  def current(self) -> int:
    return self.last if self.stage is None else self.stage

  def nf(self, index: int) -> int:
    return feature_maps(index, self.fmap_base, self.fmap_max, self.fmap_decay)

  def fading(self) -> bool:
    return self.alpha is not None and self.current > 0


class ProGANGenerator(_Widths):
  """z [n, latent_dim] -> images [n, H, W, C] (linear output, ~[-1, 1]); see the module
  docstring. normalize_latents: pixel norm of z first (the latent on the unit hypersphere,
  times sqrt(latent_dim)); pixel_norm: after every conv."""
  normalize_latents: bool = True
  use_pixel_norm: bool = True

  @nn.compact
  def __call__(self, z: jax.Array, train: bool = True) -> jax.Array:
    del train  # No layer behaves differently in training.
    stage, norm = self.current, self.use_pixel_norm
    every = self.is_initializing()  # Make every resolution's variables.
    x = _as_float(z)
    if self.normalize_latents:
      x = pixel_norm(x)
    n = x.shape[0]
    # The official gain sqrt(2)/4 ("to match the original Theano implementation"); the bias
    # is per channel of the 4x4 map (apply_bias after the reshape).
    x = EqualizedDense(16 * self.nf(1), gain=SQRT2 / 4, use_bias=False, name="dense_4x4")(x)
    bias = self.param("dense_4x4_bias", nn.initializers.zeros, (self.nf(1),))
    x = _activate(x.reshape(n, 4, 4, self.nf(1)) + bias, norm)
    x = _activate(EqualizedConv(self.nf(1), name="conv_4x4")(x), norm)
    to_rgb = {s: EqualizedConv(self.image_shape[-1], 1, gain=1.0,
                               name=f"to_rgb_{resolution(s)}x{resolution(s)}")
              for s in range(self.last + 1)}
    rgb: Dict[int, jax.Array] = {}
    for s in range(self.last + 1 if every else stage + 1):
      if s > 0:
        side = resolution(s)
        x = upscale(x, 2)
        x = _activate(EqualizedConv(self.nf(s + 1), name=f"conv0_{side}x{side}")(x), norm)
        x = _activate(EqualizedConv(self.nf(s + 1), name=f"conv1_{side}x{side}")(x), norm)
      if every or s == stage or (self.fading() and s == stage - 1):
        rgb[s] = to_rgb[s](x)
    out = rgb[stage]
    if self.fading():
      out = lerp(upscale(rgb[stage - 1], 2), out, self.alpha)
    return upscale(out, 2 ** (self.last - stage))


class ProGANDiscriminator(_Widths):
  """images [n, H, W, C] -> logits [n]; see the module docstring. minibatch_stddev_group:
  the group of the minibatch-stddev channel before the 4x4 block (0: none); it must divide
  the per-device batch."""
  minibatch_stddev_group: int = 4

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True) -> jax.Array:
    del train
    stage = self.current
    from_rgb = {s: EqualizedConv(self.nf(s + 1), 1,
                                 name=f"from_rgb_{resolution(s)}x{resolution(s)}")
                for s in range(self.last + 1)}
    x = _as_float(x)
    if self.is_initializing():  # Every resolution's input layer, so its variables exist.
      for s in range(self.last + 1):
        from_rgb[s](downscale(x, 2 ** (self.last - s)))
    image = downscale(x, 2 ** (self.last - stage))
    h = nn.leaky_relu(from_rgb[stage](image), LEAKY_SLOPE)
    for s in range(stage, 0, -1):
      side = resolution(s)
      h = nn.leaky_relu(EqualizedConv(self.nf(s + 1), name=f"conv0_{side}x{side}")(h),
                        LEAKY_SLOPE)
      h = nn.leaky_relu(EqualizedConv(self.nf(s), name=f"conv1_{side}x{side}")(h),
                        LEAKY_SLOPE)
      h = downscale(h, 2)
      if s == stage and self.fading():
        old = nn.leaky_relu(from_rgb[s - 1](downscale(image, 2)), LEAKY_SLOPE)
        h = lerp(old, h, self.alpha)
    if self.minibatch_stddev_group:
      h = MinibatchStddev(self.minibatch_stddev_group)(h)
    h = nn.leaky_relu(EqualizedConv(self.nf(1), name="conv_4x4")(h), LEAKY_SLOPE)
    h = nn.leaky_relu(EqualizedDense(self.nf(0), name="dense_4x4")(h.reshape(h.shape[0], -1)),
                      LEAKY_SLOPE)
    return EqualizedDense(1, gain=1.0, name="logits")(h)[:, 0]


def is_growing(module: Any) -> bool:
  """True for a module that runs one resolution stage at a time (this file's networks)."""
  return isinstance(module, _Widths)


def check_image_shape(image_shape: Tuple[int, int, int]) -> None:
  """ProGAN makes square images whose side is 4 * 2^k."""
  height, width, _ = image_shape
  if height != width or last_stage(height) is None:
    raise ValueError(f"progan grows from 4x4 by doubling, so it makes square images of side "
                     f"4 * 2^k (4, 8, 16, 32, ...); the dataset's images are "
                     f"{tuple(image_shape)}. For MNIST's 28x28 set "
                     "config.dataset.image_size=32.")
