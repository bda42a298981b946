"""What summarising the logging interval costs per step: one `LoggedInterval.add` (a tiny
pmapped merge of the step's metrics into the interval's summary, on the devices), against
the seed DCGAN's step at batch 8.

  python experiments/performance/logging_overhead.py
  XLA_FLAGS=--xla_force_host_platform_device_count=4 \\
      python experiments/performance/logging_overhead.py

Measured 2026-12-07 (2-core CPU, jax 0.12.1, idle): 25 us per step on 1 device, 115 us on 4
fake CPU devices; the batch-8 step takes 32 ms and 64 ms there (docs/performance.md).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import jax  # noqa: E402
import numpy as np  # noqa: E402

from configs import dcgan  # noqa: E402
from jaxgan.core import random_streams  # noqa: E402
from jaxgan.experiment import builders  # noqa: E402
from jaxgan.games import logged_interval  # noqa: E402
from jaxgan.runtime import parallel  # noqa: E402

CALLS = 1000


def main():
  config = dcgan.get_config()
  config.batch_size = 8
  experiment = builders.build(config, (28, 28, 1))
  step = experiment.pmapped_step()
  states = parallel.replicate(experiment.init_states())
  keys = parallel.replicate(random_streams.base_key(0))
  devices = jax.local_device_count()
  batch = {"image": np.zeros((devices, 1, 8 // devices, 28, 28, 1), np.float32)}
  states, metrics = step(states, batch, keys)
  interval = logged_interval.LoggedInterval(experiment.game, skip_nonfinite=False)
  interval.add(metrics)
  interval.add(metrics)  # Both merges compiled.
  interval.read()
  for _ in range(3):
    started = time.perf_counter()
    for _ in range(CALLS):
      interval.add(metrics)
    interval.read()  # Waits for the last merge.
    print(f"{devices} device(s): {(time.perf_counter() - started) / CALLS * 1e6:.0f} us per "
          "step to merge its metrics")
  started = time.perf_counter()
  for _ in range(20):
    states, metrics = step(states, batch, keys)
  jax.block_until_ready(metrics)
  print(f"the batch-8 step: {(time.perf_counter() - started) / 20 * 1e3:.1f} ms")


if __name__ == "__main__":
  main()
