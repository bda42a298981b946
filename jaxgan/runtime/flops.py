"""FLOPs of a compiled program (XLA's cost analysis) and the device's measured matmul peak.

`jaxgan.benchmark` divides a train step's FLOPs by its time to report achieved TFLOP/s
beside the peak measured here on the same device, in the same run.

What XLA counts: 2 per multiply-add of a dot or convolution, over the taps that touch the
input (a "same"-padded convolution's border taps on zeros are not counted), plus one per
element of other arithmetic (transcendentals such as tanh and exp are counted apart, not
here). So it is the arithmetic of the program as compiled: backward
passes, both players, every D update, the optimiser (tests/test_xla_cache_and_flops.py checks a
dense and a padded strided convolution against counts made by hand in NumPy).
"""
from __future__ import annotations

import time
from typing import Any, Optional

import jax
import jax.numpy as jnp


def compiled_flops(compiled: Any) -> Optional[float]:
  """FLOPs of one call of one device's program of `compiled` (a jax Compiled); None when
  the backend reports no cost analysis."""
  try:
    analysis = compiled.cost_analysis()
  except Exception:  # pylint: disable=broad-except (backends without cost analysis)
    return None
  if isinstance(analysis, (list, tuple)):  # Older jax: one dict per program.
    analysis = analysis[0] if analysis else {}
  flops = (analysis or {}).get("flops")
  return float(flops) if flops is not None and flops >= 0 else None


def call_flops(transformed: Any, *args, num_devices: int = 1) -> Optional[float]:
  """FLOPs of one call of `transformed` (a jax.jit / jax.pmap, or xla_cpu's
  CompiledWithOptions) on `args`, over all `num_devices` devices it runs on (a pmapped
  program is each device's share)."""
  compiled = (transformed.compiled(*args) if hasattr(transformed, "compiled")
              else transformed.lower(*args).compile())
  flops = compiled_flops(compiled)
  return None if flops is None else flops * num_devices


def measured_matmul_peak(size: Optional[int] = None, repeats: int = 5,
                         device: Optional[Any] = None) -> float:
  """FLOP/s of a float32 [size, size] @ [size, size] matmul chain on `device` (the best of
  `repeats` timed calls, default precision, as the train step uses): the device's practical
  peak for this dtype. `size` defaults to 8192 on accelerators, 1024 on the CPU."""
  device = device or jax.local_devices()[0]
  size = size or (1024 if device.platform == "cpu" else 8192)
  chain = 8 if device.platform == "cpu" else 32

  @jax.jit
  def matmuls(a, b):
    for _ in range(chain):  # Each product feeds the next: nothing is skipped or fused away.
      a = jnp.tanh(a @ b)
    return a

  key_a, key_b = jax.random.split(jax.random.key(0))
  a = jax.device_put(jax.random.normal(key_a, (size, size)) / size**0.5, device)
  b = jax.device_put(jax.random.normal(key_b, (size, size)) / size**0.5, device)
  jax.block_until_ready(matmuls(a, b))  # Compile.
  best = float("inf")
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(matmuls(a, b))
    best = min(best, time.perf_counter() - start)
  return chain * 2 * size**3 / best
