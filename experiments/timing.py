"""The timing loop the experiments' speed scripts share (unroll_cost.py, phase_speed.py).

`median_step_seconds(step, states, batch, keys, steps, repeats)` calls a compiled (warmed)
train step --steps times per repeat, waits for the device after each repeat, and returns the
states it reached and the median seconds per step over the repeats (the machine is shared:
medians, not means).
"""
import time

import jax
import numpy as np


def median_step_seconds(step, states, batch, keys, steps: int, repeats: int):
  """(states after every call, median seconds per step); `step(states, batch, keys)` ->
  (states, metrics), already compiled."""
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    for _ in range(steps):
      states, metrics = step(states, batch, keys)
    jax.block_until_ready(metrics)
    times.append((time.perf_counter() - start) / steps)
  return states, float(np.median(times))
