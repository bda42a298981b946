"""Writes samples from a workdir's latest checkpoint to an .npz file.

  python -m jaxgan.sample --workdir=DIR --num_samples=1000 --output=samples.npz
  (--checkpoint=best: the best by config.eval.best_metric, WORKDIR/best; --step=N: that one)

The file holds `images`: uint8 [num_samples, H, W, C] (pixel values 0..255). The model is
rebuilt from the config stored in the checkpoint, so no config flag is needed.

For a class-conditional run the file also holds `labels` (int32 [num_samples], the classes
asked for): every class in turn (row i: class i mod num_classes), or only class K with
`--label=K`; `--grid=PATH.png` also draws one row per class (the same latents in every row).
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import jax
import numpy as np
from absl import app, flags, logging

from jaxgan.core import errors, moved_modules, random_streams, user_errors
from jaxgan.evaluation.generation import class_rows, make_generate, requested_classes
from jaxgan.games.protocol import TranslatingGame
from jaxgan.models import sampling_options
from jaxgan.runtime import compilation_cache, library_logs, storage, visualize
# load_run and Run are also importable from here, where they were before the layout by role.
from jaxgan.workdir.saved_run import CHECKPOINTS, Run, load_run  # noqa: F401
# jitted_generate moved to jaxgan.evaluation.generation with the rest of the library half.
__getattr__ = moved_modules.forwarded_attributes(
    __name__, {"jitted_generate": "jaxgan.evaluation.generation:jitted_generate"})

FLAGS = flags.FLAGS
GRID_SAMPLES = 64  # --grid of an unconditional run: the first samples, an 8x8 grid


def generate(workdir: str, num_samples: int, seed: int = 0, step: Optional[int] = None,
             batch_size: int = 500, label: Optional[int] = None,
             grid_path: Optional[str] = None, checkpoint: str = "latest",
             options: Optional[Dict[str, Any]] = None
             ) -> Tuple[np.ndarray, Optional[np.ndarray]]:
  """From a workdir's checkpoint (G in inference mode; `checkpoint`, `step` as in
  `load_run`): (uint8 images [num_samples, H, W, C], their requested classes int32
  [num_samples], or None for an unconditional run). `label` needs a conditional run;
  `grid_path`: a PNG of one row per requested class (conditional), or of the first
  GRID_SAMPLES samples written (unconditional); `options` (`sampling_options.requested(...)`,
  e.g. {"truncation_psi": 0.7}) a model that takes them (stylegan2)."""
  if num_samples < 1:
    raise errors.InvalidInputError(f"--num_samples must be >= 1; got {num_samples}.")
  run = load_run(workdir, step, checkpoint)
  game = run.game
  if isinstance(game, TranslatingGame):
    raise errors.InvalidInputError(
        f"the run in {workdir!r} translates images (config.game.name="
        f"{run.config.game.name!r}); use python -m jaxgan.translate --workdir=... "
        "--input=... --direction=a2b --output=...")
  classes = requested_classes(game, num_samples, label)  # Checks label first.
  sampling_options.check(options or {}, game.sampling_options, run.config.model.name)
  logging.info("Sampling %d images from %s at step %d.", num_samples, workdir, run.step)
  key = jax.random.PRNGKey(seed)
  variables = run.sampling_variables()
  generate_fn = make_generate(game, variables, key, batch_size, label, options)
  images = generate_fn(num_samples)
  if grid_path and classes is None:  # The first samples written, as they are.
    visualize.save_grid(images[:GRID_SAMPLES], grid_path,
                        title=f"{run.config.model.name}, step {run.step}: the first "
                        f"{min(num_samples, GRID_SAMPLES)} samples (seed {seed})")
  elif grid_path:
    from jaxgan.evaluation import pictures  # matplotlib only when drawing.
    # Its own inputs (a stream no sample row uses).
    inputs = game.sample_inputs(random_streams.of(key, random_streams.GRID_LATENTS), 10)
    rows, grid_classes = class_rows(game, variables, inputs, options)
    pictures.save_per_class_grid(rows, grid_classes, game.num_classes, grid_path,
                                 title=f"{run.config.model.name}, step {run.step}: "
                                 "one row per requested class")
  return visualize.to_uint8(images), classes


def define_flags() -> None:
  """Flags of the CLI (defined only when run as a program, so that other tools can import
  this module and define their own)."""
  compilation_cache.define_flag()
  flags.DEFINE_string("workdir", None, "The training run's workdir.")
  flags.DEFINE_integer("num_samples", 64, "How many images to write.")
  flags.DEFINE_string("output", None, "Output .npz path.")
  flags.DEFINE_integer("seed", 0, "Seed of the latents (independent of the training seed).")
  flags.DEFINE_integer("step", None, "Checkpoint step to load (default: the latest).")
  flags.DEFINE_enum("checkpoint", "latest", list(CHECKPOINTS), "latest: the periodic "
                    "checkpoints; best: WORKDIR/best (config.eval.best_metric).")
  flags.DEFINE_integer("batch_size", 500, "Images generated per call.")
  flags.DEFINE_integer("label", None, "Conditional runs: make only this class (default: "
                       "every class in turn).")
  flags.DEFINE_string("grid", None, "Also write a grid PNG here: one row per requested class "
                      "(conditional runs), else the first 64 samples.")
  sampling_options.define_flags()
  flags.adopt_module_key_flags(sampling_options)  # Listed by --help, as this command's.


def main(argv):
  del argv
  compilation_cache.enable(FLAGS.compilation_cache)
  if not FLAGS.workdir or not FLAGS.output:
    raise app.UsageError("--workdir and --output are required.")
  options = user_errors.run_reporting(sampling_options.requested, FLAGS.truncation_psi,
                                      FLAGS.truncation_cutoff, FLAGS.noise_mode)
  images, classes = user_errors.run_reporting(
      generate, FLAGS.workdir, FLAGS.num_samples, FLAGS.seed, FLAGS.step, FLAGS.batch_size,
      FLAGS.label, FLAGS.grid, FLAGS.checkpoint, options)
  storage.make_parent(storage.absolute(FLAGS.output))
  arrays = {"images": images} if classes is None else {"images": images, "labels": classes}
  storage.save_npz(FLAGS.output, compressed=True, **arrays)
  logging.info("Wrote %s: images %s %s%s.", FLAGS.output, images.shape, images.dtype,
               "" if classes is None else ", labels")


if __name__ == "__main__":
  library_logs.quiet(import_tensorflow=False)  # Sampling never imports TensorFlow.
  define_flags()
  app.run(main)
