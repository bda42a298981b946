"""Images from a game's sampler in inference mode, in batches of one compiled shape.

Used by the training loop's grids and evaluations, `jaxgan.sample`, `jaxgan.evaluate`, the
translation scores and the benchmarks: the same key gives the same images whoever asks.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Dict, Optional, Tuple

import jax
import numpy as np

from jaxgan.core import errors
from jaxgan.models import conditional


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
  batches of one compiled shape: the same key gives the same images for any n, and
  `generate(m, start=s)` gives rows [s, s + m) of the same sequence. A conditional game makes
  row i of class `requested_classes(game, n, label)[i]`.
  """
  generate_fn = jitted_generate(game, options)

  def generate(n: int, start: int = 0) -> np.ndarray:
    """Rows [start, start + n) of the sequence (the evaluation's chunks)."""
    chunks = []
    first = start - start % batch_size  # The batch holding row `start`.
    for batch_start in range(first, start + n, batch_size):
      labels = requested_classes(game, batch_size, label, batch_start)
      inputs = game.sample_inputs(jax.random.fold_in(key, batch_start), batch_size, labels)
      chunks.append(np.asarray(generate_fn(variables, inputs)))
    return np.concatenate(chunks)[start - first:start - first + n]

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
