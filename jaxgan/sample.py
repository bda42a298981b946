"""Writes samples from a workdir's latest checkpoint to an .npz file.

  python -m jaxgan.sample --workdir=DIR --num_samples=1000 --output=samples.npz

The file holds `images`: uint8 [num_samples, H, W, C] (pixel values 0..255). The model is
rebuilt from the config stored in the checkpoint, so no config flag is needed.
"""
from __future__ import annotations

import functools
import os
from typing import Optional

import jax
import ml_collections
import numpy as np
from absl import app, flags, logging

from jaxgan import builders, checkpointing, steps, visualize

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "The training run's workdir.")
flags.DEFINE_integer("num_samples", 64, "How many images to write.")
flags.DEFINE_string("output", None, "Output .npz path.")
flags.DEFINE_integer("seed", 0, "Seed of the latents (independent of the training seed).")
flags.DEFINE_integer("step", None, "Checkpoint step to load (default: the latest).")
flags.DEFINE_integer("batch_size", 500, "Images generated per call.")


def generate(workdir: str, num_samples: int, seed: int = 0, step: Optional[int] = None,
             batch_size: int = 500) -> np.ndarray:
  """uint8 images [num_samples, H, W, C] from a workdir's checkpoint (G in inference mode)."""
  if num_samples < 1:
    raise ValueError(f"--num_samples must be >= 1; got {num_samples}.")
  checkpointer = checkpointing.Checkpointer(workdir, keep=1_000_000)
  try:
    if checkpointer.latest_step() is None:
      raise FileNotFoundError(f"No checkpoint under {checkpointer.directory}; train first "
                              "(python -m jaxgan.main --config=... --workdir=...).")
    meta = checkpointer.read_meta(step)
    config = ml_collections.ConfigDict(meta["config"])
    pair, g_state, d_state = builders.init_states(config, tuple(meta["image_shape"]))
    loaded_step, restored = checkpointer.restore({"g": g_state, "d": d_state}, step)
  finally:
    checkpointer.close()
  logging.info("Sampling %d images from %s at step %d.", num_samples, workdir, loaded_step)
  variables = restored["g"].sampling_variables()
  sample_fn = jax.jit(functools.partial(steps.sample, generator=pair.generator))
  key = jax.random.PRNGKey(seed)
  chunks = []
  for start in range(0, num_samples, batch_size):
    n = min(batch_size, num_samples - start)
    z = jax.random.normal(jax.random.fold_in(key, start), (batch_size, config.model.latent_dim))
    chunks.append(visualize.to_uint8(sample_fn(variables, z))[:n])  # One compiled shape.
  return np.concatenate(chunks)


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
  app.run(main)
