"""Writes samples from a workdir's latest checkpoint to an .npz file.

  python -m jaxgan.sample --workdir=DIR --num_samples=1000 --output=samples.npz

The file holds `images`: uint8 [num_samples, H, W, C] (pixel values 0..255). The model is
rebuilt from the config stored in the checkpoint, so no config flag is needed.
"""
from __future__ import annotations

import functools
import os
from typing import Any, Callable, NamedTuple, Optional, Tuple

import jax
import ml_collections
import numpy as np
from absl import app, flags, logging

from jaxgan import builders, checkpointing, steps, user_errors, visualize

FLAGS = flags.FLAGS


class Run(NamedTuple):
  """A trained run as loaded from its workdir."""
  config: ml_collections.ConfigDict  # the run's config (fields added since: defaults)
  pair: Any                          # inference-mode (G, D) modules
  g_state: Any
  d_state: Any
  step: int
  image_shape: Tuple[int, int, int]


def load_run(workdir: str, step: Optional[int] = None) -> Run:
  """Rebuilds the models from the config stored in the checkpoint and restores `step`."""
  directory = checkpointing.checkpoint_directory(workdir)
  no_checkpoint = FileNotFoundError(f"No checkpoint under {directory}; train first "
                                    "(python -m jaxgan.main --config=... --workdir=...).")
  if not os.path.isdir(directory):  # Checked first: the Checkpointer would create it.
    raise no_checkpoint
  checkpointer = checkpointing.Checkpointer(workdir, keep=1_000_000)
  try:
    if checkpointer.latest_step() is None:
      raise no_checkpoint
    if step is not None and step not in checkpointer.all_steps():
      raise FileNotFoundError(f"No checkpoint of step {step} under {checkpointer.directory}; "
                              f"there are {checkpointer.all_steps()}.")
    meta = checkpointer.read_meta(step)
    config = builders.saved_config(meta["config"])
    image_shape = tuple(meta["image_shape"])
    pair, g_state, d_state = builders.init_states(config, image_shape)
    loaded_step, restored = checkpointer.restore({"g": g_state, "d": d_state}, step)
  finally:
    checkpointer.close()
  return Run(config, pair, restored["g"], restored["d"], loaded_step, image_shape)


@functools.lru_cache(maxsize=4)
def jitted_sample(generator: Any) -> Callable:
  """`steps.sample` for this generator, jitted (one compiled function per generator)."""
  return jax.jit(functools.partial(steps.sample, generator=generator))


def make_generate(generator: Any, variables: Any, latent_dim: int, key: jax.Array,
                  batch_size: int) -> Callable[[int], np.ndarray]:
  """`generate(n)` -> float32 images [n, H, W, C] in [-1, 1] from G in inference mode.

  The latents of rows [start, start + batch_size) are drawn from fold_in(key, start), in
  batches of one compiled shape: the same key gives the same images for any n.
  """
  sample_fn = jitted_sample(generator)

  def generate(n: int) -> np.ndarray:
    chunks = []
    for start in range(0, n, batch_size):
      z = jax.random.normal(jax.random.fold_in(key, start), (batch_size, latent_dim))
      chunks.append(np.asarray(sample_fn(variables, z))[:n - start])
    return np.concatenate(chunks)

  return generate


def generate(workdir: str, num_samples: int, seed: int = 0, step: Optional[int] = None,
             batch_size: int = 500) -> np.ndarray:
  """uint8 images [num_samples, H, W, C] from a workdir's checkpoint (G in inference mode)."""
  if num_samples < 1:
    raise ValueError(f"--num_samples must be >= 1; got {num_samples}.")
  run = load_run(workdir, step)
  logging.info("Sampling %d images from %s at step %d.", num_samples, workdir, run.step)
  generate_fn = make_generate(run.pair.generator, run.g_state.sampling_variables(),
                              run.config.model.latent_dim, jax.random.PRNGKey(seed), batch_size)
  return visualize.to_uint8(generate_fn(num_samples))


def define_flags() -> None:
  """Flags of the CLI (defined only when run as a program, so that other tools can import
  this module and define their own)."""
  flags.DEFINE_string("workdir", None, "The training run's workdir.")
  flags.DEFINE_integer("num_samples", 64, "How many images to write.")
  flags.DEFINE_string("output", None, "Output .npz path.")
  flags.DEFINE_integer("seed", 0, "Seed of the latents (independent of the training seed).")
  flags.DEFINE_integer("step", None, "Checkpoint step to load (default: the latest).")
  flags.DEFINE_integer("batch_size", 500, "Images generated per call.")


def main(argv):
  del argv
  if not FLAGS.workdir or not FLAGS.output:
    raise app.UsageError("--workdir and --output are required.")
  images = user_errors.run_reporting(generate, FLAGS.workdir, FLAGS.num_samples, FLAGS.seed,
                                     FLAGS.step, FLAGS.batch_size)
  os.makedirs(os.path.dirname(os.path.abspath(FLAGS.output)), exist_ok=True)
  np.savez_compressed(FLAGS.output, images=images)
  logging.info("Wrote %s: images %s %s.", FLAGS.output, images.shape, images.dtype)


if __name__ == "__main__":
  define_flags()
  app.run(main)
