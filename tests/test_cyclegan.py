"""CycleGAN: its networks against the reference's sizes and NumPy, its objective against the
reference's formulas, the image pool against the reference's loop, the two data streams, and
the game end to end (train, resume, translate; 1/2/4 devices)."""
from __future__ import annotations

import functools
import os

import flax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import ndimage

from jaxgan import compare, optimizers, sample, train, translate
from jaxgan.core import random_streams, state
from jaxgan.data import domains, sources
from jaxgan.evaluation import records, translation
from jaxgan.experiment import builders
from jaxgan.games import image_pool
from jaxgan.models import cyclegan
from jaxgan.runtime import parallel
from jaxgan.workdir import saved_run
from tests import cyclegan_helpers, helpers


# --- Networks --------------------------------------------------------------------------

def test_instance_norm_matches_numpy():
  x = np.random.default_rng(0).normal(2.0, 3.0, (3, 5, 4, 2)).astype(np.float32)
  expected = np.empty_like(x)
  for n in range(3):
    for c in range(2):
      plane = x[n, :, :, c].astype(np.float64)
      expected[n, :, :, c] = (plane - plane.mean()) / np.sqrt(plane.var() + 1e-5)
  np.testing.assert_allclose(cyclegan.instance_norm(jnp.asarray(x)), expected, atol=1e-5)


def test_reflection_padding_matches_numpy():
  """nn.ReflectionPad2d: the edge pixel is the mirror, not repeated (x[1] before x[0])."""
  x = np.arange(2 * 4 * 3, dtype=np.float32).reshape(1, 4, 3, 2)
  padded = np.asarray(cyclegan.reflect_pad(jnp.asarray(x), 2))
  rows = [2, 1, 0, 1, 2, 3, 2, 1]  # index of each padded row in the input
  cols = [2, 1, 0, 1, 2, 1, 0]
  np.testing.assert_array_equal(padded, x[:, rows][:, :, cols])


def _torch_conv_transpose(x, weight, stride, padding, output_padding):
  """NumPy ConvTranspose2d (scatter-add form): x [n, H, W, Ci], weight [k, k, Ci, Co]."""
  n, h, w, _ = x.shape
  k = weight.shape[0]
  size = lambda s: (s - 1) * stride - 2 * padding + k + output_padding
  full = np.zeros((n, size(h) + 2 * padding + k, size(w) + 2 * padding + k, weight.shape[-1]))
  for i in range(h):
    for j in range(w):
      for th in range(k):
        for tw in range(k):
          full[:, stride * i + th, stride * j + tw] += x[:, i, j] @ weight[th, tw]
  return full[:, padding:padding + size(h), padding:padding + size(w)]


def test_upsampling_is_pytorchs_conv_transpose_with_output_padding():
  """ConvTranspose2d(k=3, stride 2, padding 1, output_padding 1), the reference's upsampling:
  flax's kernel K is PyTorch's weight flipped in both spatial axes."""
  rng = np.random.default_rng(1)
  x = rng.normal(size=(2, 5, 4, 3)).astype(np.float32)
  layer = cyclegan._conv_up(2, 3, 1, 1)
  variables = layer.init(jax.random.key(0), x)
  kernel = np.asarray(variables["params"]["kernel"])
  out = np.asarray(layer.apply(variables, x))
  assert out.shape == (2, 10, 8, 2)
  expected = _torch_conv_transpose(x, kernel[::-1, ::-1], 2, 1, 1)
  np.testing.assert_allclose(out, expected, atol=1e-5)
  unet_up = cyclegan._conv_up(2, 4, 1, 0)  # the U-Net's ConvTranspose2d(4, 2, padding 1)
  variables = unet_up.init(jax.random.key(1), x)
  expected = _torch_conv_transpose(x, np.asarray(variables["params"]["kernel"])[::-1, ::-1],
                                   2, 1, 0)
  np.testing.assert_allclose(unet_up.apply(variables, x), expected, atol=1e-5)


@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_patchgan_sees_the_published_receptive_field(n_layers, monkeypatch):
  """One patch logit depends on exactly a receptive_field(n) square of the input (70x70 for
  the reference's n_layers=3); instance norm, which couples every position, is taken out."""
  monkeypatch.setattr(cyclegan, "instance_norm", lambda x: x)
  assert cyclegan.receptive_field(n_layers) == {1: 16, 2: 34, 3: 70}[n_layers]
  critic = cyclegan.PatchDiscriminator(ndf=2, n_layers=n_layers)
  x = jnp.ones((1, 128, 128, 1))
  variables = critic.init(jax.random.key(0), x)
  logits = critic.apply(variables, x)
  centre = (logits.shape[1] // 2, logits.shape[2] // 2)
  grad = jax.grad(lambda x: critic.apply(variables, x)[0, centre[0], centre[1]])(x)
  rows, cols = np.nonzero(np.abs(np.asarray(grad[0, ..., 0])) > 0)
  assert rows.max() - rows.min() + 1 == cyclegan.receptive_field(n_layers)
  assert cols.max() - cols.min() + 1 == cyclegan.receptive_field(n_layers)


def _count(module, shape):
  variables = jax.eval_shape(lambda: module.init(jax.random.key(0), jnp.zeros(shape)))
  return state.count_params(variables["params"])


def test_networks_have_the_reference_parameter_counts():
  """The reference prints these when it builds its networks at 256x256x3 (networks.py's
  resnet_9blocks and the basic 70x70 PatchGAN, ngf = ndf = 64, instance norm): 11.378 M and
  2.765 M parameters. Its unet_256 prints 54.414 M with pix2pix's batch norm, whose convolutions
  have no biases: with instance norm (no parameters, biases kept) that is
  54,413,955 - 9,856 (BN's scales and offsets) + 5,504 (the biases) = 54,409,603."""
  shape = (1, 256, 256, 3)
  assert round(_count(cyclegan.ResnetGenerator(3, n_blocks=9), shape) / 1e6, 3) == 11.378
  assert _count(cyclegan.UnetGenerator(3, num_downs=8), shape) == 54_409_603
  assert round(_count(cyclegan.PatchDiscriminator(), shape) / 1e6, 3) == 2.765


def test_image_to_image_pairs_and_games_are_matched():
  standard = helpers.tiny_config(**{"model.name": "cyclegan_resnet"})
  with pytest.raises(builders.ConfigError, match="config.game.name='cyclegan'"):
    builders.build(standard, (16, 16, 1))
  latent = cyclegan_helpers.tiny_cyclegan_config(**{"model.name": "tiny"})
  latent.model.kwargs = type(latent.model.kwargs)()
  with pytest.raises(builders.ConfigError, match="cyclegan_resnet, cyclegan_unet"):
    builders.build(latent, (16, 16, 1))
  with_ema = cyclegan_helpers.tiny_cyclegan_config(**{"ema.decay": 0.99})
  with pytest.raises(builders.ConfigError, match="takes no stabilisers"):
    builders.build(with_ema, (16, 16, 1))
  odd = cyclegan_helpers.tiny_cyclegan_config()
  with pytest.raises(builders.ConfigError, match="multiples of 4"):
    builders.build(odd, (18, 18, 1))


# --- The objective ---------------------------------------------------------------------

def _pointwise_game(**game_kwargs):
  config = cyclegan_helpers.tiny_cyclegan_config(
      **{"model.name": "tests.cyclegan_helpers:build_pointwise"})
  config.model.kwargs = type(config.model.kwargs)()
  config.game.kwargs.update(game_kwargs)
  experiment = builders.build(config, (4, 4, 1))
  return experiment.game, experiment.init_states()


def test_objectives_are_the_references_lsgan_cycle_and_identity_losses():
  """cycle_gan_model.py with gan_mode="lsgan": G's loss MSE(D_B(G(a)), 1) + MSE(D_A(F(b)), 1)
  + lambda_A |F(G(a)) - a| + lambda_B |G(F(b)) - b| + lambda_idt (lambda_B |G(b) - b| +
  lambda_A |F(a) - a|); each D's (MSE(D(real), 1) + MSE(D(fake), 0)) / 2. With
  adversarial_weight 2, jaxgan's least_squares gives these exactly."""
  lambda_a, lambda_b, idt = 10.0, 7.0, 0.5
  game, states = _pointwise_game(lambda_a=lambda_a, lambda_b=lambda_b, lambda_identity=idt,
                                 adversarial_weight=2.0, pool_size=0)
  # Distinct parameters per network, so a swapped direction would show.
  g_params = {"ab": {"w": jnp.asarray(0.8), "c": jnp.asarray(0.1)},
              "ba": {"w": jnp.asarray(-0.6), "c": jnp.asarray(0.3)}}
  d_params = {"a": {"v": jnp.asarray(1.5), "u": jnp.asarray(-0.2)},
              "b": {"v": jnp.asarray(0.7), "u": jnp.asarray(0.4)}}
  g_state = states["g"].replace(params=g_params)
  d_state = states["d"].replace(params=d_params)
  rng = np.random.default_rng(0)
  a, b = (rng.uniform(-1, 1, (3, 4, 4, 1)).astype(np.float32) for _ in range(2))

  g = lambda name, x: np.tanh(float(g_params[name]["w"]) * x + float(g_params[name]["c"]))
  d = lambda name, x: float(d_params[name]["v"]) * x[..., 0] + float(d_params[name]["u"])
  mse = lambda x, target: np.mean((x - target) ** 2)
  fake_b, fake_a = g("ab", a), g("ba", b)
  expected_g = (mse(d("b", fake_b), 1) + mse(d("a", fake_a), 1)
                + lambda_a * np.mean(np.abs(g("ba", fake_b) - a))
                + lambda_b * np.mean(np.abs(g("ab", fake_a) - b))
                + idt * (lambda_b * np.mean(np.abs(g("ab", b) - b))
                         + lambda_a * np.mean(np.abs(g("ba", a) - a))))
  expected_d = (0.5 * (mse(d("b", b), 1) + mse(d("b", fake_b), 0))
                + 0.5 * (mse(d("a", a), 1) + mse(d("a", fake_a), 0)))

  apply = lambda fn: jax.vmap(fn, axis_name=parallel.AXIS_NAME)  # the game's axis, 1 device
  key = jax.random.key(0)
  total, (parts, fakes) = apply(lambda _: game.g_objective(g_params, g_state, d_state, a, b,
                                                           key))(jnp.zeros(1))
  np.testing.assert_allclose(total[0], expected_g, rtol=1e-5)
  weighted = (2 * (parts["g_adv_ab"] + parts["g_adv_ba"]) + lambda_a * parts["cycle_a"]
              + lambda_b * parts["cycle_b"]
              + idt * (lambda_a * parts["identity_a"] + lambda_b * parts["identity_b"]))
  np.testing.assert_allclose(weighted[0], total[0], rtol=1e-6)
  d_total, _ = apply(lambda _: game.d_objective(
      d_params, d_state, {"a": a, "b": b}, {"a": fakes[1][0], "b": fakes[0][0]}, key))(
          jnp.zeros(1))
  np.testing.assert_allclose(d_total[0], expected_d, rtol=1e-5)


def test_constant_then_linear_schedule_is_the_references_decay():
  schedule = optimizers.SCHEDULES.get("constant_then_linear")(2e-4, 100, decay_updates=40)
  np.testing.assert_allclose([float(schedule(i)) for i in (0, 59, 60, 80, 100)],
                             [2e-4, 2e-4, 2e-4, 1e-4, 0.0], atol=1e-12)


# --- The image pool --------------------------------------------------------------------

def _reference_pool(size, batches, key):
  """util/image_pool.py's loop, with the draws jaxgan's pool makes for each row."""
  stored, out = [], []
  for step, images in enumerate(batches):
    step_key = jax.random.fold_in(key, step)
    for index, image in enumerate(images):
      row_key = jax.random.fold_in(step_key, index)
      if len(stored) < size:
        stored.append(image)
        out.append(image)
      elif float(jax.random.uniform(jax.random.fold_in(row_key, 0))) > 0.5:
        slot = int(jax.random.randint(jax.random.fold_in(row_key, 1), (), 0, size))
        out.append(stored[slot])
        stored[slot] = image
      else:
        out.append(image)
  return np.stack(out), np.stack(stored)


def test_image_pool_follows_the_reference_loop():
  size, key = 5, jax.random.key(3)
  batches = [np.arange(4 * i, 4 * i + 4, dtype=np.float32)[:, None] for i in range(6)]
  pool, shown = image_pool.init(size, (1,)), []
  for step, images in enumerate(batches):
    pool, out = image_pool.query_global(pool, jnp.asarray(images), jax.random.fold_in(key, step))
    shown.append(np.asarray(out))
  expected_out, expected_stored = _reference_pool(size, batches, key)
  np.testing.assert_array_equal(np.concatenate(shown), expected_out)
  np.testing.assert_array_equal(np.asarray(pool[image_pool.IMAGES]), expected_stored)
  np.testing.assert_array_equal(np.concatenate(shown)[:size, 0], np.arange(size))  # fill order
  assert int(pool[image_pool.FILLED]) == size


def test_full_pool_swaps_half_the_images_into_uniform_slots():
  size, n = 10, 4000
  pool = image_pool.init(size, (1,))
  pool, _ = image_pool.query_global(pool, -jnp.ones((size, 1)), jax.random.key(0))
  fresh = jnp.arange(n, dtype=jnp.float32)[:, None]
  _, shown = image_pool.query_global(pool, fresh, jax.random.key(1))
  swapped = np.asarray(shown[:, 0]) != np.arange(n)
  # Binomial(4000, 1/2): sd 32; 5 sd.
  assert abs(swapped.sum() - n / 2) < 160
  # A swapped-out image came from a uniform slot: the stored images (-1 at first, later the
  # fresh ones written in) are returned; each fresh image is returned at most once.
  returned = np.asarray(shown[:, 0])[swapped]
  assert len(set(returned[returned >= 0].tolist())) == len(returned[returned >= 0])
  # Determinism: a function of the key alone.
  np.testing.assert_array_equal(image_pool.query_global(pool, fresh, jax.random.key(1))[1],
                                shown)
  assert not np.array_equal(image_pool.query_global(pool, fresh, jax.random.key(2))[1], shown)


@pytest.mark.parametrize("num_devices", [2, 4])
def test_image_pool_is_the_same_on_1_2_and_4_devices(num_devices):
  size, batch, key = 6, 8, jax.random.key(5)
  images = [np.random.default_rng(i).normal(size=(batch, 2)).astype(np.float32)
            for i in range(4)]

  def run(devices):
    step = jax.pmap(lambda pool, x, k: image_pool.query(pool, x, k, parallel.AXIS_NAME),
                    axis_name=parallel.AXIS_NAME, devices=jax.devices()[:devices])
    pool = jax.tree.map(lambda x: np.stack([x] * devices), image_pool.init(size, (2,)))
    shown = []
    for i, x in enumerate(images):
      keys = np.stack([jax.random.key_data(jax.random.fold_in(key, i))] * devices)
      pool, out = step(pool, x.reshape(devices, -1, 2), jax.random.wrap_key_data(keys))
      shown.append(np.asarray(out).reshape(batch, 2))
    return np.concatenate(shown), np.asarray(pool[image_pool.IMAGES][0])

  one, many = run(1), run(num_devices)
  np.testing.assert_array_equal(one[0], many[0])
  np.testing.assert_array_equal(one[1], many[1])


# --- The two domains -------------------------------------------------------------------

def test_thicken_is_a_3x3_grey_dilation():
  images = np.random.default_rng(0).integers(0, 256, (3, 9, 7, 1), dtype=np.uint8)
  np.testing.assert_array_equal(domains.thicken(images),
                                ndimage.grey_dilation(images, size=(1, 3, 3, 1), mode="constant",
                                                      cval=0))


def test_digit_strokes_trains_on_disjoint_digits_and_tests_on_pairs():
  rng = np.random.default_rng(0)
  mnist = sources.ImageData(rng.integers(0, 256, (30, 6, 6, 1), dtype=np.uint8),
                            rng.integers(0, 10, (30,)).astype(np.int32), 10)
  pair = domains.digit_strokes(mnist, test_size=10)
  np.testing.assert_array_equal(pair.a.images, mnist.images[0:20:2])
  np.testing.assert_array_equal(pair.b.images, domains.thicken(mnist.images[1:20:2]))
  np.testing.assert_array_equal(pair.b.labels, mnist.labels[1:20:2])
  np.testing.assert_array_equal(pair.test_a.images, mnist.images[20:])
  np.testing.assert_array_equal(pair.test_b.images, domains.thicken(mnist.images[20:]))
  assert pair.paired_test


def _batches(pair, processes=1, index=0, **layout):
  settings = dict(seed=3, global_batch_size=4, process_index=index, local_device_count=2,
                  global_device_count=2 * processes)
  return domains.DomainBatches(pair, **{**settings, **layout})


def test_domain_streams_are_shuffled_apart_per_process_and_resumable():
  images = np.arange(10 * 4, dtype=np.uint8).reshape(10, 2, 2, 1)
  same = sources.ImageData(images, None, 0)
  pair = domains.DomainPair(same, same)
  batches = _batches(pair)
  first = batches.batch(0)
  assert first["a"].shape == (2, 1, 2, 2, 2, 1)
  assert not np.array_equal(first["a"], first["b"])  # the same images, apart
  np.testing.assert_array_equal(_batches(pair).batch(7)["b"], batches.batch(7)["b"])
  halves = [_batches(pair, processes=2, index=i).batch(5) for i in range(2)]
  for name in "ab":
    rows = lambda x: x.reshape(-1, *x.shape[-3:])  # global rows, device-major
    np.testing.assert_array_equal(rows(np.concatenate([h[name] for h in halves])),
                                  rows(batches.batch(5)[name]))


def test_random_crop_and_flip_depend_on_the_draw_not_the_layout():
  images = np.random.default_rng(0).integers(0, 256, (6, 8, 8, 1), dtype=np.uint8)
  data = sources.ImageData(images, None, 0)
  pair = domains.DomainPair(data, data)
  batches = _batches(pair, random_crop=5, random_flip=True)
  out = batches.batch(2)["a"].reshape(-1, 5, 5, 1)
  indices = batches.streams["a"].example_indices(2).reshape(-1)
  for crop, index in zip(out, indices):  # each a 5x5 window of its image, maybe mirrored
    source = (crop + 1) * 127.5
    windows = [images[index, i:i + 5, j:j + 5] for i in range(4) for j in range(4)]
    assert any(np.allclose(source, w) or np.allclose(source, w[:, ::-1]) for w in windows)
  halves = [_batches(pair, processes=2, index=i, random_crop=5, random_flip=True).batch(2)["a"]
            for i in range(2)]
  np.testing.assert_array_equal(np.concatenate(halves).reshape(out.shape), out)
  with pytest.raises(ValueError, match="random_crop=9 is larger"):
    _batches(pair, random_crop=9)
  # What the grids and the evaluation see of a run on random 5x5 crops of 8x8 images.
  np.testing.assert_array_equal(domains.centre_cropped(pair, 5).test_a is None, True)
  np.testing.assert_array_equal(domains.centre_cropped(pair, 5).b.images, images[:, 1:6, 1:6])
  np.testing.assert_array_equal(domains.centre_cropped(data, 4).images, images[:, 2:6, 2:6])


def _spec(config):
  """The typed dataset settings a run reads (config.dataset)."""
  return builders.settings_of(config).dataset


def test_two_domain_files_are_read_as_the_reference_lays_them_out(tmp_path):
  cyclegan_helpers.write_domains(str(tmp_path), n_a=12, n_b=9)
  config = cyclegan_helpers.tiny_cyclegan_config(str(tmp_path))
  pair = domains.load(_spec(config))
  assert (len(pair.a.images), len(pair.b.images), len(pair.test_a.images)) == (12, 9, 8)
  config.dataset.split = "trainA"
  with pytest.raises(ValueError, match="without its domain letter"):
    domains.load(_spec(config))
  config.dataset.split = "train"
  os.remove(tmp_path / "trainB.npz")
  with pytest.raises(sources.DataUnavailableError, match="domain B .split 'trainB'"):
    domains.load(_spec(config))
  np.savez(tmp_path / "trainB.npz", images=np.zeros((0, 16, 16, 1), np.uint8))
  with pytest.raises(ValueError, match="domain B .* empty"):
    domains.load(_spec(config))
  np.savez(tmp_path / "trainB.npz", images=np.zeros((3, 16, 16, 3), np.uint8))
  with pytest.raises(ValueError, match=r"A \(16, 16, 1\), B \(16, 16, 3\)"):
    domains.load(_spec(config))
  config.dataset.name = "cycle_gan/horse2zebr"
  with pytest.raises(ValueError, match="valid: .*cycle_gan/horse2zebra"):
    domains.load(_spec(config))
  # A test split that is not there is optional; one that is there but unreadable is an error.
  config.dataset.name = "npz"
  cyclegan_helpers.write_domains(str(tmp_path), n_a=12, n_b=9)
  os.remove(tmp_path / "testB.npz")
  assert domains.load(_spec(config)).test_b is None
  (tmp_path / "testA.npz").write_bytes(b"not an npz file")
  with pytest.raises(ValueError, match="domain A .split 'testA' .*Cannot read"):
    domains.load(_spec(config))


# --- Evaluation ------------------------------------------------------------------------

class _PixelClassFeatures:
  """A stand-in extractor: the class of an image is its first pixel's bucket."""
  has_classes, num_classes, class_prior, name = True, 3, np.full(3, 1 / 3), "pixel"

  def __call__(self, images):
    flat = np.asarray(images).reshape(len(images), -1)
    classes = np.clip(((flat[:, 0] + 1) * 1.5).astype(int), 0, 2)
    return {"features": flat[:, :6].astype(np.float64), "probs": np.eye(3)[classes]}

  def provenance(self):
    return {"name": self.name}


def test_translation_scores_against_numpy():
  rng = np.random.default_rng(0)
  make = lambda n: sources.ImageData(rng.integers(0, 256, (n, 4, 4, 1), dtype=np.uint8),
                                     rng.integers(0, 3, (n,)).astype(np.int32), 3)
  test_a = make(20)
  pair = domains.DomainPair(make(30), make(30), test_a, make(20), paired_test=True)
  scorer = translation.TranslationEvaluator(_PixelClassFeatures(), pair, num_samples=16,
                                            batch_size=6, kid_subset_size=8)
  negate = lambda direction, x: -x
  out = scorer.evaluate(negate)
  a = test_a.images[:16] / 127.5 - 1
  b = pair.test_b.images[:16] / 127.5 - 1
  np.testing.assert_allclose(out["ab_cycle"], 0.0, atol=1e-6)  # -(-a) = a
  np.testing.assert_allclose(out["ab_l1_pair"], np.mean(np.abs(-a - b)), rtol=1e-5)
  classes = np.clip(((-a.reshape(16, -1)[:, 0] + 1) * 1.5).astype(int), 0, 2)
  np.testing.assert_allclose(out["ab_content"], np.mean(classes == test_a.labels[:16]))
  assert {"ab_fid", "ba_fid", "ab_fid_floor", "ba_content_floor", "ba_l1_pair"} <= set(out)


# --- The game end to end ---------------------------------------------------------------

def _states(result):
  return {k: flax.serialization.to_state_dict(result["states"][k]) for k in ("g", "d")}


@pytest.mark.slow  # Three short runs with compilations (~40 s): CI's slow set.
def test_cyclegan_trains_resumes_exactly_and_translates(tmp_path):
  os.makedirs(tmp_path / "data")
  data = cyclegan_helpers.write_domains(str(tmp_path / "data"))
  config = cyclegan_helpers.tiny_cyclegan_config(data)
  straight = train.train_and_evaluate(config, str(tmp_path / "straight"))
  config.num_train_steps = 2
  train.train_and_evaluate(config, str(tmp_path / "resumed"))
  config.num_train_steps = 4
  resumed = train.train_and_evaluate(config, str(tmp_path / "resumed"))
  jax.tree.map(np.testing.assert_array_equal, _states(straight), _states(resumed))
  pool = resumed["states"]["d"].extras["pool_b"]
  assert int(pool[image_pool.FILLED]) == 4  # 8 fakes seen by a pool of 4
  assert os.path.isfile(tmp_path / "resumed" / "samples" / "step_0000004.png")

  images = np.random.default_rng(0).integers(0, 256, (5, 16, 16, 1), dtype=np.uint8)
  out, step = translate.translate(str(tmp_path / "resumed"), images, "b2a")
  assert out.shape == images.shape and out.dtype == np.uint8 and step == 4
  run = saved_run.load_run(str(tmp_path / "resumed"))
  expected = run.game.generate(run.sampling_variables(), {"b": images / 127.5 - 1.0})
  np.testing.assert_allclose(out, np.asarray((np.asarray(expected) + 1) * 127.5 + 0.5,
                                             np.int64).clip(0, 255), atol=1)
  with pytest.raises(ValueError, match="trained on"):
    translate.translate(str(tmp_path / "resumed"), images[:, :8], "a2b")
  with pytest.raises(ValueError, match="jaxgan.translate"):
    sample.generate(str(tmp_path / "resumed"), 4)


def _cyclegan_steps(num_devices, steps=3, batch=8):
  """With SGD: a convolution's bias just before an instance norm has gradient 0 (the norm
  removes it), so float noise of ~1e-9 is all it gets, and Adam would scale that noise to a
  full step whose sign depends on the summation order (the reference has the same biases)."""
  config = cyclegan_helpers.tiny_cyclegan_config(batch_size=batch)
  for optimizer in (config.g_optimizer, config.d_optimizer):
    optimizer.name, optimizer.learning_rate = "sgd", 0.002
    optimizer.kwargs = type(optimizer.kwargs)()
  experiment = builders.build(config, (16, 16, 1))
  p_step = helpers.pmapped_run_step(experiment, num_devices)
  stack = lambda tree: jax.tree.map(lambda x: np.stack([np.asarray(x)] * num_devices), tree)
  states, keys = stack(experiment.init_states()), stack(random_streams.base_key(config.seed))
  rng = np.random.default_rng(0)
  split = lambda x: x.reshape(1, num_devices, -1, *x.shape[2:]).swapaxes(0, 1)
  for _ in range(steps):
    batch_in = {name: split(rng.uniform(-1, 1, (1, batch, 16, 16, 1)).astype(np.float32))
                for name in "ab"}
    states, metrics = p_step(states, batch_in, keys)
  return jax.device_get(parallel.unreplicate(states)), jax.device_get(
      parallel.unreplicate(metrics))


# Slow (each ~12 s, two compilations): the pool's layout test above is the default sibling.
# Tolerance: summation order differs with the layout and Adam magnifies that rounding in
# near-zero gradients (tests/test_steps.py measures it, and shows it is rounding in float64):
# measured at most 2.2e-6 (Python 3.12) and 6.3e-6 (3.13, in CI) under jax 0.12.0.1, within
# 1e-6 under 0.10.2 (2026-12-02): up to 3% of one lr = 2e-4 step. A layout dependence of the
# math would move parameters by ~lr, 10x this test's atol of 2e-5. The pool's images (G's
# outputs in [-1, 1]) inherit it: 1.4e-6 measured (3.13), atol 1e-5; a wrongly swapped
# image would differ by ~1.
@pytest.mark.slow
@pytest.mark.parametrize("num_devices", [2, 4])
def test_cyclegan_step_is_the_same_on_1_2_and_4_devices(num_devices):
  (one, one_metrics), (many, many_metrics) = _cyclegan_steps(1), _cyclegan_steps(num_devices)
  for name in ("g", "d"):
    jax.tree.map(functools.partial(np.testing.assert_allclose, rtol=2e-5, atol=2e-5),
                 jax.tree.map(np.asarray, one[name].params),
                 jax.tree.map(np.asarray, many[name].params))
  np.testing.assert_allclose(one["d"].extras["pool_a"]["images"],
                             many["d"].extras["pool_a"]["images"], rtol=2e-5, atol=1e-5)
  assert one_metrics.keys() == many_metrics.keys()
  np.testing.assert_allclose(one_metrics["g_loss"], many_metrics["g_loss"], rtol=2e-5)


def test_translate_reads_folders_and_arrays_and_writes_either(tmp_path):
  from PIL import Image
  images = np.random.default_rng(0).integers(0, 256, (3, 6, 5), dtype=np.uint8)
  np.savez(tmp_path / "in.npz", images=images)
  read, names = translate.read_inputs(str(tmp_path / "in.npz"))
  np.testing.assert_array_equal(read, images[..., None])
  folder = tmp_path / "folder"
  translate.write_outputs(str(folder), read, read, ["x", "y", "z"])
  again, names = translate.read_inputs(str(folder))
  np.testing.assert_array_equal(again, read)
  assert names == ["x", "y", "z"]
  translate.write_outputs(str(tmp_path / "out.npz"), read, read, names)
  with np.load(tmp_path / "out.npz") as saved:
    np.testing.assert_array_equal(saved["images"], read)
  Image.fromarray(np.zeros((7, 7), np.uint8)).save(folder / "w.png")
  with pytest.raises(ValueError, match="differ in size"):
    translate.read_inputs(str(folder))
  with pytest.raises(FileNotFoundError, match="neither an .npz file nor a folder"):
    translate.read_inputs(str(tmp_path / "missing"))
  with pytest.raises(ValueError, match="valid: a2b, b2a"):
    translate.translate(str(tmp_path), read, "a_to_b")


def test_compare_tables_translations_both_ways(tmp_path):
  for seed, fid in ((0, 41.5), (1, 43.5)):
    workdir = tmp_path / f"run{seed}"
    os.makedirs(workdir)
    config = cyclegan_helpers.tiny_cyclegan_config(seed=seed)
    (workdir / "config.json").write_text(config.to_json())
    (workdir / "metrics.jsonl").write_text('{"step": 2, "d_loss": 1.0}\n')
    records.append(str(workdir), {"step": 2, "provenance": {"feature_extractor": {
        "name": "classifier", "id": "c"}, "num_samples": 100}, "generator": {
            "ab_fid": fid, "ba_fid": 33.7, "ab_content": 0.972, "ba_content": 0.965,
            "ab_l1_pair": 0.0358, "ba_l1_pair": 0.0418}})
  text = compare.table([compare.RunSummary(str(tmp_path / f"run{s}"), f"run{s}")
                        for s in (0, 1)])
  assert "| A->B FID | B->A FID | content A->B |" in text
  assert "| run0 | 2 | 41.50 | 33.70 | 0.972 | 0.965 | 0.0358 | 0.0418 |" in text
  assert "A->B FID 42.50 ± 1.41" in text  # Seeds averaged, as for generators.
