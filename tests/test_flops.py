"""jaxgan.flops: XLA's FLOP counts against counts made by hand, and the pmapped total.

The counts run in a fresh process (one call of this module's _SCRIPT): they compile
ahead of time and read cost analyses, which the suite's workers, sharing a persistent
compilation cache, are kept out of."""
import json
import os
import subprocess
import sys

import numpy as np


# Not imported from tests.conftest: that would run conftest a second time (as another
# module), appending to XLA_FLAGS again.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_SCRIPT = r"""
import json
import jax, jax.numpy as jnp, numpy as np
from jaxgan import flops, xla_cpu

out = {}
x, w, b = jnp.ones((8, 100)), jnp.ones((100, 30)), jnp.ones((30,))
out["dense"] = flops.call_flops(jax.jit(lambda x, w, b: x @ w + b), x, w, b)
conv = jax.jit(lambda i, k: jax.lax.conv_general_dilated(
    i, k, (2, 2), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")))
out["conv"] = flops.call_flops(conv, jnp.ones((4, 28, 28, 3)), jnp.ones((5, 5, 3, 16)))
layer = lambda x, w: jnp.tanh(x @ w)
for devices in (1, 2, 4):
  x = np.ones((devices, 16 // devices, 64), np.float32)
  ws = np.stack([np.ones((64, 32), np.float32)] * devices)
  step = jax.pmap(layer, devices=jax.devices()[:devices])
  out[f"pmap_{devices}"] = flops.call_flops(step, x, ws, num_devices=devices)
  out[f"pmap_options_{devices}"] = flops.call_flops(xla_cpu.with_cpu_options(step), x, ws,
                                                    num_devices=devices)
out["peak"] = flops.measured_matmul_peak(size=128, repeats=2)
print(json.dumps(out))
"""


def _valid_taps(size: int, kernel: int, stride: int) -> int:
  """Sum over a 'SAME' strided convolution's outputs (one axis) of the taps inside the input."""
  out = -(-size // stride)
  pad_total = max((out - 1) * stride + kernel - size, 0)
  low = pad_total // 2
  positions = np.arange(out)[:, None] * stride - low + np.arange(kernel)[None, :]
  return int(((positions >= 0) & (positions < size)).sum())


def test_flop_counts_against_hand_counts():
  env = dict(os.environ)
  env.pop("JAX_COMPILATION_CACHE_DIR", None)  # Nothing written to the workers' cache.
  done = subprocess.run([sys.executable, "-c", _SCRIPT], cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=300)
  assert done.returncode == 0, done.stderr[-3000:]
  counts = json.loads(done.stdout.strip().splitlines()[-1])
  # A dense layer: 2 per multiply-add, plus the bias.
  assert counts["dense"] == 2 * 8 * 100 * 30 + 8 * 30
  # A 'SAME' stride-2 5x5 convolution counts only the taps on the input (rows and columns
  # independent), fewer than the naive count with every tap.
  taps = _valid_taps(28, 5, 2) ** 2
  assert counts["conv"] == 2 * 4 * taps * 3 * 16
  assert counts["conv"] < 2 * 4 * 14 * 14 * 5 * 5 * 3 * 16
  # A pmapped program is counted per device and summed: the same total on 1, 2 and 4
  # devices, plain and through the CPU-options wrapper; tanh is a transcendental, not a FLOP.
  for devices in (1, 2, 4):
    assert counts[f"pmap_{devices}"] == counts[f"pmap_options_{devices}"] == 2 * 16 * 64 * 32
  # The matmul rate of this CPU: between 1 GFLOP/s and 10 TFLOP/s.
  assert 1e9 < counts["peak"] < 1e13
