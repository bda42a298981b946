"""Where the seed DCGAN's train step spends its time on the CPU: each part compiled alone.

  python experiments/performance/cpu_breakdown.py --batch=256 --repeats=5

Times (median of --repeats runs of --steps calls, after a warm-up), each part pmapped over one
device and compiled exactly as the train step is: G forward (train mode); D forward on a batch; one
D update (G forward for the fakes, D forward+backward on real and fake, Adam); one G update (G
and D forward+backward through D, Adam); the whole train step (one D update then one G update).
Prints a Markdown table with milliseconds per call and the share of the whole step.
"""
import functools
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import jax  # pylint: disable=g-import-not-at-top
import jax.numpy as jnp
import numpy as np
from absl import app, flags

from configs import dcgan_tutorial
from jaxgan.core import random_streams
from jaxgan.experiment import builders
from jaxgan.games import common
from jaxgan.runtime import parallel, xla_cpu

FLAGS = flags.FLAGS
flags.DEFINE_integer("batch", 256, "Batch size.")
flags.DEFINE_integer("steps", 5, "Calls per timed run.")
flags.DEFINE_integer("repeats", 5, "Timed runs (the median is reported).")


def _time(fn, *args):
  out = fn(*args)
  jax.block_until_ready(out)
  runs = []
  for _ in range(FLAGS.repeats):
    start = time.perf_counter()
    for _ in range(FLAGS.steps):
      out = fn(*args)
    jax.block_until_ready(out)
    runs.append((time.perf_counter() - start) / FLAGS.steps * 1000)
  return statistics.median(runs)


def main(argv):
  del argv
  config = dcgan_tutorial.get_config()
  config.batch_size = FLAGS.batch
  shape = (28, 28, 1)
  experiment = builders.build(config, shape)
  game, states = experiment.game, experiment.init_states()
  # Compiled as the train step is (jaxgan.runtime.xla_cpu's options on the CPU).
  pmap = lambda f: xla_cpu.with_cpu_options(
      jax.pmap(f, axis_name=parallel.AXIS_NAME, devices=jax.devices()[:1]))
  add = lambda tree: jax.tree.map(lambda x: jnp.asarray(x)[None], tree)
  g, d = add(states["g"]), add(states["d"])
  rng = np.random.default_rng(0)
  images = add(rng.uniform(-1, 1, (1, FLAGS.batch, *shape)).astype(np.float32))
  key = add(random_streams.base_key(0))
  z = add(rng.normal(size=(FLAGS.batch, 100)).astype(np.float32))
  step0 = add(jnp.zeros((), jnp.int32))

  def g_forward(g, z, key):
    return game.generator.apply({"params": g.params, **g.model_state}, z, train=True,
                                rngs={"dropout": key}, mutable=["batch_stats"])[0]

  def d_forward(d, x, key):
    return game.discriminator.apply({"params": d.params, **d.model_state}, x, train=True,
                                    rngs={"dropout": key})

  parts = {
      "G forward (train mode)": (pmap(g_forward), (g, z, key)),
      "D forward": (pmap(d_forward), (d, images[:, 0], key)),
      "D update (G fwd, D fwd+bwd on real and fake, Adam)": (
          pmap(game.d_update),
          (g, d, images[:, 0], key, step0)),
      "G update (G and D fwd+bwd, Adam)": (
          pmap(game.g_update),
          (g, d, images[:, 0], key, step0)),
      "whole train step": (pmap(functools.partial(common.run_step, game=game,
                                                  skip_nonfinite=False)),
                           (add(states), {"image": images}, key)),
  }
  times = {name: _time(fn, *args) for name, (fn, args) in parts.items()}
  whole = times["whole train step"]
  print(f"\nseed DCGAN, batch {FLAGS.batch}, {jax.devices()[0].platform}, jax {jax.__version__}, "
        f"median of {FLAGS.repeats} x {FLAGS.steps} calls\n")
  print("| part | ms per call | share of the step |")
  print("| --- | --- | --- |")
  for name, ms in times.items():
    print(f"| {name} | {ms:.1f} | {ms / whole:.0%} |")


if __name__ == "__main__":
  app.run(main)
