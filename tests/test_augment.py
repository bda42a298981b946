"""Differentiable augmentation (jaxgan.plugins.augment, jaxgan.plugins.augmentation): every
transform against NumPy/SciPy, p = 0 the identity, gradients, firing rates, ADA's controller by
hand, and the train step with augmentation on 1, 2 and 4 devices and across a resume."""
import flax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.ndimage
from jax.test_util import check_grads

from jaxgan import train
from jaxgan.experiment import builders
from jaxgan.plugins import augmentation
from jaxgan.plugins.augment import ada, diffaugment, resample
from tests import helpers

RNG = np.random.default_rng(0)
IMAGE = RNG.uniform(-1, 1, (12, 10, 3)).astype(np.float32)


# --- DiffAugment ---------------------------------------------------------------------------

def test_diffaugment_colour_matches_the_formulas():
  x = IMAGE
  np.testing.assert_allclose(diffaugment.brightness(x, 0.8), x + 0.3, rtol=1e-6)
  mean_c = x.mean(-1, keepdims=True)
  np.testing.assert_allclose(diffaugment.saturation(x, 0.3), (x - mean_c) * 0.6 + mean_c,
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(diffaugment.contrast(x, 0.9), (x - x.mean()) * 1.4 + x.mean(),
                             rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shift", [(0, 0), (2, -1), (-2, 1)])
def test_diffaugment_translation_shifts_in_zeros(shift):
  out = np.asarray(diffaugment.translate(IMAGE, shift))
  expected = np.zeros_like(IMAGE)
  for i in range(IMAGE.shape[0]):
    for j in range(IMAGE.shape[1]):
      si, sj = i + shift[0], j + shift[1]
      if 0 <= si < IMAGE.shape[0] and 0 <= sj < IMAGE.shape[1]:
        expected[i, j] = IMAGE[si, sj]
  np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("offset", [(0, 0), (5, 4), (12, 10)])
def test_diffaugment_cutout_zeroes_the_reference_square(offset):
  height, width = IMAGE.shape[:2]
  h, w = int(height * 0.5 + 0.5), int(width * 0.5 + 0.5)
  mask = np.ones((height, width), np.float32)  # The reference: clamped index grids.
  rows = np.clip(np.arange(h) + offset[0] - h // 2, 0, height - 1)
  cols = np.clip(np.arange(w) + offset[1] - w // 2, 0, width - 1)
  mask[np.ix_(rows, cols)] = 0
  np.testing.assert_array_equal(np.asarray(diffaugment.cut_out(IMAGE, offset)),
                                IMAGE * mask[..., None])


def test_diffaugment_draws_within_the_reference_ranges():
  keys = jax.random.split(jax.random.PRNGKey(0), 400)
  flat = np.ones((16, 16, 1), np.float32)
  out = np.asarray(jax.vmap(lambda k: diffaugment.augment(flat, k, ("translation",)))(keys))
  # A shift of (dy, dx) zeroes |dy| rows and |dx| columns: at most 2 of 16 each way.
  zero_rows = [(o[:, 8, 0] == 0).sum() for o in out]
  assert max(zero_rows) == 2 and min(zero_rows) == 0
  cut = np.asarray(jax.vmap(lambda k: diffaugment.augment(flat, k, ("cutout",)))(keys))
  areas = (cut == 0).sum(axis=(1, 2, 3))
  assert areas.max() == 64 and areas.min() > 0  # An 8x8 square, cut at the border.


# --- ADA: the resampling pieces -----------------------------------------------------------

def test_upsampling_then_downsampling_with_the_orthogonal_filter_is_the_identity():
  taps = resample.normalized(resample.SYM6)
  x = RNG.uniform(-1, 1, (20, 20, 2)).astype(np.float32)
  up = resample.upsample2x(x, taps)
  assert up.shape == (40, 40, 2)
  down = resample.downsample2x(up, taps, padding=0, flip_filter=True)
  # Away from the borders (zero padding there), exactly x up to float rounding.
  np.testing.assert_allclose(np.asarray(down)[6:-6, 6:-6], x[6:-6, 6:-6], atol=2e-5)


def test_affine_sample_is_torchs_grid_sample_on_hand_cases():
  x = RNG.uniform(-1, 1, (6, 8, 1)).astype(np.float32)
  identity = jnp.array([[1.0, 0, 0], [0, 1.0, 0]])
  np.testing.assert_allclose(resample.affine_sample(x, identity, 6, 8), x, atol=1e-6)
  # Half a pixel to the right in normalised units: the mean of neighbours, zero beyond.
  shift = jnp.array([[1.0, 0, 1.0 / 8], [0, 1.0, 0]])
  out = np.asarray(resample.affine_sample(x, shift, 6, 8))
  np.testing.assert_allclose(out[:, :-1], (x[:, :-1] + x[:, 1:]) / 2, atol=1e-6)
  np.testing.assert_allclose(out[:, -1], x[:, -1] / 2, atol=1e-6)


# --- ADA: the transforms ------------------------------------------------------------------

def _warp(image, g_inv):
  return np.asarray(ada.warp(jnp.asarray(image), jnp.asarray(g_inv, jnp.float32)))


def _smooth(size=16):
  yy, xx = np.mgrid[:size, :size].astype(np.float64)
  blob = np.exp(-((xx - 6) ** 2 + (yy - 9) ** 2) / (2 * 3.0 ** 2)) * 2 - 1
  return np.stack([blob, blob.T, -blob], -1).astype(np.float32)


def test_pixel_blitting_moves_pixels():
  """Flip, quarter turn and integer translation move pixels (numpy's flip, rot90 and a
  reflect-padded shift). Not to the last bit: the warp runs through the Symlet-6 filters,
  which are not linear-phase, so a flip also moves the image by a fraction of a pixel: on
  noise up to 0.24, on this smooth image 0.04 (the reference's flip does the same:
  test_the_pipeline_matches_the_reference_implementation). A wrong matrix is off by ~1."""
  x = _smooth()
  np.testing.assert_allclose(_warp(x, ada.scale2d(-1.0, 1.0)), x[:, ::-1], atol=0.05)
  # rotate2d(pi/2) as g_inv: output (x, y) reads input (-y, x), i.e. out[r, c] = in[c, W-1-r].
  np.testing.assert_allclose(_warp(x, ada.rotate2d(np.pi / 2)), np.rot90(x, k=1), atol=0.05)
  # translate2d(-3, 2): output (x, y) reads input (x - 3, y + 2); reflected beyond the border.
  padded = np.pad(x, [(4, 4), (4, 4), (0, 0)], mode="reflect")
  np.testing.assert_allclose(_warp(x, ada.translate2d(-3.0, 2.0)),
                             padded[4 + 2:4 + 2 + 16, 4 - 3:4 - 3 + 16], atol=0.05)


def _reference_cases():
  """tests/data/ada_reference.npz: NVlabs' AugmentPipe with one transform at multiplier 1 and
  debug_percentile q fixing its parameter (tests/data/README.md); the same parameters here."""
  from scipy.special import erfinv  # pylint: disable=g-import-not-at-top
  s = lambda q, std: 2 ** (erfinv(2 * q - 1) * std)
  outer = np.outer(ada.LUMA, ada.LUMA)
  geometric = {
      "xflip": ada.scale2d(-1.0, 1.0),                      # q 0.75: i = 1
      "rot90": ada.rotate2d(np.pi / 2),                     # q 0.3: i = 1
      "xint": ada.translate2d(-2.0, -2.0),                  # q 0.9: round(0.1 * 16)
      "rotate": ada.rotate2d(0.2 * np.pi),                  # q 0.6 (the post-rotation: 0)
      "scale": ada.scale2d(1 / s(0.8, 0.2), 1 / s(0.8, 0.2)),
      "aniso": ada.scale2d(1 / s(0.3, 0.2), s(0.3, 0.2)),
      "xfrac": ada.translate2d(-erfinv(0.4) * 2, -erfinv(0.4) * 2),  # q 0.7, 0.125 * 16
  }
  colour = {
      "bright": ada.translate3d(erfinv(0.6) * 0.2),          # q 0.8
      "contrast": ada.scale3d(s(0.9, 0.5)),
      "lumaflip": np.eye(4) - 2 * outer,                     # q 0.9: i = 1
      "hue": ada.rotate3d_about_luma(0.4 * np.pi),           # q 0.7
      "sat": outer + (np.eye(4) - outer) * s(0.2, 1.0),
  }
  return geometric, colour


def test_the_pipeline_matches_the_reference_implementation():
  import os  # pylint: disable=g-import-not-at-top
  ref = np.load(os.path.join(os.path.dirname(__file__), "data", "ada_reference.npz"))
  x = ref["image"]
  geometric, colour = _reference_cases()
  for name, g_inv in geometric.items():
    np.testing.assert_allclose(_warp(x, g_inv), ref[name], atol=2e-5, err_msg=name)
  settings = ada.AdaSettings(brightness=1.0)
  for name, c in colour.items():
    params = ada.draw(jax.random.PRNGKey(0), 0.0, settings, x.shape)._replace(
        color=jnp.asarray(c, jnp.float32))
    np.testing.assert_allclose(ada.apply(jnp.asarray(x), params, settings), ref[name],
                               atol=2e-6, err_msg=name)


@pytest.mark.parametrize("name,g_inv", [
    ("rotate 0.3 rad", ada.rotate2d(0.3)),
    ("scale 1.25 and anisotropic", ada.scale2d(0.8, 0.8) @ ada.scale2d(1 / 1.1, 1.1)),
    ("fractional translation", ada.translate2d(1.4, -0.6)),
])
def test_geometric_transforms_match_scipy_on_a_smooth_image(name, g_inv):
  size = 32
  yy, xx = np.mgrid[:size, :size].astype(np.float64)
  blob = np.exp(-((xx - 14) ** 2 + (yy - 17) ** 2) / (2 * 4.0 ** 2)) * 2 - 1
  image = np.stack([blob, blob.T, -blob], -1).astype(np.float32)
  g = np.asarray(g_inv, np.float64)
  centre = (size - 1) / 2
  # g maps output (x, y) centred -> input; scipy maps output (row, col) -> input (row, col).
  swap = np.array([[0, 1], [1, 0]])
  matrix = swap @ g[:2, :2] @ swap
  offset = centre - matrix @ [centre, centre] + swap @ g[:2, 2]
  expected = np.stack([scipy.ndimage.affine_transform(image[..., c], matrix, offset, order=3,
                                                      mode="mirror") for c in range(3)], -1)
  got = _warp(image, g)
  # The reference resamples through a low-pass filter, SciPy with cubic splines: within
  # interpolation tolerance on a smooth image (a wrong matrix is off by ~1).
  np.testing.assert_allclose(got[4:-4, 4:-4], expected[4:-4, 4:-4], atol=0.03, err_msg=name)


def test_colour_transforms_match_their_matrices():
  rgb = RNG.uniform(-1, 1, (5, 4, 3)).astype(np.float32)
  luma = rgb.mean(-1, keepdims=True)
  settings = ada.AdaSettings(brightness=1.0)

  def with_color(image, c):
    params = ada.draw(jax.random.PRNGKey(0), 0.0, settings, image.shape)._replace(
        color=jnp.asarray(c, jnp.float32))
    return np.asarray(ada.apply(jnp.asarray(image), params, settings))

  np.testing.assert_allclose(with_color(rgb, ada.translate3d(0.3)), rgb + 0.3, atol=1e-6)
  np.testing.assert_allclose(with_color(rgb, ada.scale3d(1.7)), rgb * 1.7, atol=1e-6)
  flip = np.eye(4) - 2 * np.outer(ada.LUMA, ada.LUMA)
  np.testing.assert_allclose(with_color(rgb, flip), rgb - 2 * luma, atol=1e-6)
  hued = with_color(rgb, ada.rotate3d_about_luma(1.0))  # Keeps luma and chroma's length.
  np.testing.assert_allclose(hued.mean(-1, keepdims=True), luma, atol=1e-6)
  np.testing.assert_allclose(np.linalg.norm(hued - luma, axis=-1),
                             np.linalg.norm(rgb - luma, axis=-1), rtol=1e-5, atol=1e-6)
  outer = np.outer(ada.LUMA, ada.LUMA)
  saturated = with_color(rgb, outer + (np.eye(4) - outer) * 0.5)
  np.testing.assert_allclose(saturated, luma + (rgb - luma) * 0.5, atol=1e-6)
  grey = rgb[..., :1]  # One channel: the mean row of the 3x4 colour matrix.
  np.testing.assert_allclose(with_color(grey, flip), -grey, atol=1e-6)
  np.testing.assert_allclose(with_color(grey, ada.translate3d(0.3) @ ada.scale3d(2.0)),
                             grey * 2 + 0.3, atol=1e-6)


def test_cutout_and_noise():
  settings = ada.AdaSettings(cutout=1.0, noise=1.0)
  params = ada.draw(jax.random.PRNGKey(1), 1.0, settings, (8, 8, 1))._replace(
      cutout_size=jnp.float32(0.5), cutout_center=jnp.array([0.25, 0.5]),
      noise_sigma=jnp.float32(0.0))
  out = np.asarray(ada.corrupt(jnp.ones((8, 8, 1)), params, jax.random.PRNGKey(2), settings))
  expected = np.ones((8, 8))
  expected[2:6, 0:4] = 0  # Pixel centres within 0.25 of (x 0.25, y 0.5).
  np.testing.assert_array_equal(out[..., 0], expected)
  noisy = ada.corrupt(jnp.zeros((64, 64, 1)), params._replace(
      noise_sigma=jnp.float32(0.1), cutout_size=jnp.float32(0)), jax.random.PRNGKey(3),
      settings)
  assert abs(float(jnp.std(noisy)) - 0.1) < 0.005


def test_p_zero_is_the_identity_and_gradients_flow():
  settings = ada.AdaSettings.pipeline("bgc", noise=1.0, cutout=1.0)
  x = jnp.asarray(IMAGE[:8, :8])
  key = jax.random.PRNGKey(4)
  augment = jax.jit(lambda image, p: ada.augment(image, key, p, settings))  # One compile.
  np.testing.assert_array_equal(augment(x, jnp.float32(0)), x)
  assert not np.allclose(augment(x, jnp.float32(1)), x)
  check_grads(lambda image: augment(image, jnp.float32(1)), (x,), order=1, modes=["rev"],
              atol=1e-2, rtol=1e-2)
  check_grads(jax.jit(lambda image: diffaugment.augment(image, key, diffaugment.POLICIES)),
              (x,), order=1, modes=["rev"], atol=1e-2, rtol=1e-2)


def test_each_transform_fires_at_its_multiplier_times_p():
  settings = ada.AdaSettings.pipeline("bgc", noise=0.5, cutout=0.25)
  p, n = 0.6, 4000
  keys = jax.random.split(jax.random.PRNGKey(5), n)
  fired = jax.vmap(lambda k: ada.draw(k, jnp.float32(p), settings, (8, 8, 3)).fired)(keys)
  for name, share in fired.items():
    q = getattr(settings, name) * p
    sigma = np.sqrt(q * (1 - q) / n)
    assert abs(float(jnp.mean(share)) - q) < 5 * sigma, (name, float(jnp.mean(share)), q)


# --- ADA's controller ----------------------------------------------------------------------

def test_the_controller_follows_the_hand_computed_trajectory():
  plugin = augmentation.Augmentation("ada", settings=ada.AdaSettings(xflip=1.0), p=0.1,
                                     target=0.6, interval=2, kimg=0.1, batch_size=4)
  state = helpers.FakePlayer(step=jnp.int32(0), extras=plugin.init_extras(
      "d", None, (4, 4, 1), False))
  # E[sign] per update; each interval of 2 moves p by 4 * 2 / (0.1 * 1000) = 0.08.
  signs = [[1, 1, 1, 1], [1, 1, -1, 1], [-1, -1, -1, 1], [-1, -1, 1, 1], [1, 1, 1, 0],
           [1, -1, 1, 1]]
  trajectory = []
  for logits in signs:
    extras, metrics = plugin.d_statistics(state.extras, jnp.asarray(logits, jnp.float32), None)
    state = plugin.after_update("d", state.replace(step=state.step + 1, extras=extras))
    trajectory.append(float(state.extras[augmentation.P]))
  # Adjusted after updates 2, 4, 6: mean (1 + 0.5) / 2 = 0.75 > 0.6: 0.1 -> 0.18;
  # (-0.5 + 0) / 2 = -0.25 < 0.6: 0.18 -> 0.10; (0.75 + 0.5) / 2 = 0.625 > 0.6: -> 0.18.
  expected = [0.1, 0.18, 0.18, 0.10, 0.10, 0.18]
  np.testing.assert_allclose(trajectory, expected, atol=1e-6)
  assert float(state.extras[augmentation.SIGN_COUNT]) == 0  # Reset at the interval's end.
  assert float(augmentation.adjusted_p(jnp.float32(0.05), jnp.float32(0.0), 0.6, 8, 0.1)) == 0


# --- In the train step ---------------------------------------------------------------------

AUGMENTED = {"diffaugment": {"augment.name": "diffaugment"},
             "ada": {"augment.name": "ada", "augment.p": 0.2, "augment.ada_interval": 1,
                     "augment.kwargs.noise": 1.0, "augment.kwargs.cutout": 1.0}}


@pytest.mark.parametrize("name,devices", [pytest.param("diffaugment", (1, 2, 4), id="diffaugment"),
                                          pytest.param("ada", (1, 4), id="ada",
                                                       marks=pytest.mark.slow)])
def test_augmented_steps_do_not_depend_on_the_device_count(name, devices):
  # One step of one D update and one G update: four augmented batches. Compiling the ADA
  # pipeline dominates this test, so ADA is compared on 1 and 4 devices only (its per-example
  # keys are DiffAugment's, checked on 2 as well).
  runs = [helpers.run_pmapped_steps(n, image_shape=(8, 8, 3), num_steps=1, n_critic=1,
                                    **AUGMENTED[name]) for n in devices]
  (g1, d1), m1, (g0, _) = runs[0]
  assert not np.allclose(g1.params["Dense_0"]["kernel"], g0.params["Dense_0"]["kernel"])
  for (g, d), m, _ in runs[1:]:
    for a, b in ((g1, g), (d1, d)):
      jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-4, atol=2e-5),
                   flax.serialization.to_state_dict(a), flax.serialization.to_state_dict(b))
    np.testing.assert_allclose(m[-1]["d_loss"], m1[-1]["d_loss"], rtol=2e-5)
  if name == "ada":
    assert m1[0]["augment_p"] == np.float32(0.2) and "augment_rt" in m1[0]
    assert float(d1.extras[augmentation.P]) != np.float32(0.2)  # Adjusted after each update.


def test_augmentation_changes_what_d_learns():
  plain = helpers.run_pmapped_steps(1, image_shape=(8, 8, 3), num_steps=1, n_critic=1)[0][1]
  augmented = helpers.run_pmapped_steps(1, image_shape=(8, 8, 3), num_steps=1, n_critic=1,
                                        **AUGMENTED["diffaugment"])[0][1]
  assert not all(np.allclose(a, b) for a, b in zip(jax.tree.leaves(plain.params),
                                                   jax.tree.leaves(augmented.params)))


def test_ada_resumes_its_p_and_accumulator_exactly(tmp_path, mnist_dir):
  # The colour group only: what is resumed is the controller's state, whatever the pipeline.
  settings = {**AUGMENTED["ada"], "augment.ada_interval": 3, "augment.policy": "color"}
  straight = train.train_and_evaluate(helpers.tiny_config(mnist_dir, num_train_steps=4,
                                                          **settings), str(tmp_path / "a"))
  workdir = str(tmp_path / "b")
  train.train_and_evaluate(helpers.tiny_config(mnist_dir, num_train_steps=2, **settings),
                           workdir)
  resumed = train.train_and_evaluate(helpers.tiny_config(mnist_dir, num_train_steps=4,
                                                         **settings), workdir)
  jax.tree.map(np.testing.assert_array_equal, helpers.state_dicts(straight),
               helpers.state_dicts(resumed))
  assert float(resumed["d_state"].extras[augmentation.SIGN_COUNT]) == 1  # 4 = 3 + 1.


@pytest.mark.parametrize("overrides,message", [
    ({"augment.name": "diffaug"}, "valid: none, diffaugment, ada"),
    ({"augment.name": "diffaugment", "augment.policy": "color,flip"}, "policies are color"),
    ({"augment.name": "ada", "augment.policy": "bgcf"}, "unknown ADA pipeline 'bgcf'"),
    ({"augment.name": "ada", "augment.kwargs.xflp": 1.0}, r"unknown ADA setting\(s\) \['xflp'\]"),
    ({"augment.name": "ada", "augment.ada_target": 0.0}, "needs config.augment.p > 0"),
    ({"augment.policy": "bgc"}, "name is 'none'"),
    ({"augment.name": "ada", "augment.ada_interval": 0}, "ada_interval must be a positive"),
])
def test_bad_augmentation_settings_fail_before_compiling(overrides, message):
  with pytest.raises(builders.ConfigError, match=message):
    builders.check_config(helpers.tiny_config(**overrides))
