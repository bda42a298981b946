"""Train-step speed of a progressive recipe, one row per growth phase (synthetic data).

  python experiments/progan/phase_speed.py --config=configs/progan_mnist.py

Each phase's program is compiled once (its first call, reported), then timed over
--repeats x --steps calls; the median is printed as milliseconds per step and images/s
(real images D sees per second: batch x n_critic / step time).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import jax  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from experiments import timing  # noqa: E402
from jaxgan.core import random_streams  # noqa: E402
from jaxgan.experiment import builders  # noqa: E402
from jaxgan.runtime import parallel  # noqa: E402

_CONFIG = config_flags.DEFINE_config_file("config", "configs/progan_mnist.py")
flags.DEFINE_integer("steps", 5, "Steps per timed repeat.")
flags.DEFINE_integer("repeats", 3, "Timed repeats per phase (the median is reported).")
FLAGS = flags.FLAGS


def main(argv):
  del argv
  config = _CONFIG.value
  side = config.dataset.image_size
  image_shape = (side, side, 1 if config.dataset.name in ("mnist", "fashion_mnist") else 3)
  experiment = builders.build(config, image_shape)
  game = experiment.game
  states = parallel.replicate(experiment.init_states())
  keys = parallel.replicate(random_streams.base_key(0))
  rng = np.random.default_rng(0)
  print(f"{'phase':<20} {'batch':>6} {'compile+1 (s)':>14} {'ms/step':>9} {'images/s':>9}")
  for phase in game.schedule.phases:
    per_device = phase.batch_size // jax.device_count()
    images = rng.uniform(-1, 1, (jax.local_device_count(), config.n_critic, per_device,
                                 *image_shape)).astype(np.float32)
    batch = parallel.shard({"image": images})
    step = experiment.pmapped_step(program=phase.key)
    start = time.perf_counter()
    states, metrics = step(states, batch, keys)
    jax.block_until_ready(metrics)
    compile_seconds = time.perf_counter() - start
    states, seconds = timing.median_step_seconds(step, states, batch, keys, FLAGS.steps,
                                                 FLAGS.repeats)
    name = f"{phase.resolution}x{phase.resolution} {'fade-in' if phase.fading else 'stable'}"
    print(f"{name:<20} {phase.batch_size:>6} {compile_seconds:>14.1f} {seconds * 1000:>9.0f} "
          f"{phase.images_per_step / seconds:>9.0f}", flush=True)


if __name__ == "__main__":
  app.run(main)
