"""Model families and the registry of (generator, discriminator) pairs.

A registered builder has the signature

    build(*, image_shape, latent_dim, axis_name, **kwargs) -> GanPair

  image_shape: (H, W, C) of the dataset's images; a builder whose architecture cannot produce
    it raises ValueError saying which shapes it can.
  latent_dim: size of z (used by the builder only if the architecture depends on it).
  axis_name: the pmap axis for synchronised BatchNorm and per-example randomness, or None.
  kwargs: the architecture's own settings, from `config.model.kwargs`.

The generator is called as `G.apply(variables, z [n, latent_dim], train=bool)` and returns
images [n, H, W, C] in [-1, 1]; the discriminator as `D.apply(variables, x, train=bool)`
returning logits [n].
"""
from __future__ import annotations

from typing import NamedTuple, Optional, Tuple

import flax.linen as nn

from jaxgan.core.registry import Registry
from jaxgan.models import (cyclegan, dcgan, dcgan_keras, dcgan_mnist, dcgan_radford, mlp,
                           normalization, progan, resampling, resnet, stacked_dcgan, stylegan2,
                           tiny, toy2d)

MODELS = Registry("architecture")


class GanPair(NamedTuple):
  generator: nn.Module
  discriminator: nn.Module


class TranslationPair(NamedTuple):
  """An image-to-image pair (the cyclegan game's): G(x [n, H, W, C], train) -> images of the
  same shape in [-1, 1]; D(x, train) -> patch logits [n, h, w] (or [n]). Checked by
  jaxgan.models.contract.check_translation_shapes; the latent-to-image games refuse it."""
  generator: nn.Module
  discriminator: nn.Module


def _require_shape(name: str, image_shape, *supported: Tuple[int, int, int]) -> None:
  if tuple(image_shape) not in [tuple(shape) for shape in supported]:
    raise ValueError(
        f"Architecture {name!r} produces images of shape "
        f"{' or '.join(str(tuple(shape)) for shape in supported)} (H, W, C), but the "
        f"dataset's images are {tuple(image_shape)}. Choose a dataset of that shape or another "
        f"architecture (config.model.name; valid: {', '.join(MODELS.names())}).")


@MODELS.register("dcgan_tutorial")
def build_dcgan_tutorial(*, image_shape, latent_dim: int, axis_name: Optional[str],
                         leaky_relu_slope: float = 0.3, dropout_rate: float = 0.3,
                         spectral_norm: bool = False, minibatch_stddev_group: int = 0,
                         minibatch_discrimination: int = 0,
                         generator_normalization: str = "batch", num_reference: int = 64,
                         discriminator_normalization: str = "none") -> GanPair:
  """The TensorFlow tutorial's DCGAN (28x28x1, or 28x28x3); see `jaxgan.models.dcgan`.

  G's options: generator_normalization ("batch", the tutorial's; "layer", "instance",
  "virtual_batch" with num_reference reference latents; "none"). D's options:
  discriminator_normalization ("none", the tutorial's; "layer", "instance"), spectral_norm
  (every D layer), minibatch_stddev_group (group size, 0 = off), minibatch_discrimination
  (number of kernels, 0 = off); see jaxgan.models.normalization and jaxgan.models.minibatch.
  """
  del latent_dim  # The first Dense layer adapts to any latent size.
  _require_shape("dcgan_tutorial", image_shape, (28, 28, 1), (28, 28, 3))
  normalization.check("generator_normalization", generator_normalization,
                      normalization.GENERATOR_NORMALIZATIONS)
  normalization.check("discriminator_normalization", discriminator_normalization,
                      normalization.DISCRIMINATOR_NORMALIZATIONS)
  if generator_normalization == "virtual_batch" and num_reference < 1:
    raise ValueError(f"num_reference={num_reference}: virtual batch normalisation needs a "
                     "reference batch of at least 1 latent.")
  channels = image_shape[-1]
  return GanPair(
      dcgan.TutorialGenerator(leaky_relu_slope=leaky_relu_slope, channels=channels,
                              axis_name=axis_name, normalization=generator_normalization,
                              num_reference=num_reference),
      dcgan.TutorialDiscriminator(
          leaky_relu_slope=leaky_relu_slope, dropout_rate=dropout_rate,
          normalization=discriminator_normalization,
          spectral_norm=spectral_norm, minibatch_stddev_group=minibatch_stddev_group,
          minibatch_discrimination=minibatch_discrimination, axis_name=axis_name))


def _check_resampling(upsample: str, downsample: str) -> None:
  resampling.check_mode("upsample", upsample)
  resampling.check_mode("downsample", downsample)


@MODELS.register("dcgan_keras")
def build_dcgan_keras(*, image_shape, latent_dim: int, axis_name: Optional[str],
                      leaky_relu_slope: float = 0.2, dropout_rate: float = 0.2,
                      upsample: str = "transposed", downsample: str = "strided",
                      spectral_norm: bool = False, minibatch_stddev_group: int = 0,
                      minibatch_discrimination: int = 0) -> GanPair:
  """The Keras examples' small DCGAN (28x28, any channels); see `jaxgan.models.dcgan_keras`.

  upsample: "transposed", "nearest" or "pixel_shuffle"; downsample: "strided" or "avg_pool"
  (`jaxgan.models.resampling`). D's other options as dcgan_tutorial's.
  """
  del latent_dim
  if tuple(image_shape[:2]) != (28, 28):
    _require_shape("dcgan_keras", image_shape, (28, 28, 1), (28, 28, 3))
  _check_resampling(upsample, downsample)
  return GanPair(
      dcgan_keras.KerasGenerator(channels=image_shape[-1], leaky_relu_slope=leaky_relu_slope,
                                 upsample=upsample, axis_name=axis_name),
      dcgan_keras.KerasDiscriminator(
          leaky_relu_slope=leaky_relu_slope, dropout_rate=dropout_rate, downsample=downsample,
          spectral_norm=spectral_norm, minibatch_stddev_group=minibatch_stddev_group,
          minibatch_discrimination=minibatch_discrimination, axis_name=axis_name))


@MODELS.register("dcgan_mnist")
def build_dcgan_mnist(*, image_shape, latent_dim: int, axis_name: Optional[str],
                      g_width: int = 32, d_width: int = 32, spectral_norm: bool = False,
                      minibatch_stddev_group: int = 0,
                      minibatch_discrimination: int = 0) -> GanPair:
  """Radford et al.'s DCGAN design at 28x28 (any channels), widths as parameters:
  configs/dcgan.py's pair; see `jaxgan.models.dcgan_mnist`."""
  del latent_dim
  _require_shape("dcgan_mnist", image_shape, (28, 28, image_shape[-1]))
  for name, width in (("g_width", g_width), ("d_width", d_width)):
    if width < 1:
      raise ValueError(f"{name}={width}: a layer width must be >= 1.")
  return GanPair(
      dcgan_mnist.MnistGenerator(channels=image_shape[-1], width=g_width, axis_name=axis_name),
      dcgan_mnist.MnistDiscriminator(
          width=d_width, spectral_norm=spectral_norm,
          minibatch_stddev_group=minibatch_stddev_group,
          minibatch_discrimination=minibatch_discrimination, axis_name=axis_name))


@MODELS.register("dcgan_radford")
def build_dcgan_radford(*, image_shape, latent_dim: int, axis_name: Optional[str],
                        base_features: int = 64, leaky_relu_slope: float = 0.2,
                        upsample: str = "transposed", downsample: str = "strided",
                        spectral_norm: bool = False, minibatch_stddev_group: int = 0,
                        minibatch_discrimination: int = 0) -> GanPair:
  """Radford et al.'s DCGAN for square images of side 32, 64, 128, ... (the 64x64 DCGAN);
  see `jaxgan.models.dcgan_radford`.

  base_features: D's first / G's last hidden width (64 in the paper); upsample / downsample
  as dcgan_keras'. D's other options as dcgan_tutorial's (spectral_norm replaces D's BN).
  """
  del latent_dim
  height, width, channels = image_shape
  if height != width or not resampling.stages(height):
    _require_shape("dcgan_radford", image_shape,
                   *[(side, side, channels) for side in (8, 16, 32, 64, 128, 256)])
  _check_resampling(upsample, downsample)
  return GanPair(
      dcgan_radford.RadfordGenerator(image_shape=tuple(image_shape),
                                     base_features=base_features, upsample=upsample,
                                     axis_name=axis_name),
      dcgan_radford.RadfordDiscriminator(
          base_features=base_features, leaky_relu_slope=leaky_relu_slope,
          downsample=downsample, spectral_norm=spectral_norm,
          minibatch_stddev_group=minibatch_stddev_group,
          minibatch_discrimination=minibatch_discrimination, axis_name=axis_name))


@MODELS.register("mlp")
def build_mlp(*, image_shape, latent_dim: int, axis_name: Optional[str],
              g_hidden: Tuple[int, ...] = (256, 512, 1024),
              d_hidden: Tuple[int, ...] = (1024, 512, 256), leaky_relu_slope: float = 0.2,
              batch_norm_momentum: float = 0.8, dropout_rate: float = 0.3,
              spectral_norm: bool = False, minibatch_stddev_group: int = 0,
              minibatch_discrimination: int = 0) -> GanPair:
  """The course notes' fully connected GAN, any image shape; see `jaxgan.models.mlp`.

  D's options as dcgan_tutorial's (spectral_norm applies to every Dense layer).
  """
  del latent_dim  # The first Dense layer adapts to any latent size.
  return GanPair(
      mlp.MLPGenerator(image_shape=tuple(image_shape), hidden=tuple(g_hidden),
                       leaky_relu_slope=leaky_relu_slope,
                       batch_norm_momentum=batch_norm_momentum, axis_name=axis_name),
      mlp.MLPDiscriminator(hidden=tuple(d_hidden), leaky_relu_slope=leaky_relu_slope,
                           dropout_rate=dropout_rate, spectral_norm=spectral_norm,
                           minibatch_stddev_group=minibatch_stddev_group,
                           minibatch_discrimination=minibatch_discrimination,
                           axis_name=axis_name))


@MODELS.register("resnet")
def build_resnet(*, image_shape, latent_dim: int, axis_name: Optional[str],
                 g_width: int = 256, d_width: int = 128, spectral_norm: bool = True,
                 attention_resolution: int = 0, minibatch_stddev_group: int = 0,
                 minibatch_discrimination: int = 0) -> GanPair:
  """SNGAN's ResNet pair for square images of side 16, 32, 64, ... (32: SNGAN's CIFAR-10
  model), with a SAGAN self-attention block at `attention_resolution` (0 = none); see
  `jaxgan.models.resnet`.

  g_width / d_width: channels of every G / D block (multiples of 8 with attention).
  spectral_norm: on every D layer (default on, as in SNGAN). D's other options as
  dcgan_tutorial's.
  """
  del latent_dim
  height, width, channels = image_shape
  k = resnet.stages(height) if height == width else 0
  if not k:
    _require_shape("resnet", image_shape,
                   *[(side, side, channels) for side in (16, 32, 64, 128, 256)])
  resolutions = [4 * 2 ** j for j in range(1, k)]  # reached by G's and D's blocks alike
  if attention_resolution and attention_resolution not in resolutions:
    raise ValueError(f"resnet: attention_resolution={attention_resolution} is not a feature "
                     f"map size of both networks at {height}x{width}; valid: 0 (none), "
                     f"{', '.join(map(str, resolutions))}.")
  return GanPair(
      resnet.ResNetGenerator(image_shape=tuple(image_shape), width=g_width,
                             attention_resolution=attention_resolution, axis_name=axis_name),
      resnet.ResNetDiscriminator(width=d_width, spectral_norm=spectral_norm,
                                 attention_resolution=attention_resolution,
                                 minibatch_stddev_group=minibatch_stddev_group,
                                 minibatch_discrimination=minibatch_discrimination,
                                 axis_name=axis_name))


@MODELS.register("progan")
def build_progan(*, image_shape, latent_dim: int, axis_name: Optional[str],
                 fmap_base: int = 8192, fmap_max: int = 512, fmap_decay: float = 1.0,
                 normalize_latents: bool = True, pixel_norm: bool = True,
                 minibatch_stddev_group: int = 4) -> GanPair:
  """ProGAN's growing pair (Karras et al., 2018) for square images of side 4 * 2^k; see
  `jaxgan.models.progan`. Train it with config.game.name="progressive" (growing from 4x4);
  with the standard game it trains at full resolution only.

  Widths nf(i) = min(fmap_base / 2^(i * fmap_decay), fmap_max); the defaults are the paper's
  1024x1024 networks (23.1M parameters each). minibatch_stddev_group: D's minibatch-stddev
  group (0: none); it must divide the per-device batch.
  """
  del latent_dim, axis_name  # Any latent size; no layer needs the device axis.
  progan.check_image_shape(image_shape)
  for name, value in (("fmap_base", fmap_base), ("fmap_max", fmap_max)):
    if value < 1:
      raise ValueError(f"progan: {name} must be >= 1; got {value}.")
  widths = dict(image_shape=tuple(image_shape), fmap_base=fmap_base, fmap_max=fmap_max,
                fmap_decay=fmap_decay)
  return GanPair(
      progan.ProGANGenerator(normalize_latents=normalize_latents, use_pixel_norm=pixel_norm,
                             **widths),
      progan.ProGANDiscriminator(minibatch_stddev_group=minibatch_stddev_group, **widths))


@MODELS.register("stylegan2")
def build_stylegan2(*, image_shape, latent_dim: int, axis_name: Optional[str],
                    w_dim: int = 512, mapping_layers: int = 8,
                    mapping_lr_multiplier: float = 0.01, w_avg_beta: float = 0.995,
                    channel_base: int = 32768, channel_max: int = 512,
                    mbstd_group_size: int = 4, mbstd_num_channels: int = 1,
                    conv_clamp: Optional[float] = None, fused_modconv: bool = False,
                    resample_taps: Tuple[float, ...] = (1, 3, 3, 1)) -> GanPair:
  """StyleGAN2's generator (mapping + skip synthesis) and residual discriminator (Karras et
  al., 2020) for square images of a power-of-two side; see `jaxgan.models.stylegan2`.

  The defaults are the official networks' (NVlabs/stylegan2-ada-pytorch, training/networks.py):
  w_dim 512, 8 mapping layers at learning-rate multiplier 0.01, w_avg decay 0.995, widths
  ch(r) = min(channel_base // r, channel_max), minibatch-stddev groups of 4 with 1 channel
  (the group must divide the per-device batch), no clamping, the [1, 3, 3, 1] filter.
  Class-conditional: config.model.num_classes > 0 with
  config.model.generator_conditioning = "mapping" (labels embedded into the mapping's input)
  and config.model.discriminator_conditioning = "projection".
  """
  del latent_dim  # The mapping network takes any z size.
  stylegan2.check_image_shape(image_shape)
  for name, value in (("w_dim", w_dim), ("mapping_layers", mapping_layers),
                      ("channel_base", channel_base), ("channel_max", channel_max)):
    if value < 1:
      raise ValueError(f"stylegan2: {name} must be >= 1; got {value}.")
  side, channels = image_shape[0], image_shape[-1]
  widths = dict(channel_base=channel_base, channel_max=channel_max,
                taps=tuple(resample_taps), conv_clamp=conv_clamp)
  if stylegan2.channels_at(side, channel_base, channel_max) < 1:
    raise ValueError(f"stylegan2: channel_base {channel_base} gives no channels at {side}x"
                     f"{side}; make it >= {side}.")
  return GanPair(
      stylegan2.StyleGAN2Generator(side, channels, w_dim, mapping_layers, mapping_lr_multiplier,
                                   w_avg_beta, fused_modconv=fused_modconv,
                                   axis_name=axis_name, **widths),
      stylegan2.StyleGAN2Discriminator(side, mbstd_group_size=mbstd_group_size,
                                       mbstd_num_channels=mbstd_num_channels, **widths))


@MODELS.register("dcgan_stacked")
def build_dcgan_stacked(*, image_shape, latent_dim: int, axis_name: Optional[str],
                        g_width: int = 8, d_width: int = 2, spectral_norm: bool = False,
                        minibatch_stddev_group: int = 0,
                        minibatch_discrimination: int = 0) -> GanPair:
  """The Unrolled GAN paper's Stacked MNIST DCGAN, 28x28 images; see
  `jaxgan.models.stacked_dcgan` (d_width 2: D a quarter of G's size, 4: half)."""
  del latent_dim
  _require_shape("dcgan_stacked", image_shape, (28, 28, image_shape[-1]))
  return GanPair(
      stacked_dcgan.StackedGenerator(channels=image_shape[-1], width=g_width,
                                     axis_name=axis_name),
      stacked_dcgan.StackedDiscriminator(
          width=d_width, spectral_norm=spectral_norm,
          minibatch_stddev_group=minibatch_stddev_group,
          minibatch_discrimination=minibatch_discrimination, axis_name=axis_name))


@MODELS.register("toy2d")
def build_toy2d(*, image_shape, latent_dim: int, axis_name: Optional[str],
                g_hidden: Tuple[int, ...] = (128, 128), d_hidden: Tuple[int, ...] = (128,),
                minibatch_discrimination: int = 0) -> GanPair:
  """Fully connected pair for 2-D points stored as [n, 1, 1, 2] "images" (the mixture-of-
  Gaussians toy of jaxgan.data.mixture); see `jaxgan.models.toy2d`."""
  del latent_dim
  _require_shape("toy2d", image_shape, (1, 1, 2))
  return GanPair(toy2d.PointGenerator(hidden=tuple(g_hidden)),
                 toy2d.PointDiscriminator(hidden=tuple(d_hidden),
                                          minibatch_discrimination=minibatch_discrimination,
                                          axis_name=axis_name))


@MODELS.register("tiny")
def build_tiny(*, image_shape, latent_dim: int, axis_name: Optional[str],
               hidden: int = 16, dropout_rate: float = 0.3, spectral_norm: bool = False,
               minibatch_stddev_group: int = 0, minibatch_discrimination: int = 0) -> GanPair:
  """A few-thousand-parameter pair for tests and smoke runs, any image shape; D's options as
  dcgan_tutorial's."""
  del latent_dim
  return GanPair(
      tiny.TinyGenerator(image_shape=tuple(image_shape), hidden=hidden, axis_name=axis_name),
      tiny.TinyDiscriminator(hidden=hidden // 2, dropout_rate=dropout_rate,
                             spectral_norm=spectral_norm,
                             minibatch_stddev_group=minibatch_stddev_group,
                             minibatch_discrimination=minibatch_discrimination,
                             axis_name=axis_name))


def _check_side(name: str, image_shape, multiple: int) -> None:
  height, width = image_shape[:2]
  if height % multiple or width % multiple:
    raise ValueError(f"Architecture {name!r} needs H and W multiples of {multiple}; the "
                     f"dataset's images are {tuple(image_shape)} (config.dataset.image_size or "
                     "random_crop can make them so).")


@MODELS.register("cyclegan_resnet")
def build_cyclegan_resnet(*, image_shape, latent_dim: int, axis_name: Optional[str],
                          ngf: int = 64, ndf: int = 64, n_blocks: int = 9, n_layers: int = 3,
                          dropout: bool = False) -> TranslationPair:
  """CycleGAN's ResNet generator (n_blocks 9: the reference's resnet_9blocks, 6:
  resnet_6blocks) and PatchGAN discriminator (n_layers 3: 70x70); see
  `jaxgan.models.cyclegan`. Image-to-image: config.game.name="cyclegan"."""
  del latent_dim
  _check_side("cyclegan_resnet", image_shape, 4)
  return TranslationPair(
      cyclegan.ResnetGenerator(channels=image_shape[-1], ngf=ngf, n_blocks=n_blocks,
                               dropout=dropout, axis_name=axis_name),
      cyclegan.PatchDiscriminator(ndf=ndf, n_layers=n_layers, axis_name=axis_name))


@MODELS.register("cyclegan_unet")
def build_cyclegan_unet(*, image_shape, latent_dim: int, axis_name: Optional[str],
                        ngf: int = 64, ndf: int = 64, num_downs: int = 8, n_layers: int = 3,
                        dropout: bool = False) -> TranslationPair:
  """CycleGAN's U-Net generator (num_downs 8: unet_256, 7: unet_128) and PatchGAN
  discriminator; see `jaxgan.models.cyclegan`. Image-to-image: config.game.name="cyclegan"."""
  del latent_dim
  _check_side("cyclegan_unet", image_shape, 2 ** num_downs)
  return TranslationPair(
      cyclegan.UnetGenerator(channels=image_shape[-1], num_downs=num_downs, ngf=ngf,
                             dropout=dropout, axis_name=axis_name),
      cyclegan.PatchDiscriminator(ndf=ndf, n_layers=n_layers, axis_name=axis_name))
