"""FID Inception-v3: layout against an independent architecture table, forward passes on small
inputs, the FID pool branches and resize against NumPy references, and weight conversion/IO.

Parity with pytorch-fid itself needs torch: experiments/inception_parity/check.py.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import traverse_util

from jaxgan import convert_inception
from jaxgan.evaluation import inception

# Verified against pytorch-fid's fid_inception_v3() (torchvision 0.28) in
# experiments/inception_parity: sum(p.numel() for p in net.parameters()).
TORCH_PARAMETER_COUNT = 23_850_960


def _architecture_table() -> list[tuple[str, int, int, tuple[int, int]]]:
  """(torch module name, in channels, out channels, kernel) of every BasicConv2d, written from
  the architecture description (torchvision's Inception-v3 / the FID variant); the input
  channels of each block are the concatenated outputs of the previous one."""
  convs = []

  def conv(name, cin, cout, k):
    convs.append((name, cin, cout, (k, k) if isinstance(k, int) else k))

  conv("Conv2d_1a_3x3", 3, 32, 3)
  conv("Conv2d_2a_3x3", 32, 32, 3)
  conv("Conv2d_2b_3x3", 32, 64, 3)
  conv("Conv2d_3b_1x1", 64, 80, 1)
  conv("Conv2d_4a_3x3", 80, 192, 3)
  c = 192
  for block, pool_features in (("Mixed_5b", 32), ("Mixed_5c", 64), ("Mixed_5d", 64)):
    conv(f"{block}.branch1x1", c, 64, 1)
    conv(f"{block}.branch5x5_1", c, 48, 1)
    conv(f"{block}.branch5x5_2", 48, 64, 5)
    conv(f"{block}.branch3x3dbl_1", c, 64, 1)
    conv(f"{block}.branch3x3dbl_2", 64, 96, 3)
    conv(f"{block}.branch3x3dbl_3", 96, 96, 3)
    conv(f"{block}.branch_pool", c, pool_features, 1)
    c = 64 + 64 + 96 + pool_features
  assert c == 288
  conv("Mixed_6a.branch3x3", c, 384, 3)
  conv("Mixed_6a.branch3x3dbl_1", c, 64, 1)
  conv("Mixed_6a.branch3x3dbl_2", 64, 96, 3)
  conv("Mixed_6a.branch3x3dbl_3", 96, 96, 3)
  c = 384 + 96 + c  # + the max-pooled input
  assert c == 768
  for block, c7 in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
    conv(f"{block}.branch1x1", c, 192, 1)
    conv(f"{block}.branch7x7_1", c, c7, 1)
    conv(f"{block}.branch7x7_2", c7, c7, (1, 7))
    conv(f"{block}.branch7x7_3", c7, 192, (7, 1))
    conv(f"{block}.branch7x7dbl_1", c, c7, 1)
    conv(f"{block}.branch7x7dbl_2", c7, c7, (7, 1))
    conv(f"{block}.branch7x7dbl_3", c7, c7, (1, 7))
    conv(f"{block}.branch7x7dbl_4", c7, c7, (7, 1))
    conv(f"{block}.branch7x7dbl_5", c7, 192, (1, 7))
    conv(f"{block}.branch_pool", c, 192, 1)
    c = 4 * 192
  conv("Mixed_7a.branch3x3_1", c, 192, 1)
  conv("Mixed_7a.branch3x3_2", 192, 320, 3)
  conv("Mixed_7a.branch7x7x3_1", c, 192, 1)
  conv("Mixed_7a.branch7x7x3_2", 192, 192, (1, 7))
  conv("Mixed_7a.branch7x7x3_3", 192, 192, (7, 1))
  conv("Mixed_7a.branch7x7x3_4", 192, 192, 3)
  c = 320 + 192 + c
  assert c == 1280
  for block in ("Mixed_7b", "Mixed_7c"):
    conv(f"{block}.branch1x1", c, 320, 1)
    conv(f"{block}.branch3x3_1", c, 384, 1)
    conv(f"{block}.branch3x3_2a", 384, 384, (1, 3))
    conv(f"{block}.branch3x3_2b", 384, 384, (3, 1))
    conv(f"{block}.branch3x3dbl_1", c, 448, 1)
    conv(f"{block}.branch3x3dbl_2", 448, 384, 3)
    conv(f"{block}.branch3x3dbl_3a", 384, 384, (1, 3))
    conv(f"{block}.branch3x3dbl_3b", 384, 384, (3, 1))
    conv(f"{block}.branch_pool", c, 192, 1)
    c = 320 + 2 * 384 + 2 * 384 + 192
  assert c == inception.POOL_FEATURES
  return convs


def _expected_torch_shapes() -> dict[str, tuple[int, ...]]:
  """pytorch-fid's state-dict names and shapes, from the table."""
  shapes = {}
  for name, cin, cout, (kh, kw) in _architecture_table():
    shapes[f"{name}.conv.weight"] = (cout, cin, kh, kw)
    for leaf in ("weight", "bias", "running_mean", "running_var"):
      shapes[f"{name}.bn.{leaf}"] = (cout,)
  shapes["fc.weight"] = (inception.NUM_CLASSES, inception.POOL_FEATURES)
  shapes["fc.bias"] = (inception.NUM_CLASSES,)
  return shapes


def _random_variables(seed: int = 0) -> dict:
  """Random variables scaled so activations stay O(1); positive BN variances."""
  rng = np.random.default_rng(seed)
  flat = {}
  for name, shape in traverse_util.flatten_dict(inception.variable_shapes(), sep="/").items():
    if name.endswith("/kernel"):
      value = rng.standard_normal(shape) * np.sqrt(2.0 / np.prod(shape[:-1]))
    elif name.endswith("/var"):
      value = rng.uniform(0.5, 2.0, shape)
    elif name.endswith("/scale"):
      value = rng.uniform(0.5, 1.5, shape)
    else:
      value = 0.1 * rng.standard_normal(shape)
    flat[name] = value.astype(np.float32)
  return traverse_util.unflatten_dict(flat, sep="/")


@pytest.fixture(scope="module")
def variables():
  return _random_variables()


def _flat(tree):
  return traverse_util.flatten_dict(tree, sep="/")


# ---------------------------------------------------------------------------------------------
# Layout.

def test_output_shapes_at_299():
  abstract = jax.tree.map(lambda s: jax.ShapeDtypeStruct(s, jnp.float32),
                          inception.variable_shapes(), is_leaf=lambda x: isinstance(x, tuple))
  for shape in ((3, 299, 299, 3), (2, 28, 28, 1)):
    out = jax.eval_shape(inception.InceptionV3().apply, abstract,
                         jax.ShapeDtypeStruct(shape, jnp.float32))
    assert out["pool"].shape == (shape[0], 2048)
    assert out["logits"].shape == (shape[0], 1008)


def test_layout_matches_architecture_table():
  expected = _expected_torch_shapes()
  # The converter's expectations equal the table's: it is strict, so a zero state dict built
  # from the table must convert, and convert back to exactly the table's names and shapes.
  variables = inception.torch_state_dict_to_variables(
      {k: np.zeros(s, np.float32) for k, s in expected.items()})
  back = inception.variables_to_torch_state_dict(variables)
  assert {k: v.shape for k, v in back.items()} == expected
  params = sum(np.prod(s) for k, s in expected.items() if "running_" not in k)
  assert params == TORCH_PARAMETER_COUNT
  flax_params = sum(np.prod(s) for s in _flat(inception.variable_shapes()["params"]).values())
  assert flax_params == TORCH_PARAMETER_COUNT
  assert len(expected) == 94 * 5 + 2  # 94 BasicConv2d (conv weight + 4 BN arrays) + fc.


# ---------------------------------------------------------------------------------------------
# Forward passes.

def test_forward_small_inputs(variables):
  rng = np.random.default_rng(1)
  images = rng.uniform(-1, 1, (2, 75, 75, 3)).astype(np.float32)
  out = jax.jit(lambda v, x: inception.InceptionV3().apply(v, x, resize=False))(variables, images)
  assert out["pool"].shape == (2, 2048) and out["logits"].shape == (2, 1008)
  assert np.isfinite(out["pool"]).all() and np.isfinite(out["logits"]).all()
  assert (np.asarray(out["pool"]) >= 0).all()  # Mean of ReLU outputs.
  assert not np.allclose(out["pool"][0], out["pool"][1])  # Depends on the input.
  np.testing.assert_allclose(
      out["logits"], out["pool"] @ variables["params"]["fc"]["kernel"]
      + variables["params"]["fc"]["bias"], rtol=1e-4, atol=1e-4)
  with pytest.raises(ValueError, match="at least 75x75"):
    inception.InceptionV3().apply(variables, images[:, :74, :74], resize=False)


def test_forward_grayscale_resized(variables):
  gray = np.random.default_rng(2).uniform(-1, 1, (1, 28, 28, 1)).astype(np.float32)
  features = inception.extract_features(variables, gray, batch_size=1)
  assert features["pool"].shape == (1, 2048) and features["logits"].shape == (1, 1008)
  assert np.isfinite(features["pool"]).all() and np.isfinite(features["logits"]).all()


def test_preprocess_repeats_gray_and_matches_torch_bilinear():
  rng = np.random.default_rng(3)
  for size in (28, 64, 400):  # Upsampling and downsampling.
    gray = rng.uniform(-1, 1, (1, size, size, 1)).astype(np.float32)
    x = np.asarray(inception.preprocess(gray))
    assert x.shape == (1, 299, 299, 3)
    np.testing.assert_array_equal(x, np.asarray(inception.preprocess(np.repeat(gray, 3, -1))))
    # Up to ~4e-5: both compute source coordinates in float32 (~1e-7 * size of roundoff).
    np.testing.assert_allclose(x[0, :, :, 0], _torch_bilinear(gray[0, :, :, 0], 299),
                               rtol=0, atol=1e-4)
  image = rng.uniform(-1, 1, (1, 299, 299, 3)).astype(np.float32)
  np.testing.assert_array_equal(inception.preprocess(image), image)
  assert inception.preprocess(gray, resize=False).shape == (1, 400, 400, 3)


def _torch_bilinear(image: np.ndarray, out: int) -> np.ndarray:
  """F.interpolate(mode="bilinear", align_corners=False) of a square [h, w] image, in NumPy."""
  def taps(n_in):
    src = np.maximum((np.arange(out) + 0.5) * n_in / out - 0.5, 0.0)  # torch clamps at 0.
    i0 = np.minimum(np.floor(src).astype(int), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, src - i0
  r0, r1, fr = taps(image.shape[0])
  c0, c1, fc = taps(image.shape[1])
  rows = image[r0] * (1 - fr)[:, None] + image[r1] * fr[:, None]
  return rows[:, c0] * (1 - fc)[None, :] + rows[:, c1] * fc[None, :]


def test_avg_pool_excludes_padding():
  x = np.random.default_rng(4).standard_normal((2, 5, 6, 3)).astype(np.float32)
  reference = np.empty_like(x)
  for i in range(5):
    for j in range(6):
      window = x[:, max(i - 1, 0):i + 2, max(j - 1, 0):j + 2]  # Valid pixels only.
      reference[:, i, j] = window.mean(axis=(1, 2))
  got = np.asarray(inception.avg_pool_3x3_exclude_pad(jnp.asarray(x)))
  np.testing.assert_allclose(got, reference, rtol=1e-6, atol=1e-6)
  np.testing.assert_allclose(got[:, 0, 0], x[:, :2, :2].mean(axis=(1, 2)), rtol=1e-6)


def test_pool_branches_by_block():
  # Padded positions never win a max pool: a negative constant input stays constant.
  x = -np.ones((1, 4, 4, 2), np.float32)
  np.testing.assert_array_equal(inception.max_pool_3x3(jnp.asarray(x), stride=1, padding=1), x)
  # Which pooling each block uses, recorded while tracing the whole network at 299x299: the
  # exclude-padding average in Mixed_5b-5d (35x35), 6b-6e (17x17) and 7b (8x8); max pools in
  # the stem, the reductions 6a and 7a, and 3x3/stride 1/pad 1 in Mixed_7c (FIDInceptionE_2).
  calls = []
  avg, mx = inception.avg_pool_3x3_exclude_pad, inception.max_pool_3x3

  def avg_spy(x):
    calls.append(("avg", x.shape[1], x.shape[3]))
    return avg(x)

  def max_spy(x, stride, padding):
    calls.append((f"max s{stride} p{padding}", x.shape[1], x.shape[3]))
    return mx(x, stride, padding)

  try:
    inception.avg_pool_3x3_exclude_pad, inception.max_pool_3x3 = avg_spy, max_spy
    jax.eval_shape(functools.partial(inception.InceptionV3().init, resize=False),
                   jax.random.key(0), jax.ShapeDtypeStruct((1, 299, 299, 3), jnp.float32))
  finally:
    inception.avg_pool_3x3_exclude_pad, inception.max_pool_3x3 = avg, mx
  assert calls == [
      ("max s2 p0", 147, 64), ("max s2 p0", 71, 192),                       # Stem.
      ("avg", 35, 192), ("avg", 35, 256), ("avg", 35, 288),                  # Mixed_5b-5d.
      ("max s2 p0", 35, 288),                                                # Mixed_6a.
      ("avg", 17, 768), ("avg", 17, 768), ("avg", 17, 768), ("avg", 17, 768),  # Mixed_6b-6e.
      ("max s2 p0", 17, 768),                                                # Mixed_7a.
      ("avg", 8, 1280),                                                      # Mixed_7b.
      ("max s1 p1", 8, 2048)]                                                # Mixed_7c.


# ---------------------------------------------------------------------------------------------
# Conversion and files.

def test_torch_round_trip(variables):
  state_dict = inception.variables_to_torch_state_dict(variables)
  kernel = variables["params"]["Mixed_6b"]["branch7x7_2"]["conv"]["kernel"]  # [1, 7, 128, 128]
  weight = state_dict["Mixed_6b.branch7x7_2.conv.weight"]
  assert weight.shape == (128, 128, 1, 7)
  assert weight[5, 3, 0, 6] == kernel[0, 6, 3, 5]  # OIHW <- HWIO.
  np.testing.assert_array_equal(state_dict["fc.weight"], variables["params"]["fc"]["kernel"].T)
  np.testing.assert_array_equal(state_dict["Mixed_5b.branch1x1.bn.running_var"],
                                variables["batch_stats"]["Mixed_5b"]["branch1x1"]["bn"]["var"])
  state_dict["Conv2d_1a_3x3.bn.num_batches_tracked"] = np.array(0)  # Accepted, ignored.
  back = inception.torch_state_dict_to_variables(state_dict)
  a, b = _flat(variables), _flat(back)
  assert a.keys() == b.keys()
  for k in a:
    np.testing.assert_array_equal(a[k], b[k])


def test_torch_conversion_errors_name_the_keys(variables):
  state_dict = inception.variables_to_torch_state_dict(variables)
  del state_dict["Mixed_7c.branch_pool.bn.running_mean"]
  state_dict["Mixed_6e.branch7x7_3.conv.weight"] = np.zeros((192, 192, 1, 7), np.float32)
  state_dict["AuxLogits.fc.weight"] = np.zeros((1000, 768), np.float32)
  with pytest.raises(ValueError) as info:
    inception.torch_state_dict_to_variables(state_dict)
  message = str(info.value)
  for key in ("Mixed_7c.branch_pool.bn.running_mean", "Mixed_6e.branch7x7_3.conv.weight",
              "AuxLogits.fc.weight", "(192, 192, 7, 1)"):
    assert key in message


def test_save_load_round_trip_and_errors(variables, tmp_path):
  path = str(tmp_path / "inception_fid.npz")
  inception.save_variables(variables, path)
  loaded = inception.load_variables(path)
  a, b = _flat(variables), _flat(loaded)
  assert a.keys() == b.keys()
  for k in a:
    np.testing.assert_array_equal(a[k], np.asarray(b[k]))

  with pytest.raises(FileNotFoundError) as info:
    inception.load_variables(str(tmp_path / "absent.npz"))
  assert "pt_inception-2015-12-05-6726825d.pth" in str(info.value)
  assert "fetches" in str(info.value) and "convert_inception" in str(info.value)

  flat = {k: np.asarray(v) for k, v in a.items()}
  missing = dict(flat)
  del missing["params/Mixed_5d/branch5x5_2/conv/kernel"]
  np.savez(tmp_path / "missing.npz", **missing)
  with pytest.raises(ValueError, match="missing: params/Mixed_5d/branch5x5_2/conv/kernel"):
    inception.load_variables(str(tmp_path / "missing.npz"))
  misshaped = dict(flat)
  misshaped["batch_stats/Conv2d_4a_3x3/bn/mean"] = np.zeros(191, np.float32)
  np.savez(tmp_path / "misshaped.npz", **misshaped)
  with pytest.raises(ValueError, match=r"batch_stats/Conv2d_4a_3x3/bn/mean: \(191,\)"):
    inception.load_variables(str(tmp_path / "misshaped.npz"))
  # A torch-named file (the converter's input, not output) gets a pointer to the converter.
  np.savez(tmp_path / "torch_named.npz", **{"fc.bias": np.zeros(1008, np.float32)})
  with pytest.raises(ValueError, match="convert_inception"):
    inception.load_variables(str(tmp_path / "torch_named.npz"))


def test_converter_reads_state_dict_npz(variables, tmp_path):
  source = str(tmp_path / "torch_state_dict.npz")
  np.savez(source, **inception.variables_to_torch_state_dict(variables))
  output = str(tmp_path / "ours.npz")
  convert_inception.convert(source, output)
  loaded = _flat(inception.load_variables(output))
  for k, v in _flat(variables).items():
    np.testing.assert_array_equal(v, np.asarray(loaded[k]))
  with pytest.raises(FileNotFoundError, match="pytorch-fid"):
    convert_inception.convert(str(tmp_path / "absent.pth"), output)
  open(tmp_path / "weights.pth", "wb").close()  # Empty: not a torch file, said so.
  with pytest.raises(ValueError, match="not a torch.save file"):
    convert_inception.convert(str(tmp_path / "weights.pth"), output)


def test_extract_features_pads_last_batch(variables, monkeypatch):
  calls = []

  def fake_apply(v, images, resize):
    calls.append(images.shape)
    n = images.shape[0]
    return {"pool": jnp.tile(images[:, :1, 0, 0], (1, 2048)), "logits": jnp.zeros((n, 1008))}

  monkeypatch.setattr(inception, "_apply", fake_apply)
  images = np.arange(5, dtype=np.float32).reshape(5, 1, 1, 1) * np.ones((5, 3, 3, 3), np.float32)
  out = inception.extract_features(variables, images, batch_size=2)
  assert calls == [(2, 3, 3, 3)] * 3  # One shape only: the last batch is padded.
  np.testing.assert_array_equal(out["pool"][:, 0], np.arange(5))
  assert out["logits"].shape == (5, 1008)
