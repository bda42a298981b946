"""jaxgan.flops: XLA's FLOP counts against counts made by hand, and the pmapped total."""
import jax
import jax.numpy as jnp
import numpy as np

from jaxgan import flops, xla_cpu


def test_dense_layer_counts_two_per_multiply_add_plus_the_bias():
  x, w, b = jnp.ones((8, 100)), jnp.ones((100, 30)), jnp.ones((30,))
  assert flops.call_flops(jax.jit(lambda x, w, b: x @ w + b), x, w, b) == 2 * 8 * 100 * 30 + 8 * 30


def _valid_taps(size: int, kernel: int, stride: int) -> int:
  """Sum over a 'SAME' strided convolution's outputs (one axis) of the taps inside the input."""
  out = -(-size // stride)
  pad_total = max((out - 1) * stride + kernel - size, 0)
  low = pad_total // 2
  positions = np.arange(out)[:, None] * stride - low + np.arange(kernel)[None, :]
  return int(((positions >= 0) & (positions < size)).sum())


def test_padded_strided_convolution_counts_only_taps_on_the_input():
  n, size, c_in, c_out, kernel, stride = 4, 28, 3, 16, 5, 2
  images, weights = jnp.ones((n, size, size, c_in)), jnp.ones((kernel, kernel, c_in, c_out))
  conv = jax.jit(lambda i, k: jax.lax.conv_general_dilated(
      i, k, (stride, stride), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")))
  taps = _valid_taps(size, kernel, stride) ** 2  # Rows and columns are independent.
  assert flops.call_flops(conv, images, weights) == 2 * n * taps * c_in * c_out
  # And the naive count (every tap, padding included) is larger: border taps are excluded.
  assert flops.call_flops(conv, images, weights) < 2 * n * 14 * 14 * kernel**2 * c_in * c_out


def test_pmapped_program_is_counted_per_device_and_summed():
  def layer(x, w):
    return jnp.tanh(x @ w)
  w = np.ones((64, 32), np.float32)
  totals = []
  for devices in (1, 2, 4):
    x = np.ones((devices, 16 // devices, 64), np.float32)
    ws = np.stack([w] * devices)
    step = jax.pmap(layer, devices=jax.devices()[:devices])
    totals.append(flops.call_flops(step, x, ws, num_devices=devices))
    # The same through the CPU-options wrapper the train step uses.
    assert flops.call_flops(xla_cpu.with_cpu_options(step), x, ws,
                            num_devices=devices) == totals[-1]
  # XLA counts tanh as a transcendental, not a FLOP: only the matmul's multiply-adds.
  assert totals[0] == totals[1] == totals[2] == 2 * 16 * 64 * 32


def test_matmul_peak_is_a_rate_of_the_matmuls_flops():
  rate = flops.measured_matmul_peak(size=128, repeats=2)
  # 2-core CPU: between 1 GFLOP/s (far below any modern core) and 10 TFLOP/s.
  assert 1e9 < rate < 1e13
