"""Inception-v3 laid out as the "FID Inception" network, for FID / Inception Score features.

The network is the one pytorch-fid and TTUR use: TensorFlow's 2015-12-05 Inception graph,
ported to PyTorch as `pt_inception-2015-12-05-6726825d.pth`. Its layout is torchvision's
Inception-v3 (Conv2d_1a_3x3 ... Mixed_7c; BasicConv2d = conv without bias -> BatchNorm(eps=1e-3)
-> ReLU), without the auxiliary classifier, with a 1008-way fc, and with the FID variants of
the pool branches:
  * Mixed_5b/5c/5d (A), 6b-6e (C) and 7b (E_1) average-pool 3x3 / stride 1 / pad 1 with
    count_include_pad=False: border outputs average over the valid pixels only, as TF does;
  * Mixed_7c (E_2) max-pools 3x3 / stride 1 / pad 1 instead.

Submodules carry pytorch-fid's state-dict names, so the variables are
  params/<module path>/conv/kernel      [kh, kw, in, out]   (torch: <path>.conv.weight, OIHW)
  params/<module path>/bn/{scale,bias}  [out]               (torch: <path>.bn.weight / .bias)
  batch_stats/<module path>/bn/{mean,var} [out]             (torch: .running_mean / .running_var)
  params/fc/{kernel [2048, 1008], bias [1008]}              (torch: fc.weight [1008, 2048], fc.bias)
e.g. torch's "Mixed_5b.branch1x1.bn.running_mean" is batch_stats/Mixed_5b/branch1x1/bn/mean.

BatchNorm is inference-only: it always normalises with the stored statistics of the
`batch_stats` collection (kept unfolded, so the variables map 1:1 onto the torch state dict
and convert back exactly; the per-channel scale/shift costs nothing next to the convolutions).
Nothing here is trainable; apply with `InceptionV3().apply(variables, images)`.

Weights: see `WEIGHTS_HELP` (convert pytorch-fid's .pth once with
`python -m jaxgan.convert_inception`, then `load_variables(path)`).
"""
from __future__ import annotations

import functools
import hashlib
import io
from typing import Any, Mapping, Optional, Sequence, Union

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from absl import logging
from flax import traverse_util
from jax import lax

from jaxgan.core import errors
from jaxgan.evaluation import batching, resizing
from jaxgan.importers import fetched_weights, torch_files
from jaxgan.runtime import storage

NUM_CLASSES = 1008     # The 2015 graph's classifier: 1000 ImageNet classes + 8 unused.
POOL_FEATURES = 2048   # Width of the global average pool after Mixed_7c: the FID features.
INPUT_SIZE = 299       # Inputs are resized to 299x299 (resize=True).
MIN_INPUT_SIZE = 75    # The smallest input the stride-2 stages accept (resize=False).

WEIGHTS_URL = ("https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
               "pt_inception-2015-12-05-6726825d.pth")
# pytorch-fid's release asset. No authoritative source publishes its full sha256 (pytorch-fid
# itself does not check it), so it is verified by the 8 hex digits its name carries (torch.hub's
# convention) and by the full hash recorded at its first fetch (importers/fetched_weights.py).
PYTORCH_FID_WEIGHTS = fetched_weights.RemoteFile(
    WEIGHTS_URL, description="the FID Inception weights (pytorch-fid's port of TensorFlow's "
    "2015-12-05 Inception graph, 95 MB)")
CONVERTED_NAME = "inception_fid.npz"  # The converted arrays, cached beside the download.
WEIGHTS_HELP = (
    "By default jaxgan fetches the FID Inception weights itself on first use "
    f"({WEIGHTS_URL}, verified, converted once and cached in "
    "~/.cache/jaxgan/weights or $JAXGAN_CACHE/weights). A file of your own: python -m "
    "jaxgan.convert_inception --torch_weights=pt_inception-2015-12-05-6726825d.pth "
    "--output=inception_fid.npz (no PyTorch needed), then point jaxgan at that .npz.")

Padding = Union[int, tuple[int, int]]


# ---------------------------------------------------------------------------------------------
# Layers.

def avg_pool_3x3_exclude_pad(x: jax.Array) -> jax.Array:
  """3x3 average pool, stride 1, zero padding 1, counting only valid pixels: [n,h,w,c] -> same.

  torch's `avg_pool2d(..., count_include_pad=False)` / TF's SAME average pool: a corner output
  is the mean of 4 pixels and an edge output the mean of 6, not a sum over 9 divided by 9.
  """
  window, strides = (1, 3, 3, 1), (1, 1, 1, 1)
  pads = ((0, 0), (1, 1), (1, 1), (0, 0))
  sums = lax.reduce_window(x, jnp.zeros((), x.dtype), lax.add, window, strides, pads)
  # The number of valid pixels under each window; a constant XLA folds at compile time.
  ones = jnp.ones((1,) + x.shape[1:3] + (1,), x.dtype)
  counts = lax.reduce_window(ones, jnp.zeros((), x.dtype), lax.add, window, strides, pads)
  return sums / counts


def max_pool_3x3(x: jax.Array, stride: int, padding: int) -> jax.Array:
  """3x3 max pool; padded positions are -inf, i.e. never win (as in torch and TF)."""
  return nn.max_pool(x, (3, 3), strides=(stride, stride),
                     padding=((padding, padding), (padding, padding)))


class BasicConv2d(nn.Module):
  """Conv (no bias) -> inference BatchNorm (eps 1e-3) -> ReLU: [n,h,w,c] -> [n,h',w',features].

  `padding` is torch's: symmetric zeros, an int or (rows, cols); 0 means VALID.
  """
  features: int
  kernel_size: tuple[int, int]
  stride: int = 1
  padding: Padding = 0
  precision: Optional[lax.Precision] = None

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    ph, pw = (self.padding, self.padding) if isinstance(self.padding, int) else self.padding
    x = nn.Conv(self.features, self.kernel_size, strides=(self.stride, self.stride),
                padding=((ph, ph), (pw, pw)), use_bias=False, precision=self.precision,
                name="conv")(x)
    x = nn.BatchNorm(use_running_average=True, epsilon=1e-3, name="bn")(x)
    return nn.relu(x)


class _Block(nn.Module):
  """Base of the Inception blocks: `conv(name, features, kernel, ...)` makes a BasicConv2d."""
  precision: Optional[lax.Precision] = None

  def conv(self, name: str, features: int, kernel_size: Union[int, tuple[int, int]],
           stride: int = 1, padding: Padding = 0) -> BasicConv2d:
    if isinstance(kernel_size, int):
      kernel_size = (kernel_size, kernel_size)
    return BasicConv2d(features, kernel_size, stride, padding, self.precision, name=name)


class InceptionA(_Block):
  """35x35 block: [n,35,35,c] -> [n,35,35,224+pool_features]. Mixed_5b/5c/5d."""
  pool_features: int = 32

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    b1 = self.conv("branch1x1", 64, 1)(x)
    b5 = self.conv("branch5x5_1", 48, 1)(x)
    b5 = self.conv("branch5x5_2", 64, 5, padding=2)(b5)
    b3 = self.conv("branch3x3dbl_1", 64, 1)(x)
    b3 = self.conv("branch3x3dbl_2", 96, 3, padding=1)(b3)
    b3 = self.conv("branch3x3dbl_3", 96, 3, padding=1)(b3)
    bp = self.conv("branch_pool", self.pool_features, 1)(avg_pool_3x3_exclude_pad(x))
    return jnp.concatenate([b1, b5, b3, bp], axis=-1)


class InceptionB(_Block):
  """Grid reduction 35 -> 17: [n,35,35,c] -> [n,17,17,480+c]. Mixed_6a."""

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    b3 = self.conv("branch3x3", 384, 3, stride=2)(x)
    bd = self.conv("branch3x3dbl_1", 64, 1)(x)
    bd = self.conv("branch3x3dbl_2", 96, 3, padding=1)(bd)
    bd = self.conv("branch3x3dbl_3", 96, 3, stride=2)(bd)
    bp = max_pool_3x3(x, stride=2, padding=0)
    return jnp.concatenate([b3, bd, bp], axis=-1)


class InceptionC(_Block):
  """17x17 block with factorised 7x7 convs: [n,17,17,c] -> [n,17,17,768]. Mixed_6b-6e."""
  channels_7x7: int = 128

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    c7 = self.channels_7x7
    b1 = self.conv("branch1x1", 192, 1)(x)
    b7 = self.conv("branch7x7_1", c7, 1)(x)
    b7 = self.conv("branch7x7_2", c7, (1, 7), padding=(0, 3))(b7)
    b7 = self.conv("branch7x7_3", 192, (7, 1), padding=(3, 0))(b7)
    bd = self.conv("branch7x7dbl_1", c7, 1)(x)
    bd = self.conv("branch7x7dbl_2", c7, (7, 1), padding=(3, 0))(bd)
    bd = self.conv("branch7x7dbl_3", c7, (1, 7), padding=(0, 3))(bd)
    bd = self.conv("branch7x7dbl_4", c7, (7, 1), padding=(3, 0))(bd)
    bd = self.conv("branch7x7dbl_5", 192, (1, 7), padding=(0, 3))(bd)
    bp = self.conv("branch_pool", 192, 1)(avg_pool_3x3_exclude_pad(x))
    return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(_Block):
  """Grid reduction 17 -> 8: [n,17,17,c] -> [n,8,8,512+c]. Mixed_7a."""

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    b3 = self.conv("branch3x3_1", 192, 1)(x)
    b3 = self.conv("branch3x3_2", 320, 3, stride=2)(b3)
    b7 = self.conv("branch7x7x3_1", 192, 1)(x)
    b7 = self.conv("branch7x7x3_2", 192, (1, 7), padding=(0, 3))(b7)
    b7 = self.conv("branch7x7x3_3", 192, (7, 1), padding=(3, 0))(b7)
    b7 = self.conv("branch7x7x3_4", 192, 3, stride=2)(b7)
    bp = max_pool_3x3(x, stride=2, padding=0)
    return jnp.concatenate([b3, b7, bp], axis=-1)


class InceptionE(_Block):
  """8x8 block with split 1x3 / 3x1 branches: [n,8,8,c] -> [n,8,8,2048]. Mixed_7b/7c.

  pool="avg" is FIDInceptionE_1 (Mixed_7b); pool="max" is FIDInceptionE_2 (Mixed_7c): the TF
  graph max-pools there (the paper and torchvision average-pool), and the FID weights expect it.
  """
  pool: str = "avg"

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    b1 = self.conv("branch1x1", 320, 1)(x)
    b3 = self.conv("branch3x3_1", 384, 1)(x)
    b3 = jnp.concatenate([self.conv("branch3x3_2a", 384, (1, 3), padding=(0, 1))(b3),
                          self.conv("branch3x3_2b", 384, (3, 1), padding=(1, 0))(b3)], axis=-1)
    bd = self.conv("branch3x3dbl_1", 448, 1)(x)
    bd = self.conv("branch3x3dbl_2", 384, 3, padding=1)(bd)
    bd = jnp.concatenate([self.conv("branch3x3dbl_3a", 384, (1, 3), padding=(0, 1))(bd),
                          self.conv("branch3x3dbl_3b", 384, (3, 1), padding=(1, 0))(bd)], axis=-1)
    if self.pool == "avg":
      pooled = avg_pool_3x3_exclude_pad(x)
    elif self.pool == "max":
      pooled = max_pool_3x3(x, stride=1, padding=1)
    else:
      raise ValueError(f"pool must be 'avg' or 'max'; got {self.pool!r}.")
    bp = self.conv("branch_pool", 192, 1)(pooled)
    return jnp.concatenate([b1, b3, bd, bp], axis=-1)


# ---------------------------------------------------------------------------------------------
# The network.

def preprocess(images: jax.Array, resize: bool = True) -> jax.Array:
  """[n,h,w,c] in [-1, 1], c in {1, 3} -> float32 [n,299,299,3] (or [n,h,w,3] if not resize).

  Grayscale is repeated to 3 channels. The resize is bilinear with half-pixel centres and
  antialias=False, which is what pytorch-fid's F.interpolate(mode="bilinear",
  align_corners=False) computes, for up- and downsampling alike: at the borders torch clamps
  the source coordinate to the image and jax.image.resize renormalises the triangle weights over
  the pixels inside it, which gives the same weights. (jax's default antialias=True would only
  differ when downsampling, where it widens the kernel; pytorch-fid does not antialias.)
  Bilinear weights sum to 1, so resizing before or after pytorch-fid's [0,1] -> [-1,1] rescale is
  the same.
  """
  x = jnp.asarray(images, jnp.float32)
  if x.ndim != 4 or x.shape[-1] not in (1, 3):
    raise ValueError(f"images must be [n, h, w, 1 or 3]; got shape {x.shape}.")
  if x.shape[-1] == 1:
    x = jnp.repeat(x, 3, axis=-1)
  if resize and x.shape[1:3] != (INPUT_SIZE, INPUT_SIZE):
    x = jax.image.resize(x, (x.shape[0], INPUT_SIZE, INPUT_SIZE, 3), "bilinear",
                         antialias=False)
  return x


class InceptionV3(nn.Module):
  """FID Inception-v3: images [n,h,w,c] in [-1,1] -> {"pool": [n,2048], "logits": [n,1008]}.

  Attributes:
    precision: of the convolutions and the fc. HIGHEST (full float32) by default, so features
      do not depend on whether an accelerator would have used TF32/bf16 passes; on CPU every
      setting is float32 anyway.
  """
  precision: Optional[lax.Precision] = lax.Precision.HIGHEST

  @nn.compact
  def __call__(self, images: jax.Array, resize: bool = True) -> dict[str, jax.Array]:
    """images: [n,h,w,c], c in {1,3}, values in [-1,1]. resize=False needs h, w >= 75."""
    x = preprocess(images, resize)
    if min(x.shape[1:3]) < MIN_INPUT_SIZE:
      raise ValueError(f"Inception needs inputs of at least {MIN_INPUT_SIZE}x{MIN_INPUT_SIZE}; "
                       f"got {x.shape[1]}x{x.shape[2]} (use resize=True).")
    p = self.precision
    conv = lambda name, *args, **kw: BasicConv2d(*args, **kw, precision=p, name=name)
    x = conv("Conv2d_1a_3x3", 32, (3, 3), stride=2)(x)             # 299 -> 149
    x = conv("Conv2d_2a_3x3", 32, (3, 3))(x)                       # 147
    x = conv("Conv2d_2b_3x3", 64, (3, 3), padding=1)(x)            # 147
    x = max_pool_3x3(x, stride=2, padding=0)                       # 73
    x = conv("Conv2d_3b_1x1", 80, (1, 1))(x)                       # 73
    x = conv("Conv2d_4a_3x3", 192, (3, 3))(x)                      # 71
    x = max_pool_3x3(x, stride=2, padding=0)                       # 35
    x = InceptionA(p, pool_features=32, name="Mixed_5b")(x)        # 256 channels
    x = InceptionA(p, pool_features=64, name="Mixed_5c")(x)        # 288
    x = InceptionA(p, pool_features=64, name="Mixed_5d")(x)        # 288
    x = InceptionB(p, name="Mixed_6a")(x)                          # 17x17x768
    x = InceptionC(p, channels_7x7=128, name="Mixed_6b")(x)
    x = InceptionC(p, channels_7x7=160, name="Mixed_6c")(x)
    x = InceptionC(p, channels_7x7=160, name="Mixed_6d")(x)
    x = InceptionC(p, channels_7x7=192, name="Mixed_6e")(x)
    x = InceptionD(p, name="Mixed_7a")(x)                          # 8x8x1280
    x = InceptionE(p, pool="avg", name="Mixed_7b")(x)              # 8x8x2048
    x = InceptionE(p, pool="max", name="Mixed_7c")(x)
    pool = jnp.mean(x, axis=(1, 2))                                # [n, 2048]
    # (Dropout before the fc is the identity at inference.)
    logits = nn.Dense(NUM_CLASSES, precision=p, name="fc")(pool)
    return {"pool": pool, "logits": logits}


# ---------------------------------------------------------------------------------------------
# Variables: expected layout, torch <-> Flax conversion, .npz files.

_TORCH_LEAF = {"kernel": "weight", "scale": "weight", "bias": "bias", "mean": "running_mean",
               "var": "running_var"}
_OPTIONAL_TORCH_SUFFIX = ".num_batches_tracked"  # BN's step counter: unused at inference.


@functools.lru_cache(maxsize=None)
def _expected_shapes() -> dict[str, tuple[int, ...]]:
  """Flat "collection/module/.../leaf" -> shape of every variable, from an abstract init."""
  abstract = jax.eval_shape(
      functools.partial(InceptionV3().init, resize=False), jax.random.key(0),
      jax.ShapeDtypeStruct((1, MIN_INPUT_SIZE, MIN_INPUT_SIZE, 3), jnp.float32))
  flat = traverse_util.flatten_dict(dict(abstract), sep="/")
  return {name: tuple(leaf.shape) for name, leaf in flat.items()}


def variable_shapes() -> dict[str, Any]:
  """Nested {"params": ..., "batch_stats": ...} of the variables' shapes (tuples)."""
  return traverse_util.unflatten_dict(dict(_expected_shapes()), sep="/")


def _torch_name(flat_name: str) -> str:
  """"params/Mixed_5b/branch1x1/conv/kernel" -> "Mixed_5b.branch1x1.conv.weight"."""
  _, *modules, leaf = flat_name.split("/")
  return ".".join(modules + [_TORCH_LEAF[leaf]])


# Axis order of torch's layout in ours, by rank: conv kernels HWIO -> OIHW, dense kernels
# [in, out] -> [out, in]; vectors are the same in both.
_TO_TORCH_AXES = {4: (3, 2, 0, 1), 2: (1, 0)}


def _to_torch_layout(array: np.ndarray) -> np.ndarray:
  """Conv kernel HWIO -> OIHW, Dense kernel [in, out] -> [out, in]; vectors unchanged."""
  axes = _TO_TORCH_AXES.get(array.ndim)
  return array if axes is None else np.transpose(array, axes)


def _from_torch_layout(array: np.ndarray) -> np.ndarray:
  """The inverse of `_to_torch_layout`."""
  axes = _TO_TORCH_AXES.get(array.ndim)
  return array if axes is None else np.transpose(array, np.argsort(axes))


def _torch_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
  """The shape `_to_torch_layout` gives an array of `shape`."""
  axes = _TO_TORCH_AXES.get(len(shape))
  return tuple(shape) if axes is None else tuple(shape[a] for a in axes)


def _flatten(variables: Mapping[str, Any]) -> dict[str, Any]:
  return traverse_util.flatten_dict(flax.core.unfreeze(variables), sep="/")


def _check_names_and_shapes(given: Mapping[str, tuple[int, ...]],
                            expected: Mapping[str, tuple[int, ...]], what: str,
                            optional: Sequence[str] = ()) -> None:
  """Raises ValueError naming every missing, unexpected and mis-shaped array."""
  missing = sorted(set(expected) - set(given))
  unexpected = sorted(k for k in set(given) - set(expected)
                      if not any(k.endswith(s) for s in optional))
  misshaped = sorted(f"{k}: {tuple(given[k])} (expected {tuple(expected[k])})"
                     for k in set(given) & set(expected) if tuple(given[k]) != expected[k])
  problems = []
  for label, items in (("missing", missing), ("unexpected", unexpected),
                       ("wrongly shaped", misshaped)):
    if items:
      shown = ", ".join(items[:20]) + (f", ... ({len(items)} in all)" if len(items) > 20 else "")
      problems.append(f"{len(items)} {label}: {shown}")
  if problems:
    raise errors.InvalidInputError(
        f"{what} does not match the FID Inception-v3 layout; " + "; ".join(problems))


def torch_state_dict_to_variables(state_dict: Mapping[str, Any]) -> dict[str, Any]:
  """pytorch-fid's state dict (torch names -> arrays) -> {"params", "batch_stats"} for apply.

  Strict: every expected torch key must be present with its torch shape and nothing else may
  be (BN's `num_batches_tracked` counters are accepted and ignored). Conv weights go OIHW ->
  HWIO, fc.weight [1008, 2048] -> kernel [2048, 1008]. Arrays become float32 NumPy arrays.
  """
  expected = {_torch_name(name): (name, shape) for name, shape in _expected_shapes().items()}
  arrays = {k: np.asarray(v) for k, v in state_dict.items()}
  _check_names_and_shapes({k: a.shape for k, a in arrays.items()},
                          {k: _torch_shape(shape) for k, (_, shape) in expected.items()},
                          "The torch state dict", optional=(_OPTIONAL_TORCH_SUFFIX,))
  flat = {name: np.ascontiguousarray(_from_torch_layout(arrays[key]), dtype=np.float32)
          for key, (name, _) in expected.items()}
  return traverse_util.unflatten_dict(flat, sep="/")


def variables_to_torch_state_dict(variables: Mapping[str, Any]) -> dict[str, np.ndarray]:
  """The inverse of `torch_state_dict_to_variables`: torch names -> float32 NumPy arrays."""
  flat = _flatten(variables)
  _check_names_and_shapes({k: np.shape(v) for k, v in flat.items()}, _expected_shapes(),
                          "The variables")
  return {_torch_name(name): np.ascontiguousarray(_to_torch_layout(np.asarray(v, np.float32)))
          for name, v in flat.items()}


def save_variables(variables: Mapping[str, Any], path: str) -> None:
  """Writes the variables to an .npz whose keys are "params/Mixed_5b/.../kernel" etc., whole
  or not at all (written beside `path`, then renamed)."""
  flat = _flatten(variables)
  _check_names_and_shapes({k: np.shape(v) for k, v in flat.items()}, _expected_shapes(),
                          "The variables")
  storage.make_parent(storage.absolute(path))
  buffer = io.BytesIO()
  np.savez(buffer, **{k: np.asarray(v, np.float32) for k, v in flat.items()})
  storage.write_atomically(path, buffer.getvalue())


def weights_id(variables: Mapping[str, Any]) -> str:
  """16 hex digits of a sha256 of the variables' names and float32 values: the same weights
  have the same id however they were obtained (fetched and converted here, or converted by
  hand), and any other weights another."""
  digest = hashlib.sha256()
  for name, value in sorted(_flatten(variables).items()):
    digest.update(name.encode())
    digest.update(np.ascontiguousarray(np.asarray(value, np.float32)).tobytes())
  return digest.hexdigest()[:16]


def fetch_variables(directory: Optional[str] = None,
                    downloader: Optional[Any] = None) -> tuple[dict[str, Any], str]:
  """(variables, the source file's sha256) of pytorch-fid's FID Inception weights, fetched and
  verified on first use (`fetched_weights.fetch`), converted once, and the converted .npz
  cached beside them (named by the source's hash, its own hash recorded and checked on every
  later use: a damaged conversion is made again). Offline and not cached:
  `fetched_weights.WeightsUnavailableError` saying where to put the file by hand."""
  source = fetched_weights.fetch(PYTORCH_FID_WEIGHTS, directory, downloader)
  source_digest = fetched_weights.recorded_hash(source)
  converted = fetched_weights.derived_path(source_digest, CONVERTED_NAME,
                                           storage.dirname(source))
  if fetched_weights.verified(converted):
    return load_variables(converted), source_digest
  if storage.isfile(converted):
    logging.warning("The converted weights %s do not match the hash recorded when they were "
                    "written; converting %s again.", converted, source)
  variables = torch_state_dict_to_variables(torch_files.load_state_dict(source))
  save_variables(variables, converted)
  fetched_weights.record_hash(converted, fetched_weights.sha256_of(converted))
  logging.info("Converted %s into %s (once; later uses load it).", source, converted)
  return load_variables(converted), source_digest


def load_variables(path: str) -> dict[str, Any]:
  """Variables for `InceptionV3().apply` from an .npz written by `save_variables`/the converter.

  Raises FileNotFoundError (with how to obtain the weights) if `path` does not exist and
  ValueError naming the missing, unexpected or wrongly shaped arrays if it does not fit.
  """
  if not storage.isfile(path):
    raise errors.MissingFileError(f"FID Inception weights not found at {path!r}. {WEIGHTS_HELP}")
  with storage.input_file(path) as f, np.load(f, allow_pickle=False) as data:
    flat = {k: data[k] for k in data.files}
  if flat and all("/" not in k and "." in k for k in flat):
    raise errors.InvalidInputError(
        f"{path!r} holds torch-named arrays (e.g. {next(iter(flat))!r}), not "
        "jaxgan's; convert it with python -m jaxgan.convert_inception "
        f"--torch_weights={path} --output=inception_fid.npz.")
  _check_names_and_shapes({k: v.shape for k, v in flat.items()}, _expected_shapes(),
                          f"The file {path!r}")
  return traverse_util.unflatten_dict(
      {k: jnp.asarray(v, jnp.float32) for k, v in flat.items()}, sep="/")


# ---------------------------------------------------------------------------------------------
# Convenience: features of many images.

@functools.partial(jax.jit, static_argnames=("resize",))
def _apply(variables, images, resize):
  return InceptionV3().apply(variables, images, resize=resize)


@functools.partial(jax.jit, static_argnames=("resize_name",))
def features_of(variables: Mapping[str, Any], images: jax.Array, resize_name: str
                ) -> dict[str, jax.Array]:
  """{"pool": [n,2048], "logits": [n,1008]} of images [n,h,w,c] in [-1,1] (c in {1, 3})
  through a protocol's input path (`evaluation/resizing.py`): rounded to the integer pixels
  a PNG would hold, grey repeated to RGB, resized to 299x299 by `resize_name`, mapped to that
  reference's input range, then the network (without its own resize)."""
  pixels = resizing.quantize(images)
  if pixels.shape[-1] == 1:
    pixels = jnp.repeat(pixels, 3, axis=-1)
  pixels = resizing.resize(pixels, (INPUT_SIZE, INPUT_SIZE), resize_name)
  return InceptionV3().apply(variables, resizing.to_network_range(pixels, resize_name),
                             resize=False)


def extract_features(variables: Mapping[str, Any], images: np.ndarray, batch_size: int = 50,
                     resize: bool = True) -> dict[str, np.ndarray]:
  """{"pool": [n,2048], "logits": [n,1008]} float32 NumPy for images [n,h,w,c] in [-1,1].

  Runs a jitted apply over batches of `batch_size`; the last batch is zero-padded so that only
  one shape is ever compiled.
  """
  images = np.asarray(images, np.float32)
  if batch_size < 1:
    raise ValueError(f"batch_size must be >= 1; got {batch_size}.")
  if not images.shape[0]:
    return {"pool": np.zeros((0, POOL_FEATURES), np.float32),
            "logits": np.zeros((0, NUM_CLASSES), np.float32)}
  return batching.apply_in_batches(lambda batch: _apply(variables, batch, resize), images,
                                   batch_size)
