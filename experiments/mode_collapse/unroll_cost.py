"""What unrolling costs: the train step's time, compile time and XLA temporary memory for
k = 0, 1, 5, 10 simulated D updates (synthetic data, one device).

  python experiments/mode_collapse/unroll_cost.py [--config=configs/stacked_mnist_metz.py]
      [--unroll=0,1,5,10] [--d_width=8] [--steps=20] [--repeats=3]

Each k's step is compiled once (timed), its temporary buffer size read from the compiled
executable (XLA's memory analysis: the working memory beyond the arguments and outputs),
then timed over --repeats x --steps calls; the median is printed as ms per step.
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

_CONFIG = config_flags.DEFINE_config_file("config", "configs/stacked_mnist_metz.py")
flags.DEFINE_list("unroll", ["0", "1", "5", "10"], "Values of config.unrolled.steps.")
flags.DEFINE_integer("d_width", 8, "D's first width (as experiments/mode_collapse's table).")
flags.DEFINE_integer("steps", 20, "Steps per timed repeat.")
flags.DEFINE_integer("repeats", 3, "Timed repeats (the median is reported).")
FLAGS = flags.FLAGS


def main(argv):
  del argv
  print("| k | ms per step | compile s | XLA temp MiB |")
  print("| ---: | ---: | ---: | ---: |")
  for k in map(int, FLAGS.unroll):
    config = _CONFIG.value.copy_and_resolve_references()
    config.unrolled.steps = k
    config.model.kwargs.d_width = FLAGS.d_width
    experiment = builders.build(config, (28, 28, 3))
    step = experiment.pmapped_step(devices=jax.devices()[:1])
    states = parallel.replicate(experiment.init_states())
    keys = parallel.replicate(random_streams.base_key(config.seed))
    rng = np.random.default_rng(0)
    batch = {"image": rng.uniform(-1, 1, (1, config.n_critic, config.batch_size, 28, 28, 3)
                                  ).astype(np.float32)}
    start = time.time()
    executable = step.compiled(states, batch, keys)
    compile_s = time.time() - start
    temp = executable.memory_analysis().temp_size_in_bytes / 2**20
    states, metrics = step(states, batch, keys)
    jax.block_until_ready(metrics)
    _, seconds = timing.median_step_seconds(step, states, batch, keys, FLAGS.steps,
                                            FLAGS.repeats)
    print(f"| {k} | {1000 * seconds:.0f} | {compile_s:.1f} | {temp:.1f} |", flush=True)


if __name__ == "__main__":
  app.run(main)
