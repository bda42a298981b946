"""StyleGAN2's networks (jaxgan.models.stylegan2, jaxgan.models.upfirdn) against independent
NumPy references: upfirdn2d's four steps, the modulated convolution with explicit per-sample
weights, the equalised learning rate, the w_avg recursion, truncation and the strided
minibatch-stddev groups."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import models
from jaxgan.models import conditional, stylegan2, upfirdn

RNG = np.random.default_rng(0)


# --- NumPy references -----------------------------------------------------------------

def upfirdn_reference(x, f, up=1, down=1, padding=(0, 0, 0, 0), gain=1.0):
  """upfirdn2d by its definition: zeros after each pixel, pad/crop, convolve, subsample."""
  n, h, w, c = x.shape
  u = np.zeros((n, h * up, w * up, c))
  u[:, ::up, ::up] = x
  x0, x1, y0, y1 = padding
  u = np.pad(u, ((0, 0), (max(y0, 0), max(y1, 0)), (max(x0, 0), max(x1, 0)), (0, 0)))
  u = u[:, max(-y0, 0):u.shape[1] - max(-y1, 0), max(-x0, 0):u.shape[2] - max(-x1, 0)]
  fh, fw = f.shape
  out = np.zeros((n, u.shape[1] - fh + 1, u.shape[2] - fw + 1, c))
  for a in range(fh):      # out[i, j] = sum_ab u[i + a, j + b] f[fh-1-a, fw-1-b]: convolution.
    for b in range(fw):
      out += u[:, a:a + out.shape[1], b:b + out.shape[2]] * f[fh - 1 - a, fw - 1 - b] * gain
  return out[:, ::down, ::down]


def correlate_reference(x, kernel, stride=1, pad=0):
  """x [n, H, W, I] (*) kernel [k, k, I, O], zero padding `pad`, VALID, stride."""
  x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
  k = kernel.shape[0]
  oh, ow = x.shape[1] - k + 1, x.shape[2] - k + 1
  out = np.zeros((x.shape[0], oh, ow, kernel.shape[-1]))
  for a in range(k):
    for b in range(k):
      out += np.einsum("nhwi,io->nhwo", x[:, a:a + oh, b:b + ow], kernel[a, b])
  return out[:, ::stride, ::stride]


def modulated_reference(x, weight, styles, demodulate, up):
  """Per sample: w' = w * s (input channels), w'' = w' / sqrt(sum w'^2 + 1e-8) per output."""
  f = upfirdn.setup_filter().astype(np.float64)
  k = weight.shape[0]
  outs = []
  for i in range(x.shape[0]):
    wi = weight * styles[i][None, None, :, None]
    if demodulate:
      wi = wi / np.sqrt(np.sum(wi ** 2, axis=(0, 1, 2), keepdims=True) + 1e-8)
    xi = x[i:i + 1]
    if up:
      p = k // 2
      xi = upfirdn_reference(xi, f, up=2, padding=(p + 2, p + 1, p + 2, p + 1), gain=4.0)
      outs.append(correlate_reference(xi, wi))
    else:
      outs.append(correlate_reference(xi, wi, pad=k // 2))
  return np.concatenate(outs)


def close(a, b, tol=2e-5):
  np.testing.assert_allclose(np.asarray(a, np.float64), b, rtol=tol, atol=tol)


# --- FIR resampling -------------------------------------------------------------------

def test_setup_filter_is_the_normalised_outer_product():
  f = upfirdn.setup_filter((1, 3, 3, 1))
  close(f, np.outer([1, 3, 3, 1], [1, 3, 3, 1]) / 64.0, 1e-7)


@pytest.mark.parametrize("up,down,padding,gain", [
    (1, 1, (0, 0, 0, 0), 1.0), (2, 1, (2, 1, 2, 1), 4.0), (1, 2, (1, 1, 1, 1), 1.0),
    (2, 2, (1, 2, 0, 3), 2.5), (3, 1, (-1, 2, 1, -2), 1.0)])
@pytest.mark.parametrize("separable", [False, True])
def test_upfirdn2d_matches_its_definition(up, down, padding, gain, separable):
  """Both paths: the depthwise convolution (any filter) and the strided-slice sums of a
  separable filter (StyleGAN2's), each asymmetric, so the flip and the axes matter."""
  x = RNG.normal(size=(2, 7, 6, 3))
  f = (np.outer(RNG.normal(size=4), RNG.normal(size=3)) if separable
       else RNG.normal(size=(4, 3)))
  assert (upfirdn._separate(f) is not None) == separable
  got = upfirdn.upfirdn2d(jnp.asarray(x, jnp.float32), f, up, down, padding, gain)
  close(got, upfirdn_reference(x, f, up, down, padding, gain))


def test_fir_resampling_keeps_a_constant_image_in_the_interior():
  """Gain up^2 on upsampling: the filter's taps sum to 1 per output phase after x4."""
  f = upfirdn.setup_filter()
  ones = jnp.ones((1, 8, 8, 2))
  up, down = upfirdn.upsample2d(ones, f), upfirdn.downsample2d(ones, f)
  assert up.shape == (1, 16, 16, 2) and down.shape == (1, 4, 4, 2)
  close(up[:, 2:-2, 2:-2], np.ones((1, 12, 12, 2)), 1e-6)
  close(down[:, 1:-1, 1:-1], np.ones((1, 2, 2, 2)), 1e-6)
  assert float(up[0, 0, 0, 0]) < 1.0  # Zero padding at the border, as the reference.


@pytest.mark.parametrize("k", [3, 1])
def test_conv_up_and_conv_down_pad_once_as_conv2d_resample(k):
  f = upfirdn.setup_filter().astype(np.float64)
  x, kernel = RNG.normal(size=(2, 8, 8, 3)), RNG.normal(size=(k, k, 3, 4))
  p = k // 2
  want_up = correlate_reference(
      upfirdn_reference(x, f, up=2, padding=(p + 2, p + 1, p + 2, p + 1), gain=4.0), kernel)
  want_down = correlate_reference(
      upfirdn_reference(x, f, padding=(p + 1, p + 1, p + 1, p + 1)), kernel, stride=2)
  xj, kj = jnp.asarray(x, jnp.float32), jnp.asarray(kernel, jnp.float32)
  close(upfirdn.conv_up(xj, kj, f), want_up)
  close(upfirdn.conv_down(xj, kj, f), want_down)
  assert want_up.shape == (2, 16, 16, 4) and want_down.shape == (2, 4, 4, 4)


# --- Modulated convolution -------------------------------------------------------------

@pytest.mark.parametrize("demodulate", [True, False])
@pytest.mark.parametrize("up", [False, True])
def test_modulated_conv_matches_per_sample_weights_fused_and_unfused(demodulate, up):
  x, weight = RNG.normal(size=(3, 6, 6, 4)), RNG.normal(size=(3, 3, 4, 5))
  styles = RNG.normal(size=(3, 4)) + 1.0
  want = modulated_reference(x, weight, styles, demodulate, up)
  args = [jnp.asarray(a, jnp.float32) for a in (x, weight, styles)]
  for fused in (False, True):
    got = stylegan2.modulated_conv2d(*args, up=up, demodulate=demodulate, fused=fused)
    close(got, want, 5e-5)


def test_demodulated_output_has_unit_variance_for_unit_variance_input():
  """E[y_j^2] = sum_ik w''_ijk^2 E[x^2] = 1 for independent unit-variance inputs."""
  x = RNG.normal(size=(4, 24, 24, 64))
  weight, styles = RNG.normal(size=(3, 3, 64, 32)), RNG.uniform(0.2, 3.0, size=(4, 64))
  y = np.asarray(stylegan2.modulated_conv2d(*(jnp.asarray(a, jnp.float32)
                                               for a in (x, weight, styles))))
  per_channel = np.mean(y[:, 1:-1, 1:-1] ** 2, axis=(1, 2))  # Interior: all 9 taps present.
  # 484 correlated pixels per (row, channel): each estimate within 0.3; their mean within 0.03.
  assert np.all(np.abs(per_channel - 1.0) < 0.3) and abs(per_channel.mean() - 1.0) < 0.03
  undemodulated = stylegan2.modulated_conv2d(*(jnp.asarray(a, jnp.float32)
                                               for a in (x, weight, styles)), demodulate=False)
  assert np.mean(np.asarray(undemodulated) ** 2) > 50  # Without it the scale follows s and w.


def test_bfloat16_prenormalisation_does_not_change_the_demodulated_result():
  x, weight = RNG.normal(size=(2, 5, 5, 8)), RNG.normal(size=(3, 3, 8, 4)) * 40
  styles = RNG.normal(size=(2, 8)) * 30
  want = modulated_reference(x, weight, styles, True, False)
  got = stylegan2.modulated_conv2d(*(jnp.asarray(a, jnp.bfloat16) for a in (x, weight, styles)))
  assert got.dtype == jnp.bfloat16
  np.testing.assert_allclose(np.asarray(got, np.float64), want, atol=0.1, rtol=0.05)


# --- Equalised learning rate ------------------------------------------------------------

def test_fully_connected_scales_weights_and_biases_by_the_lr_multiplier():
  layer = stylegan2.FullyConnected(300, lr_multiplier=0.01, bias_init=0.5)
  x = RNG.normal(size=(4, 200)).astype(np.float32)
  variables = layer.init(jax.random.PRNGKey(0), x)
  w, b = (np.asarray(variables["params"][k], np.float64) for k in ("kernel", "bias"))
  assert abs(w.std() - 100.0) < 2.0  # N(0, 1) / lr_multiplier.
  close(layer.apply(variables, x), x @ (w * 0.01 / math.sqrt(200)) + b * 0.01, 1e-4)
  lrelu = stylegan2.FullyConnected(3, "lrelu").apply(
      {"params": {"kernel": np.eye(2, 3, dtype=np.float32) * math.sqrt(2),
                  "bias": np.zeros(3, np.float32)}}, np.array([[2.0, -1.0]], np.float32))
  close(lrelu, np.array([[2.0 * math.sqrt(2), -0.2 * math.sqrt(2), 0.0]]), 1e-6)


def test_conv_layer_scales_by_he_constant_and_gain():
  layer = stylegan2.Conv2dLayer(5, 3, activation="linear")
  x = RNG.normal(size=(2, 6, 6, 4)).astype(np.float32)
  variables = layer.init(jax.random.PRNGKey(0), x)
  kernel = np.asarray(variables["params"]["kernel"], np.float64)
  want = correlate_reference(x, kernel / math.sqrt(4 * 9), pad=1) * 0.5
  close(layer.apply(variables, x, gain=0.5), want, 1e-5)


# --- Mapping network ---------------------------------------------------------------------

def _mapping(**kw):
  net = stylegan2.MappingNetwork(w_dim=8, num_ws=5, num_layers=2, w_avg_beta=0.9, **kw)
  return net, net.init(jax.random.PRNGKey(0), jnp.ones((4, 6)))


def test_w_avg_follows_its_recursion_over_training_calls():
  net, variables = _mapping()
  assert not np.any(np.asarray(variables[stylegan2.W_AVG]["w_avg"]))
  z1, z2 = (jnp.asarray(RNG.normal(size=(4, 6)), jnp.float32) for _ in range(2))
  avg = np.zeros(8)
  for z in (z1, z2):
    w = np.asarray(net.apply(variables, z))[:, 0]  # No update outside training.
    ws, updated = net.apply(variables, z, update_w_avg=True, mutable=[stylegan2.W_AVG])
    avg = w.mean(0) + 0.9 * (avg - w.mean(0))
    close(updated[stylegan2.W_AVG]["w_avg"], avg, 1e-5)
    close(ws, np.broadcast_to(w[:, None], (4, 5, 8)), 1e-6)
    variables = {**variables, **updated}


def test_w_avg_is_the_mean_over_the_global_batch_on_several_devices():
  net, variables = _mapping(axis_name="batch")
  z = jnp.asarray(RNG.normal(size=(4, 6)), jnp.float32)
  pmapped = jax.pmap(lambda v, z: net.apply(v, z, update_w_avg=True,
                                            mutable=[stylegan2.W_AVG])[1],
                     axis_name="batch", in_axes=(None, 0))(variables, z.reshape(2, 2, 6))
  plain_net = stylegan2.MappingNetwork(w_dim=8, num_ws=5, num_layers=2, w_avg_beta=0.9)
  _, plain = plain_net.apply(variables, z, update_w_avg=True, mutable=[stylegan2.W_AVG])
  for device in range(2):
    close(pmapped[stylegan2.W_AVG]["w_avg"][device], plain[stylegan2.W_AVG]["w_avg"], 1e-6)


def test_truncation_psi_one_is_identity_zero_is_w_avg_and_the_cutoff_limits_it():
  net, variables = _mapping()
  avg = RNG.normal(size=8).astype(np.float32)
  variables = {**variables, stylegan2.W_AVG: {"w_avg": avg}}
  z = jnp.asarray(RNG.normal(size=(4, 6)), jnp.float32)
  ws = np.asarray(net.apply(variables, z))
  close(net.apply(variables, z, truncation_psi=1.0), ws, 0)
  close(net.apply(variables, z, truncation_psi=0.0), np.broadcast_to(avg, ws.shape), 1e-6)
  half = np.asarray(net.apply(variables, z, truncation_psi=0.5, truncation_cutoff=2))
  close(half[:, :2], avg + 0.5 * (ws[:, :2] - avg), 1e-6)
  close(half[:, 2:], ws[:, 2:], 0)


def test_mapping_normalises_z_and_embeds_labels():
  net = stylegan2.MappingNetwork(w_dim=8, num_ws=None, num_layers=1, w_avg_beta=None)
  z = jnp.asarray(RNG.normal(size=(3, 6)), jnp.float32)
  variables = net.init(jax.random.PRNGKey(0), z)
  close(net.apply(variables, z * 7.0), net.apply(variables, z), 1e-5)  # Scale-free in z.
  codes = conditional.one_hot(jnp.array([0, 1, 1]), 3)
  labelled = stylegan2.MappingNetwork(w_dim=8, num_ws=None, num_layers=1, w_avg_beta=None)
  lv = labelled.init(jax.random.PRNGKey(0), z, codes)
  assert lv["params"]["fc0"]["kernel"].shape == (6 + 8, 8)
  out = np.asarray(labelled.apply(lv, jnp.broadcast_to(z[:1], (3, 6)), codes))
  close(out[1], out[2], 1e-6)
  assert np.abs(out[0] - out[1]).max() > 1e-3  # The class changes w.


# --- Networks --------------------------------------------------------------------------

def test_minibatch_std_groups_rows_strided_over_the_batch():
  x = RNG.normal(size=(8, 3, 3, 4))
  got = np.asarray(stylegan2.MinibatchStd(group_size=4, num_channels=2).apply(
      {}, jnp.asarray(x, jnp.float32)))
  assert got.shape == (8, 3, 3, 6)
  for row in range(8):
    group = x[row % 2::2]  # Rows i, i + n/G, ...: the official reshape(G, -1, ...).
    std = np.sqrt(group.var(axis=0) + 1e-8)  # [3, 3, 4]
    for f in range(2):
      close(got[row, :, :, 4 + f], np.full((3, 3), std[..., 2 * f:2 * f + 2].mean()), 1e-5)


def _pair(image_shape=(16, 16, 1), **kw):
  return models.MODELS.get("stylegan2")(
      image_shape=image_shape, latent_dim=16, axis_name=None, w_dim=16, mapping_layers=2,
      channel_base=256, channel_max=16, **kw)


def test_generator_and_discriminator_shapes_and_ws():
  g, d = _pair((16, 16, 3))
  z = jnp.ones((4, 16))
  rngs = {"params": jax.random.PRNGKey(0), "dropout": jax.random.PRNGKey(1)}
  gv = g.init(rngs, z, train=True)
  assert stylegan2.num_ws(16) == 6
  ws = g.apply(gv, z, method="map")
  assert ws.shape == (4, 6, 16)
  images = g.apply(gv, ws, "const", method="synthesize")
  assert images.shape == (4, 16, 16, 3)
  close(g.apply(gv, z, train=False), images, 1e-6)  # No rng: constant noise.
  noisy = [g.apply(gv, z, train=True, rngs={"dropout": jax.random.PRNGKey(s)},
                   mutable=[stylegan2.W_AVG])[0] for s in (2, 3)]
  close(noisy[0], images, 1e-6)  # Noise strengths start at 0.
  close(noisy[1], images, 1e-6)
  assert d.apply(d.init(jax.random.PRNGKey(0), images, train=True), images,
                 train=True).shape == (4,)


def test_noise_strength_adds_per_row_noise_that_does_not_depend_on_the_device_layout():
  layer = stylegan2.SynthesisLayer(4, 8, axis_name="batch")
  x, w = jnp.ones((4, 8, 8, 3)), jnp.ones((4, 5))
  variables = jax.pmap(lambda x, w: layer.init(
      {"params": jax.random.PRNGKey(0), "dropout": jax.random.PRNGKey(1)}, x, w, "random"),
      axis_name="batch")(x[None], w[None])
  variables = jax.tree.map(lambda a: a[0], variables)
  variables["params"]["noise_strength"] = jnp.asarray(1.0)

  def run(devices):
    return jax.pmap(lambda x, w: layer.apply(variables, x, w, "random",
                                             rngs={"dropout": jax.random.PRNGKey(5)}),
                    axis_name="batch")(x.reshape(devices, -1, 8, 8, 3),
                                       w.reshape(devices, -1, 5)).reshape(4, 8, 8, 4)
  one, two = run(1), run(2)
  close(one, two, 1e-6)
  assert np.abs(np.asarray(one[0] - one[1])).max() > 0.1  # Rows draw different noise.
  const = layer.apply(variables, x, w, "const")
  close(const[0], const[1], 1e-6)


@pytest.mark.parametrize("shape,message", [((16, 8, 1), "square"), ((24, 24, 1), "power")])
def test_builder_refuses_shapes_it_cannot_make(shape, message):
  with pytest.raises(ValueError, match=message):
    _pair(shape)


def test_conditional_stylegan2_embeds_labels_in_g_and_projects_in_d():
  g, d = conditional.condition(_pair(), 3, "mapping", "projection")
  z, labels = jnp.ones((4, 16)), jnp.array([0, 1, 2, 0])
  gv = g.init({"params": jax.random.PRNGKey(0)}, z, train=False, labels=labels)
  images = g.apply(gv, z, train=False, labels=labels)
  assert images.shape == (4, 16, 16, 1)
  close(images[0], images[3], 1e-6)
  dv = d.init(jax.random.PRNGKey(0), images, train=True, labels=labels)
  assert "mapping" in dv["params"]["base"]
  assert d.apply(dv, images, train=True, labels=labels).shape == (4,)
  with pytest.raises(ValueError, match="no mapping network.*'concat' or 'batch_norm'"):
    conditional.condition(models.MODELS.get("dcgan_tutorial")(
        image_shape=(28, 28, 1), latent_dim=16, axis_name=None), 3, "mapping", "concat")
  with pytest.raises(ValueError, match="no class-conditional BatchNorm.*or 'mapping'"):
    conditional.condition(_pair(), 3, "batch_norm", "projection")
