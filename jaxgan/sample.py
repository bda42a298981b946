"""Writes samples from a workdir's latest checkpoint to an .npz file.

  python -m jaxgan.sample --workdir=DIR --num_samples=1000 --output=samples.npz

The file holds `images`: uint8 [num_samples, H, W, C] (pixel values 0..255). The model is
rebuilt from the config stored in the checkpoint, so no config flag is needed.
"""
from __future__ import annotations

import functools
import os
from typing import Any, NamedTuple, Optional, Tuple

import jax
import ml_collections
import numpy as np
from absl import app, flags, logging

from jaxgan import builders, checkpointing, steps, visualize

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
  checkpointer = checkpointing.Checkpointer(workdir, keep=1_000_000)
  try:
    if checkpointer.latest_step() is None:
      raise FileNotFoundError(f"No checkpoint under {checkpointer.directory}; train first "
                              "(python -m jaxgan.main --config=... --workdir=...).")
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


def generate(workdir: str, num_samples: int, seed: int = 0, step: Optional[int] = None,
             batch_size: int = 500) -> np.ndarray:
  """uint8 images [num_samples, H, W, C] from a workdir's checkpoint (G in inference mode)."""
  if num_samples < 1:
    raise ValueError(f"--num_samples must be >= 1; got {num_samples}.")
  run = load_run(workdir, step)
  logging.info("Sampling %d images from %s at step %d.", num_samples, workdir, run.step)
  variables = run.g_state.sampling_variables()
  sample_fn = jax.jit(functools.partial(steps.sample, generator=run.pair.generator))
  key = jax.random.PRNGKey(seed)
  chunks = []
  for start in range(0, num_samples, batch_size):
    n = min(batch_size, num_samples - start)
    z = jax.random.normal(jax.random.fold_in(key, start),
                          (batch_size, run.config.model.latent_dim))
    chunks.append(visualize.to_uint8(sample_fn(variables, z))[:n])  # One compiled shape.
  return np.concatenate(chunks)


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
  images = generate(FLAGS.workdir, FLAGS.num_samples, FLAGS.seed, FLAGS.step,
                    FLAGS.batch_size)
  os.makedirs(os.path.dirname(os.path.abspath(FLAGS.output)), exist_ok=True)
  np.savez_compressed(FLAGS.output, images=images)
  logging.info("Wrote %s: images %s %s.", FLAGS.output, images.shape, images.dtype)


if __name__ == "__main__":
  define_flags()
  app.run(main)
