"""The 2-D mixtures of Gaussians of the mode-collapse literature: 8 modes on a ring, 25 on a
grid. A GAN that collapses visits a few modes (or cycles between them); one that covers the
data puts its samples on all of them, each within a few standard deviations of its centre.

  ring: 8 modes equally spaced on the unit circle, std 0.01 (VEEGAN, Srivastava et al. 2017;
        PacGAN, Lin et al. 2018, sec. 3.1; Metz et al. 2017 use radius 2, std 0.02, the same
        picture at twice the scale);
  grid: 25 modes at {-4, -2, 0, 2, 4}^2, std 0.05 (VEEGAN; PacGAN).

Points travel through jaxgan as [n, 1, 1, 2] arrays (models: "toy2d"); they are not images,
so they bypass the image pipeline (uint8 files) and are drawn here: the batch of a step is
a function of (seed, step). Their measurement is `jaxgan.evaluation.metrics.mixture_modes`.
"""
from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from jaxgan.core import errors


@dataclasses.dataclass(frozen=True)
class Mixture:
  """An equal-weight mixture of isotropic Gaussians. centres: float64 [K, 2]; std: each
  component's standard deviation per coordinate."""
  name: str
  centres: np.ndarray
  std: float

  @property
  def num_modes(self) -> int:
    return len(self.centres)

  def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points float32 [n, 2]: a uniformly drawn mode each, plus N(0, std^2 I)."""
    modes = rng.integers(0, self.num_modes, n)
    points = self.centres[modes] + self.std * rng.standard_normal((n, 2))
    return points.astype(np.float32)

  def batch(self, seed: int, step: int, n: int) -> np.ndarray:
    """The n points of train step `step`, float32 [n, 1, 1, 2] (the same on any machine)."""
    return self.sample(n, np.random.default_rng((seed, step))).reshape(n, 1, 1, 2)


def ring(num_modes: int = 8, radius: float = 1.0, std: float = 0.01) -> Mixture:
  angles = 2 * np.pi * np.arange(num_modes) / num_modes
  centres = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
  return Mixture("ring", centres, std)


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> Mixture:
  axis = spacing * (np.arange(side) - (side - 1) / 2)
  return Mixture("grid", np.array(list(itertools.product(axis, axis))), std)


MIXTURES = {"ring": ring, "grid": grid}


def get(name: str) -> Mixture:
  """The mixture called `name` (its published settings)."""
  if name not in MIXTURES:
    raise errors.InvalidInputError(f"unknown mixture {name!r}; valid: {', '.join(MIXTURES)}.")
  return MIXTURES[name]()
