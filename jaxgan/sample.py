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

import functools
from typing import Any, Callable, Dict, NamedTuple, Optional, Tuple

import jax
import ml_collections
import numpy as np
from absl import app, flags, logging

from jaxgan import (builders, checkpointing, compilation_cache, errors, library_logs, resume,
                    streams, user_errors, visualize)
from jaxgan.models import conditional, sampling_options
from jaxgan import storage

FLAGS = flags.FLAGS


class Run(NamedTuple):
  """A trained run as loaded from its workdir."""
  config: ml_collections.ConfigDict  # the run's config (fields added since: defaults)
  experiment: builders.Experiment    # rebuilt from it
  states: Dict[str, Any]             # {player: PlayerState, ..., "run": RunState}
  step: int
  image_shape: Tuple[int, int, int]

  @property
  def game(self) -> Any:
    return self.experiment.game

  def sampling_variables(self) -> Any:
    """The sampler's variables (G's EMA weights when kept)."""
    return self.states[self.game.sampler].sampling_variables()


CHECKPOINTS = {"latest": checkpointing.PERIODIC, "best": checkpointing.BEST}  # --checkpoint


def load_run(workdir: str, step: Optional[int] = None, checkpoint: str = "latest") -> Run:
  """Rebuilds the experiment from the config stored in the checkpoint and restores `step`
  (default: the newest) of the periodic checkpoints (`checkpoint="latest"`) or of the best
  (`"best"`: WORKDIR/best, kept by config.eval.best_metric)."""
  if checkpoint not in CHECKPOINTS:
    raise errors.InvalidInputError(f"--checkpoint={checkpoint!r}; valid: {', '.join(CHECKPOINTS)}.")
  directory = checkpointing.checkpoint_directory(workdir, CHECKPOINTS[checkpoint])
  no_checkpoint = errors.MissingFileError(
      f"No checkpoint under {directory}; train first "
      "(python -m jaxgan.main --config=... --workdir=...)" + (
          ", with config.eval.best_metric set (e.g. fid) and config.eval.every_steps > 0: "
          "the best checkpoint is kept at evaluations" if checkpoint == "best" else "") + ".")
  if not storage.isdir(directory):  # Checked first: the Checkpointer would create it.
    raise no_checkpoint
  checkpointer = checkpointing.Checkpointer(workdir, keep=1_000_000,
                                            subdir=CHECKPOINTS[checkpoint])
  try:
    for attempt in range(_LATEST_ATTEMPTS):
      try:
        return _load_from(checkpointer, step, no_checkpoint)
      except checkpointing.CheckpointDeletedError:
        # A run training in the workdir deleted it (keep_checkpoints) since we chose it: the
        # latest is newer now. A step asked for by number is not replaced by another.
        if step is not None or attempt == _LATEST_ATTEMPTS - 1:
          raise
        checkpointer.reload()
  finally:
    checkpointer.close()


def _load_from(checkpointer: checkpointing.Checkpointer, step: Optional[int],
               no_checkpoint: Exception) -> Run:
  """Checkpoint `step` (None: the latest listed) of `checkpointer`, its model rebuilt from
  its meta. Raises CheckpointDeletedError when a trainer deletes it while it is read."""
  latest = checkpointer.latest_step()
  if latest is None:
    raise no_checkpoint
  if step is not None and step not in checkpointer.all_steps():
    raise errors.MissingFileError(f"No checkpoint of step {step} under {checkpointer.directory}; "
                                  f"there are {checkpointer.all_steps()}.")
  step = latest if step is None else step
  meta = checkpointer.read_meta(step)
  config = builders.saved_config(meta["config"])
  image_shape = tuple(meta["image_shape"])
  experiment = builders.build(config, image_shape)
  loaded_step, states = resume.load(checkpointer, experiment.init_states(), step)
  return Run(config, experiment, states, loaded_step, image_shape)


_LATEST_ATTEMPTS = 5  # Reads of "the latest checkpoint" while a trainer deletes old ones.


def jitted_generate(game: Any, options: Optional[Dict[str, Any]] = None) -> Callable:
  """`game.generate` with the sampling `options` fixed (none: the model's defaults), jitted:
  one compiled function per game and options."""
  return _jitted_generate(game, tuple(sorted((options or {}).items())))


@functools.lru_cache(maxsize=4)
def _jitted_generate(game: Any, options: Tuple[Tuple[str, Any], ...]) -> Callable:
  return jax.jit(functools.partial(game.generate, **dict(options)))


def make_generate(game: Any, variables: Any, key: jax.Array, batch_size: int,
                  label: Optional[int] = None, options: Optional[Dict[str, Any]] = None
                  ) -> Callable[[int], np.ndarray]:
  """`generate(n)` -> float32 images [n, H, W, C] in [-1, 1] from the game's sampler in
  inference mode, with the sampling `options` (`jaxgan.models.sampling_options`) if given.

  The inputs of rows [start, start + batch_size) are drawn from fold_in(key, start), in
  batches of one compiled shape: the same key gives the same images for any n. A conditional
  game makes row i of class `requested_classes(game, n, label)[i]`.
  """
  generate_fn = jitted_generate(game, options)

  def generate(n: int) -> np.ndarray:
    chunks = []
    for start in range(0, n, batch_size):
      labels = requested_classes(game, batch_size, label, start)
      inputs = game.sample_inputs(jax.random.fold_in(key, start), batch_size, labels)
      chunks.append(np.asarray(generate_fn(variables, inputs))[:n - start])
    return np.concatenate(chunks)

  return generate


def requested_classes(game: Any, n: int, label: Optional[int] = None, start: int = 0
                      ) -> Optional[np.ndarray]:
  """The classes rows [start, start + n) of a conditional game are made of (int32 [n]): all
  `label`, or (label None) every class in turn. None for an unconditional game."""
  num_classes = game.num_classes
  if not num_classes:
    if label is not None:
      raise errors.InvalidInputError(f"label={label}: this model is not class-conditional "
                                     "(config.model.num_classes is 0).")
    return None
  if label is None:
    return conditional.class_labels(n, num_classes, start)
  if not 0 <= label < num_classes:
    raise errors.InvalidInputError(f"label={label}: the model knows classes 0..{num_classes - 1}.")
  return np.full((n,), label, np.int32)


def class_rows(game: Any, variables: Any, inputs: Dict[str, Any],
               options: Optional[Dict[str, Any]] = None) -> Tuple[np.ndarray, np.ndarray]:
  """One row per class of a conditional game, each from the same inputs (m samples' worth,
  e.g. {"z": [m, latent_dim]}): (images [num_classes * m, H, W, C] in [-1, 1], classes int32
  [num_classes * m]); `options` as in `make_generate`."""
  inputs = {name: np.asarray(x) for name, x in inputs.items()
            if name != "labels" and x is not None}
  m = len(next(iter(inputs.values())))
  classes = np.repeat(np.arange(game.num_classes, dtype=np.int32), m)
  tiled = {name: np.tile(x, (game.num_classes,) + (1,) * (x.ndim - 1))
           for name, x in inputs.items()}
  images = jitted_generate(game, options)(variables, {**tiled, "labels": classes})
  return np.asarray(images), classes


def generate(workdir: str, num_samples: int, seed: int = 0, step: Optional[int] = None,
             batch_size: int = 500, label: Optional[int] = None,
             grid_path: Optional[str] = None, checkpoint: str = "latest",
             options: Optional[Dict[str, Any]] = None
             ) -> Tuple[np.ndarray, Optional[np.ndarray]]:
  """From a workdir's checkpoint (G in inference mode; `checkpoint`, `step` as in
  `load_run`): (uint8 images [num_samples, H, W, C], their requested classes int32
  [num_samples], or None for an unconditional run). `label` and `grid_path` (a per-class
  grid PNG) need a conditional run; `options` (`sampling_options.requested(...)`, e.g.
  {"truncation_psi": 0.7}) a model that takes them (stylegan2)."""
  if num_samples < 1:
    raise errors.InvalidInputError(f"--num_samples must be >= 1; got {num_samples}.")
  run = load_run(workdir, step, checkpoint)
  game = run.game
  if game.translates:
    raise errors.InvalidInputError(
        f"the run in {workdir!r} translates images (config.game.name="
        f"{run.config.game.name!r}); use python -m jaxgan.translate --workdir=... "
        "--input=... --direction=a2b --output=...")
  classes = requested_classes(game, num_samples, label)  # Checks label first.
  sampling_options.check(options or {}, game.sampling_options, run.config.model.name)
  if grid_path and classes is None:
    raise errors.InvalidInputError(
        "--grid draws one row per class: this model is not class-conditional.")
  logging.info("Sampling %d images from %s at step %d.", num_samples, workdir, run.step)
  key = jax.random.PRNGKey(seed)
  variables = run.sampling_variables()
  generate_fn = make_generate(game, variables, key, batch_size, label, options)
  if grid_path:
    from jaxgan.evaluation import pictures  # matplotlib only when drawing.
    # Its own inputs (a stream no sample row uses).
    inputs = game.sample_inputs(streams.of(key, streams.GRID_LATENTS), 10)
    images, grid_classes = class_rows(game, variables, inputs, options)
    pictures.save_per_class_grid(images, grid_classes, game.num_classes, grid_path,
                                 title=f"{run.config.model.name}, step {run.step}: "
                                 "one row per requested class")
  return visualize.to_uint8(generate_fn(num_samples)), classes


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
  flags.DEFINE_string("grid", None, "Conditional runs: also write a per-class grid PNG here.")
  flags.DEFINE_float("truncation_psi", None, "stylegan2: the truncation trick, w_avg + psi * "
                     "(w - w_avg) (1: none, 0: every sample the average; the papers show 0.5-0.7).")
  flags.DEFINE_integer("truncation_cutoff", None, "stylegan2: truncate only the first N ws "
                       "(the coarse layers; default all).")
  flags.DEFINE_enum("noise_mode", None, list(sampling_options.SAMPLING_NOISE_MODES),
                    "stylegan2: the per-pixel noise, const (the default: each layer's fixed "
                    "noise, so one latent makes one image) or none.")


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
