"""Translates images with a cyclegan run's checkpoint (G: A -> B or F: B -> A).

  python -m jaxgan.translate --workdir=DIR --input=IMAGES --direction=a2b --output=OUT.npz

--input is a folder of image files (PNG, JPEG, ...; all one size) or an .npz with `images`
uint8 [N, H, W] or [N, H, W, C]; the images must have the shape the run was trained on
(its crop). --output ending in .npz gets `images` uint8 [N, H, W, C] (and `sources`, the
inputs); any other path is a folder that gets one PNG per image, named as the inputs. With
--grid=PATH.png, the first 8 inputs and their translations side by side. The model is
rebuilt from the config stored in the checkpoint (--step: which one; default the latest).
"""
from __future__ import annotations

import os
from typing import List, Optional, Tuple

import numpy as np
from absl import app, flags, logging

from jaxgan.core import errors, run_settings, user_errors
from jaxgan.data import local_files, pipeline, resize, sources
from jaxgan.games.protocol import TranslatingGame
from jaxgan.runtime import compilation_cache, library_logs, storage, visualize
from jaxgan.workdir import saved_run

FLAGS = flags.FLAGS
DIRECTIONS = {"a2b": "a", "b2a": "b"}  # --direction -> the input domain of generate
GRID_ROWS = 8


def read_inputs(path: str) -> Tuple[np.ndarray, List[str]]:
  """(uint8 images [N, H, W, C], a name per image) from a folder of images or an .npz."""
  if path.endswith(".npz"):
    if not storage.isfile(path):
      raise errors.MissingFileError(f"--input={path!r}: no such file.")
    arrays = storage.load_npz(path)
    if "images" not in arrays:
      raise errors.InvalidInputError(
          f"--input={path!r} has no array 'images' (it has {sorted(arrays)}).")
    images = sources.as_uint8_pixels(np.asarray(arrays["images"]), path)
    if images.ndim == 3:
      images = images[..., None]
    return images, [f"{i:06d}" for i in range(len(images))]
  if not storage.isdir(path):
    raise errors.MissingFileError(f"--input={path!r} is neither an .npz file nor a folder.")
  files = local_files.image_files(path)
  if not files:
    raise errors.InvalidInputError(f"--input={path!r} holds no image files "
                                   f"({', '.join(local_files.IMAGE_EXTENSIONS)}).")
  images = [local_files.read_image(f, None) for f in files]
  shapes = sorted({x.shape for x in images})
  if len(shapes) > 1:
    raise errors.InvalidInputError(
        f"--input={path!r}: the images differ in size ({shapes[:4]}); resize them "
        "to the run's image shape.")
  return np.stack(images), [os.path.splitext(os.path.basename(f))[0] for f in files]


def fit_to_run(images: np.ndarray, image_shape: Tuple[int, int, int],
               dataset: run_settings.DataSpec) -> np.ndarray:
  """uint8 `images` [N, H, W, C] as the run saw its data: its crop and resize
  (dataset.crop, dataset.image_size), then the centre of its random crop (dataset.random_crop,
  as its grids and evaluation do); inputs that still do not have the run's `image_shape` are
  refused, naming the size it needs."""
  if tuple(images.shape[1:]) != image_shape:
    images = resize.crop_and_resize(images, dataset.crop, dataset.image_size, "the inputs")
    if dataset.random_crop and min(images.shape[1:3]) >= dataset.random_crop:
      images = pipeline.centre_crop(images, dataset.random_crop)
  if tuple(images.shape[1:]) != image_shape:
    raise errors.InvalidInputError(
        f"the inputs are {tuple(images.shape[1:])} images (after the run's crop={dataset.crop}, "
        f"image_size={dataset.image_size}, random_crop={dataset.random_crop}); the run was "
        f"trained on {image_shape} (H, W, C). Give images of that size"
        f"{' and channels' if images.shape[-1] != image_shape[-1] else ''}.")
  return images


def translate(workdir: str, images: np.ndarray, direction: str, step: Optional[int] = None,
              batch_size: int = 100) -> Tuple[np.ndarray, int]:
  """(uint8 translations of uint8 `images` [N, H, W, C], the checkpoint's step)."""
  if direction not in DIRECTIONS:
    raise errors.InvalidInputError(f"--direction={direction!r}; valid: {', '.join(DIRECTIONS)}.")
  run = saved_run.load_run(workdir, step)
  if not isinstance(run.game, TranslatingGame):
    raise errors.InvalidInputError(
        f"the run in {workdir!r} (config.game.name={run.config.game.name!r}) "
        "does not translate images; sample it with python -m jaxgan.sample.")
  images = fit_to_run(images, tuple(run.image_shape), run.experiment.settings.dataset)
  from jaxgan.evaluation import translation  # pylint: disable=g-import-not-at-top
  translate_fn = translation.translator(run.game, run.sampling_variables())
  pair_direction = "ab" if direction == "a2b" else "ba"
  out = []
  for start in range(0, len(images), batch_size):
    chunk = pipeline.to_model_range(images[start:start + batch_size])
    out.append(visualize.to_uint8(np.asarray(translate_fn(pair_direction, chunk))))
  return np.concatenate(out), run.step


def write_outputs(output: str, images: np.ndarray, inputs: np.ndarray, names: List[str]
                  ) -> None:
  """--output: an .npz (images and sources) or a folder of PNGs named as the inputs."""
  if output.endswith(".npz"):
    storage.make_parent(storage.absolute(output))
    storage.save_npz(output, compressed=True, images=images, sources=inputs)
    return
  from PIL import Image  # pylint: disable=g-import-not-at-top
  storage.makedirs(output)
  for image, name in zip(images, names):
    storage.save_image(Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image),
                       storage.join(output, f"{name}.png"))


def define_flags() -> None:
  compilation_cache.define_flag()
  flags.DEFINE_string("workdir", None, "The cyclegan run's workdir.")
  flags.DEFINE_string("input", None, "A folder of images or an .npz with 'images'.")
  flags.DEFINE_enum("direction", "a2b", list(DIRECTIONS), "a2b: G (A -> B); b2a: F (B -> A).")
  flags.DEFINE_string("output", None, "An .npz path, or a folder for PNGs.")
  flags.DEFINE_integer("step", None, "Checkpoint step to load (default: the latest).")
  flags.DEFINE_integer("batch_size", 100, "Images translated per call.")
  flags.DEFINE_string("grid", None, "Also draw the first inputs beside their translations.")


def main(argv):
  del argv
  compilation_cache.enable(FLAGS.compilation_cache)
  if not FLAGS.workdir or not FLAGS.input or not FLAGS.output:
    raise app.UsageError("--workdir, --input and --output are required.")
  inputs, names = user_errors.run_reporting(read_inputs, FLAGS.input)
  images, step = user_errors.run_reporting(translate, FLAGS.workdir, inputs, FLAGS.direction,
                                           FLAGS.step, FLAGS.batch_size)
  write_outputs(FLAGS.output, images, inputs, names)
  if FLAGS.grid:
    rows = min(GRID_ROWS, len(images))
    pairs = np.stack([inputs[:rows], images[:rows]], axis=1).reshape(2 * rows, *images.shape[1:])
    visualize.save_grid(pipeline.to_model_range(pairs), FLAGS.grid, columns=2,
                        title=f"{FLAGS.direction}, step {step}: input | translation")
  logging.info("Translated %d images (%s, step %d) into %s.", len(images), FLAGS.direction,
               step, FLAGS.output)


if __name__ == "__main__":
  library_logs.quiet(import_tensorflow=False)
  define_flags()
  app.run(main)
