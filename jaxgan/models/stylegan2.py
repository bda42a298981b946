"""StyleGAN2's networks in Flax (Karras et al., 2020, "Analyzing and Improving the Image
Quality of StyleGAN", CVPR), after NVlabs/stylegan2-ada-pytorch, training/networks.py (cited
by class below), in NHWC and plain XLA (jaxgan.models.upfirdn for the FIR resampling).

Generator (architecture "skip"):
  z [n, z_dim] -> MappingNetwork -> ws [n, num_ws, w_dim]
    normalise z's second moment; (class-conditional: embed the one-hot label, normalise it,
    concatenate); num_layers FullyConnected + lrelu, learning-rate multiplier 0.01; a tracked
    average of w (collection "w_avg", beta 0.995, over the global batch) for truncation.
  ws -> SynthesisNetwork -> images [n, R, R, C] (linear; not clipped, as the official G)
    a learned constant [4, 4, ch(4)]; per resolution r = 4, 8, ..., R a block of
    (up 2x) modulated 3x3 conv -> + noise * strength -> + bias -> lrelu * sqrt(2), twice (once
    at 4x4), and a toRGB (modulated 1x1, no demodulation) added to the FIR-upsampled image of
    the block before: the skip architecture. Block r reads ws[:, i : i + num_conv + 1] and
    the next block starts at i + num_conv: a toRGB shares its w with the next block's first
    conv; num_ws = 2 * log2(R) - 2.
Discriminator (architecture "resnet"):
  x -> fromRGB (1x1, lrelu) at R; per resolution r = R .. 8 a residual block
    (conv3x3 lrelu -> conv3x3 down 2x lrelu * sqrt(1/2)) + (FIR down 2x, 1x1, no bias) *
    sqrt(1/2); at 4x4 the epilogue: minibatch stddev (groups of 4 strided over the batch,
    1 channel) -> conv3x3 lrelu -> dense ch(4) lrelu -> dense 1 (or, conditional, the
    projection <out, cmap> / sqrt(cmap_dim) with cmap from a label mapping network).
Channels ch(r) = min(channel_base // r, channel_max). Every layer has the equalised learning
rate: weights ~ N(0, 1) / lr_multiplier, multiplied by lr_multiplier / sqrt(fan_in) at run
time; biases multiplied by lr_multiplier.

Noise inputs: "random" (per row from the "dropout" rng and the row's global index, so the
draws do not depend on the device layout), "const" (a fixed per-layer image drawn at
initialisation, collection "noise_const") or "none". `noise_mode=None` means "random" when a
"dropout" rng is given (training) and "const" otherwise (sampling without an rng, as the
official generate.py's default).

Departures: correlation for every convolution (jaxgan.models.upfirdn); the flatten before
D's dense layer is in HWC order; modulation is unfused by default (the official training
path; `fused_modconv=True` is the grouped form, tested equal).
"""
from __future__ import annotations

import math
from typing import ClassVar, Optional, Sequence, Tuple

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from jaxgan.models import layers, upfirdn

SQRT2 = math.sqrt(2.0)
SQRT_HALF = math.sqrt(0.5)
LEAKY_SLOPE = 0.2
NOISE_MODES = ("random", "const", "none")
W_AVG = "w_avg"              # the mapping network's tracked average of w (collection)
NOISE_CONST = "noise_const"  # the synthesis layers' constant noise images (collection)


def normalize_2nd_moment(x: jax.Array, epsilon: float = 1e-8) -> jax.Array:
  """x / sqrt(mean(x^2) + eps) over the last axis (`normalize_2nd_moment`)."""
  return x * lax.rsqrt(jnp.mean(jnp.square(x), axis=-1, keepdims=True) + epsilon)


def bias_act(x: jax.Array, bias: Optional[jax.Array], activation: str = "lrelu",
             gain: float = 1.0, clamp: Optional[float] = None) -> jax.Array:
  """x + bias, then LeakyReLU(0.2) * sqrt(2) (activation "lrelu") or nothing ("linear"),
  times `gain`, clamped to [-clamp, clamp] when given (torch_utils/ops/bias_act.py)."""
  if bias is not None:
    x = x + bias.astype(x.dtype)
  if activation == "lrelu":
    x = nn.leaky_relu(x, LEAKY_SLOPE) * SQRT2
  elif activation != "linear":
    raise ValueError(f"activation {activation!r}; valid: lrelu, linear.")
  if gain != 1.0:
    x = x * gain
  if clamp is not None:
    x = jnp.clip(x, -clamp, clamp)
  return x


def _check_noise_mode(noise_mode: str) -> None:
  if noise_mode not in NOISE_MODES:
    raise ValueError(f"noise_mode={noise_mode!r}; valid: {', '.join(NOISE_MODES)}.")


class FullyConnected(nn.Module):
  """`FullyConnectedLayer`: y = act(x @ (W * lr_multiplier / sqrt(fan_in)) + b * lr_multiplier),
  W ~ N(0, 1) / lr_multiplier, b initially bias_init."""
  features: int
  activation: str = "linear"
  lr_multiplier: float = 1.0
  bias_init: float = 0.0

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    fan_in = x.shape[-1]
    weight = self.param("kernel", nn.initializers.normal(1.0 / self.lr_multiplier),
                        (fan_in, self.features))
    bias = self.param("bias", nn.initializers.constant(self.bias_init), (self.features,))
    y = x @ (weight * (self.lr_multiplier / math.sqrt(fan_in))).astype(x.dtype)
    return bias_act(y, bias * self.lr_multiplier, self.activation)


class Conv2dLayer(nn.Module):
  """`Conv2dLayer` of D: k x k convolution (resample None or "down": 2x, FIR-filtered first),
  equalised learning rate, + bias, activation with its gain times `gain`."""
  features: int
  kernel_size: int = 3
  activation: str = "lrelu"
  down: bool = False
  use_bias: bool = True
  taps: Tuple[float, ...] = upfirdn.STYLEGAN2_TAPS
  conv_clamp: Optional[float] = None

  @nn.compact
  def __call__(self, x: jax.Array, gain: float = 1.0) -> jax.Array:
    k, c = self.kernel_size, x.shape[-1]
    weight = self.param("kernel", nn.initializers.normal(1.0), (k, k, c, self.features))
    kernel = (weight * (1.0 / math.sqrt(c * k * k))).astype(x.dtype)
    if self.down:
      x = upfirdn.conv_down(x, kernel, upfirdn.setup_filter(self.taps))
    else:
      x = upfirdn.conv(x, kernel)
    bias = self.param("bias", nn.initializers.zeros, (self.features,)) if self.use_bias else None
    clamp = None if self.conv_clamp is None else self.conv_clamp * gain
    return bias_act(x, bias, self.activation, gain, clamp)


def modulated_conv2d(x: jax.Array, weight: jax.Array, styles: jax.Array,
                     noise: Optional[jax.Array] = None, up: bool = False,
                     taps: Sequence[float] = upfirdn.STYLEGAN2_TAPS, demodulate: bool = True,
                     fused: bool = False) -> jax.Array:
  """StyleGAN2's modulated convolution (`modulated_conv2d`).

  x [n, H, W, I]; weight [k, k, I, O]; styles [n, I]; noise [n, H', W', 1] or None.
  Per sample, w'_ijk = s_i * w_ijk and, demodulated, w''_ijk = w'_ijk / sqrt(sum_ik w'^2 + 1e-8)
  (i input channel, j output channel, k tap), so unit-variance inputs give unit-variance
  outputs. Unfused (the official training path): x * s -> conv with the shared weight ->
  * demodulation coefficients (+ noise). Fused: one grouped convolution with the per-sample
  weights (n groups). `up`: the convolution runs at 2x the input's resolution.
  Returns [n, H', W', O] (H' = 2H when up, else H).
  """
  n, _, _, in_ch = x.shape
  k, out_ch = weight.shape[0], weight.shape[-1]
  weight = weight.astype(x.dtype)
  styles = styles.astype(x.dtype)
  if x.dtype != jnp.float32 and demodulate:
    # Scale-free under demodulation; keeps the products in range (as the official FP16 path).
    weight = weight * (1.0 / math.sqrt(in_ch * k * k)) / jnp.max(
        jnp.abs(weight), axis=(0, 1, 2), keepdims=True)
    styles = styles / jnp.max(jnp.abs(styles), axis=1, keepdims=True)
  w = weight[None] * styles[:, None, None, :, None]                       # [n, k, k, I, O]
  dcoefs = lax.rsqrt(jnp.sum(jnp.square(w.astype(jnp.float32)), axis=(1, 2, 3)) + 1e-8)
  dcoefs = dcoefs.astype(x.dtype)                                        # [n, O]
  f = upfirdn.setup_filter(taps)
  if not fused:
    x = x * styles[:, None, None, :]
    x = upfirdn.conv_up(x, weight, f) if up else upfirdn.conv(x, weight)
    if demodulate:
      x = x * dcoefs[:, None, None, :]
  else:
    if demodulate:
      w = w * dcoefs[:, None, None, None, :]
    grouped = jnp.transpose(w, (1, 2, 3, 0, 4)).reshape(k, k, in_ch, n * out_ch)
    xs = jnp.transpose(x, (1, 2, 0, 3)).reshape(1, *x.shape[1:3], n * in_ch)
    y = upfirdn.conv_up(xs, grouped, f, groups=n) if up else upfirdn.conv(xs, grouped, groups=n)
    x = jnp.transpose(y.reshape(*y.shape[1:3], n, out_ch), (2, 0, 1, 3))
  if noise is not None:
    x = x + noise.astype(x.dtype)
  return x


class MappingNetwork(nn.Module):
  """`MappingNetwork`: (z [n, z_dim] or None, one-hot codes [n, classes] or None) ->
  ws [n, num_ws, w_dim] (num_ws None: w [n, w_dim], D's label mapping).

  In training (`update_w_avg`), w_avg <- mean_batch(w) + beta * (w_avg - mean_batch(w)), the
  mean over the global batch (pmean over axis_name). Truncation: ws[:, :cutoff] <-
  w_avg + psi * (ws[:, :cutoff] - w_avg) (cutoff None: every layer); psi = 1 leaves ws.
  """
  w_dim: int
  num_ws: Optional[int]
  num_layers: int = 8
  lr_multiplier: float = 0.01
  w_avg_beta: Optional[float] = 0.995
  embed_features: Optional[int] = None
  layer_features: Optional[int] = None
  axis_name: Optional[str] = None

  @nn.compact
  def __call__(self, z: Optional[jax.Array], codes: Optional[jax.Array] = None,
               update_w_avg: bool = False, truncation_psi: float = 1.0,
               truncation_cutoff: Optional[int] = None) -> jax.Array:
    parts = []
    # z's dtype is the compute dtype (bf16 stays bf16: config.compute_dtype); labels follow it.
    dtype = z.dtype if z is not None and jnp.issubdtype(z.dtype, jnp.floating) else jnp.float32
    if z is not None:
      parts.append(normalize_2nd_moment(z.astype(dtype)))
    if codes is not None:
      embedded = FullyConnected(self.embed_features or self.w_dim, name="embed")(
          codes.astype(dtype))
      parts.append(normalize_2nd_moment(embedded))
    x = jnp.concatenate(parts, axis=-1) if len(parts) > 1 else parts[0]
    for i in range(self.num_layers):
      features = self.w_dim if i == self.num_layers - 1 else (self.layer_features or self.w_dim)
      x = FullyConnected(features, "lrelu", self.lr_multiplier, name=f"fc{i}")(x)
    if self.num_ws is None:
      return x
    tracked = self.w_avg_beta is not None
    if tracked:
      w_avg = self.variable(W_AVG, W_AVG, lambda: jnp.zeros((self.w_dim,), jnp.float32))
      if update_w_avg and not self.is_initializing():
        batch_mean = jnp.mean(lax.stop_gradient(x).astype(jnp.float32), axis=0)
        if self.axis_name is not None:
          batch_mean = lax.pmean(batch_mean, self.axis_name)
        w_avg.value = batch_mean + self.w_avg_beta * (w_avg.value - batch_mean)
    ws = jnp.broadcast_to(x[:, None, :], (x.shape[0], self.num_ws, x.shape[-1]))
    if truncation_psi != 1.0:
      if not tracked:
        raise ValueError("truncation needs the tracked w_avg (w_avg_beta is None).")
      cutoff = self.num_ws if truncation_cutoff is None else truncation_cutoff
      avg = w_avg.value.astype(ws.dtype)
      truncated = avg + truncation_psi * (ws - avg)
      ws = jnp.where((jnp.arange(self.num_ws) < cutoff)[None, :, None], truncated, ws)
    return ws


class SynthesisLayer(nn.Module):
  """`SynthesisLayer`: style from w by an affine layer (bias 1), modulated + demodulated
  k x k conv (2x up when `up`), noise * learned strength (initially 0), bias, lrelu."""
  features: int
  resolution: int
  up: bool = False
  kernel_size: int = 3
  use_noise: bool = True
  taps: Tuple[float, ...] = upfirdn.STYLEGAN2_TAPS
  conv_clamp: Optional[float] = None
  fused_modconv: bool = False
  axis_name: Optional[str] = None

  @nn.compact
  def __call__(self, x: jax.Array, w: jax.Array, noise_mode: str, gain: float = 1.0
               ) -> jax.Array:
    n, in_ch = x.shape[0], x.shape[-1]
    k, r = self.kernel_size, self.resolution
    styles = FullyConnected(in_ch, bias_init=1.0, name="affine")(w)
    weight = self.param("weight", nn.initializers.normal(1.0), (k, k, in_ch, self.features))
    noise = None
    if self.use_noise:
      strength = self.param("noise_strength", nn.initializers.zeros, ())
      const = self.variable(NOISE_CONST, "noise", lambda: jax.random.normal(
          self.make_rng("params"), (r, r, 1), jnp.float32))
      if noise_mode == "random":
        keys = layers.per_example_keys(self.make_rng("dropout"), n, self.axis_name)
        noise = jax.vmap(lambda key: jax.random.normal(key, (r, r, 1)))(keys) * strength
      elif noise_mode == "const":
        noise = jnp.broadcast_to(const.value * strength, (n, r, r, 1))
    x = modulated_conv2d(x, weight, styles, noise, self.up, self.taps,
                         fused=self.fused_modconv)
    bias = self.param("bias", nn.initializers.zeros, (self.features,))
    clamp = None if self.conv_clamp is None else self.conv_clamp * gain
    return bias_act(x, bias, "lrelu", gain, clamp)


class ToRGB(nn.Module):
  """`ToRGBLayer`: modulated 1x1 conv without demodulation (styles * 1/sqrt(fan_in)), bias."""
  channels: int
  conv_clamp: Optional[float] = None
  fused_modconv: bool = False

  @nn.compact
  def __call__(self, x: jax.Array, w: jax.Array) -> jax.Array:
    in_ch = x.shape[-1]
    styles = FullyConnected(in_ch, bias_init=1.0, name="affine")(w) * (1.0 / math.sqrt(in_ch))
    weight = self.param("weight", nn.initializers.normal(1.0), (1, 1, in_ch, self.channels))
    x = modulated_conv2d(x, weight, styles, demodulate=False, fused=self.fused_modconv)
    bias = self.param("bias", nn.initializers.zeros, (self.channels,))
    return bias_act(x, bias, "linear", clamp=self.conv_clamp)


def channels_at(resolution: int, channel_base: int, channel_max: int) -> int:
  """ch(r) = min(channel_base // r, channel_max) (`channels_dict`)."""
  return min(channel_base // resolution, channel_max)


def block_resolutions(resolution: int) -> Tuple[int, ...]:
  """4, 8, ..., resolution (a power of two >= 4, else ValueError)."""
  if resolution < 4 or resolution & (resolution - 1):
    raise ValueError(f"StyleGAN2 makes square images of a power-of-two side >= 4; got "
                     f"{resolution}.")
  return tuple(2 ** i for i in range(2, int(math.log2(resolution)) + 1))


def num_ws(resolution: int) -> int:
  """The number of w vectors the synthesis network reads: 2 log2(R) - 2."""
  return 2 * len(block_resolutions(resolution))


class SynthesisNetwork(nn.Module):
  """`SynthesisNetwork` (skip architecture): ws [n, num_ws, w_dim] -> images [n, R, R, C]."""
  resolution: int
  channels: int
  channel_base: int = 32768
  channel_max: int = 512
  taps: Tuple[float, ...] = upfirdn.STYLEGAN2_TAPS
  conv_clamp: Optional[float] = None
  fused_modconv: bool = False
  axis_name: Optional[str] = None

  @nn.compact
  def __call__(self, ws: jax.Array, noise_mode: str) -> jax.Array:
    _check_noise_mode(noise_mode)
    f = upfirdn.setup_filter(self.taps)
    layer = dict(taps=self.taps, conv_clamp=self.conv_clamp, fused_modconv=self.fused_modconv,
                 axis_name=self.axis_name)
    x = img = None
    w_index = 0
    for r in block_resolutions(self.resolution):
      ch = channels_at(r, self.channel_base, self.channel_max)
      if x is None:
        const = self.param("const", nn.initializers.normal(1.0), (4, 4, ch))
        x = jnp.broadcast_to(const, (ws.shape[0], 4, 4, ch)).astype(ws.dtype)
        x = SynthesisLayer(ch, r, name=f"b{r}_conv1", **layer)(x, ws[:, w_index], noise_mode)
        w_index += 1
      else:
        x = SynthesisLayer(ch, r, up=True, name=f"b{r}_conv0", **layer)(
            x, ws[:, w_index], noise_mode)
        x = SynthesisLayer(ch, r, name=f"b{r}_conv1", **layer)(x, ws[:, w_index + 1],
                                                                noise_mode)
        w_index += 2
      y = ToRGB(self.channels, self.conv_clamp, self.fused_modconv, name=f"b{r}_torgb")(
          x, ws[:, w_index])
      img = y.astype(jnp.float32) if img is None else upfirdn.upsample2d(img, f) + y
    return img


class StyleGAN2Generator(nn.Module):
  """`Generator`: z [n, z_dim] (codes [n, classes] when conditional) -> images [n, R, R, C].

  `truncation_psi`, `truncation_cutoff` and `noise_mode` are sampling options; G's training
  call (train=True) updates w_avg. `mapping` and `synthesis` are reachable on their own
  (G.apply(variables, z, method="map"), method="synthesize") for style mixing, path-length
  regularisation and projection into W.
  """
  CODES_USE: ClassVar[str] = "mapping"  # jaxgan.models.conditional: labels enter the mapping.
  # Keywords of __call__ that `python -m jaxgan.sample` may set (jaxgan.models.sampling_options).
  SAMPLING_OPTIONS: ClassVar[Tuple[str, ...]] = ("truncation_psi", "truncation_cutoff",
                                                 "noise_mode")

  resolution: int
  channels: int
  w_dim: int = 512
  mapping_layers: int = 8
  mapping_lr_multiplier: float = 0.01
  w_avg_beta: float = 0.995
  channel_base: int = 32768
  channel_max: int = 512
  taps: Tuple[float, ...] = upfirdn.STYLEGAN2_TAPS
  conv_clamp: Optional[float] = None
  fused_modconv: bool = False
  axis_name: Optional[str] = None

  def setup(self):
    self.mapping = MappingNetwork(self.w_dim, num_ws(self.resolution), self.mapping_layers,
                                  self.mapping_lr_multiplier, self.w_avg_beta,
                                  axis_name=self.axis_name)
    self.synthesis = SynthesisNetwork(self.resolution, self.channels, self.channel_base,
                                      self.channel_max, self.taps, self.conv_clamp,
                                      self.fused_modconv, self.axis_name)

  def map(self, z: jax.Array, codes: Optional[jax.Array] = None, train: bool = False,
          truncation_psi: float = 1.0, truncation_cutoff: Optional[int] = None) -> jax.Array:
    """z [n, z_dim] -> ws [n, num_ws, w_dim]; updates w_avg when `train`."""
    return self.mapping(z, codes, train, truncation_psi, truncation_cutoff)

  def synthesize(self, ws: jax.Array, noise_mode: Optional[str] = None) -> jax.Array:
    """ws [n, num_ws, w_dim] -> images [n, R, R, C]."""
    if noise_mode is None:
      noise_mode = "random" if self.has_rng("dropout") else "const"
    return self.synthesis(ws, noise_mode)

  def __call__(self, z: jax.Array, train: bool, codes: Optional[jax.Array] = None,
               truncation_psi: float = 1.0, truncation_cutoff: Optional[int] = None,
               noise_mode: Optional[str] = None) -> jax.Array:
    ws = self.map(z, codes, train, truncation_psi, truncation_cutoff)
    return self.synthesize(ws, noise_mode)


class MinibatchStd(nn.Module):
  """`MinibatchStdLayer`: x [n, H, W, C] -> [n, H, W, C + num_channels].

  Rows i and i + n/G, i + 2n/G, ... form a group (G = min(group_size, n), strided over the
  batch as the official reshape(G, -1, ...)); channels split into num_channels groups; each
  row gets its group's standard deviation, averaged over the channel group and pixels."""
  group_size: int = 4
  num_channels: int = 1

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    n, h, w, c = x.shape
    g, f = min(self.group_size, n), self.num_channels
    if n % g or c % f:
      raise ValueError(f"minibatch stddev: group size {g} must divide the per-device batch "
                       f"({n}) and num_channels {f} the {c} channels.")
    y = x.astype(jnp.float32).reshape(g, n // g, h, w, f, c // f)
    y = jnp.sqrt(jnp.mean(jnp.square(y - jnp.mean(y, axis=0)), axis=0) + 1e-8)  # [n/g,h,w,f,c']
    y = jnp.mean(y, axis=(1, 2, 4))                                             # [n/g, f]
    y = jnp.tile(y, (g, 1))[:, None, None, :]                                   # [n, 1, 1, f]
    return jnp.concatenate([x, jnp.broadcast_to(y, (n, h, w, f)).astype(x.dtype)], axis=-1)


class StyleGAN2Discriminator(nn.Module):
  """`Discriminator` (resnet architecture): x [n, R, R, C] (codes [n, classes] when
  conditional: the projection of `DiscriminatorEpilogue`) -> logits [n]."""
  resolution: int
  channel_base: int = 32768
  channel_max: int = 512
  mbstd_group_size: int = 4
  mbstd_num_channels: int = 1
  cmap_dim: Optional[int] = None
  mapping_layers: int = 8
  taps: Tuple[float, ...] = upfirdn.STYLEGAN2_TAPS
  conv_clamp: Optional[float] = None

  @nn.compact
  def __call__(self, x: jax.Array, train: bool, codes: Optional[jax.Array] = None
               ) -> jax.Array:
    del train  # No layer behaves differently in training.
    conv = dict(taps=self.taps, conv_clamp=self.conv_clamp)
    ch = lambda r: channels_at(r, self.channel_base, self.channel_max)  # noqa: E731
    x = Conv2dLayer(ch(self.resolution), 1, name=f"b{self.resolution}_fromrgb", **conv)(x)
    for r in reversed(block_resolutions(self.resolution)[1:]):
      skip = Conv2dLayer(ch(r // 2), 1, "linear", down=True, use_bias=False,
                         name=f"b{r}_skip", **conv)(x, gain=SQRT_HALF)
      x = Conv2dLayer(ch(r), name=f"b{r}_conv0", **conv)(x)
      x = Conv2dLayer(ch(r // 2), down=True, name=f"b{r}_conv1", **conv)(x, gain=SQRT_HALF)
      x = skip + x
    if self.mbstd_num_channels > 0:
      x = MinibatchStd(self.mbstd_group_size, self.mbstd_num_channels)(x)
    x = Conv2dLayer(ch(4), name="b4_conv", **conv)(x)
    x = FullyConnected(ch(4), "lrelu", name="b4_fc")(x.reshape(x.shape[0], -1))
    cmap_dim = 0 if codes is None else (self.cmap_dim or ch(4))
    x = FullyConnected(cmap_dim or 1, name="b4_out")(x)
    if codes is None:
      return x[:, 0].astype(jnp.float32)
    cmap = MappingNetwork(cmap_dim, None, self.mapping_layers, w_avg_beta=None,
                          name="mapping")(None, codes)
    return (jnp.sum(x * cmap, axis=1) / math.sqrt(cmap_dim)).astype(jnp.float32)


def check_image_shape(image_shape: Tuple[int, int, int]) -> None:
  """Square images of a power-of-two side >= 4, else ValueError naming the shape."""
  h, w, _ = image_shape
  if h != w:
    raise ValueError(f"StyleGAN2 makes square images; the dataset's are {tuple(image_shape)}. "
                     "Resize them (config.dataset.image_size).")
  block_resolutions(h)

