"""Does jaxgan's train step compute the same thing on an accelerator as on the CPU?

  python experiments/performance/device_parity.py --config=configs/dcgan_tutorial.py --steps=5

Runs `--steps` train steps of the config's model from the same initial states, keys and
images (uniform in [-1, 1]) once on the CPU and once on the default accelerator, in one
process, and prints per-step losses side by side and the largest parameter difference,
relative to the parameter's scale. Run twice: with the default matmul precision (on GPUs
float32 convolutions may use TF32) and with --precision=highest (full float32), where the
two backends should agree to about 1e-5.
"""
import functools
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import jax  # pylint: disable=g-import-not-at-top
import numpy as np
from absl import app, flags
from ml_collections import config_flags

from jaxgan.core import random_streams
from jaxgan.experiment import builders
from jaxgan.games import common
from jaxgan.runtime import parallel

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", "configs/dcgan_tutorial.py", "Config to check.")
flags.DEFINE_string("image_shape", "28,28,1", "H,W,C of the random images.")
flags.DEFINE_integer("steps", 5, "Train steps on each backend.")
flags.DEFINE_enum("precision", "default", ["default", "highest"], "jax_default_matmul_precision.")


def run_on(device, config, image_shape, batches):
  """Runs the step on one device; returns (losses per step [steps, 2], final params)."""
  experiment = builders.build(config, image_shape)
  step = jax.pmap(functools.partial(common.run_step, game=experiment.game,
                                    skip_nonfinite=experiment.skip_nonfinite),
                  axis_name=parallel.AXIS_NAME, devices=[device])
  add_axis = lambda tree: jax.tree.map(lambda x: np.asarray(x)[None], tree)
  states, key = add_axis(experiment.init_states()), add_axis(random_streams.base_key(config.seed))
  losses = []
  for images in batches:
    states, metrics = step(states, {"image": images[None]}, key)
    losses.append([float(metrics["d_loss"][0]), float(metrics["g_loss"][0])])
  params = (states["g"].params, states["d"].params)
  return np.array(losses), jax.device_get(jax.tree.map(lambda x: x[0], params))


def main(argv):
  del argv
  if FLAGS.precision == "highest":
    jax.config.update("jax_default_matmul_precision", "highest")
  config = FLAGS.config
  shape = tuple(int(v) for v in FLAGS.image_shape.split(","))
  rng = np.random.default_rng(0)
  batches = [rng.uniform(-1, 1, (config.n_critic, config.batch_size, *shape)).astype(np.float32)
             for _ in range(FLAGS.steps)]
  accelerator = jax.devices()[0]
  if accelerator.platform == "cpu":
    raise SystemExit("No accelerator: nothing to compare the CPU with.")
  cpu_losses, cpu_params = run_on(jax.devices("cpu")[0], config, shape, batches)
  acc_losses, acc_params = run_on(accelerator, config, shape, batches)
  print(f"{config.model.name}, batch {config.batch_size}, precision {FLAGS.precision}: "
        f"cpu vs {accelerator.device_kind}")
  print("step | d_loss cpu | d_loss acc | g_loss cpu | g_loss acc")
  for i, (c, a) in enumerate(zip(cpu_losses, acc_losses)):
    print(f"{i + 1} | {c[0]:.6f} | {a[0]:.6f} | {c[1]:.6f} | {a[1]:.6f}")
  worst = max(float(np.max(np.abs(c - a)) / (np.max(np.abs(c)) + 1e-12))
              for c, a in zip(jax.tree.leaves(cpu_params), jax.tree.leaves(acc_params)))
  print(f"largest parameter difference after {FLAGS.steps} steps, relative to the "
        f"parameter's largest magnitude: {worst:.2e}")


if __name__ == "__main__":
  app.run(main)
