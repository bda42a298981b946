"""ProGAN's growth schedule: which resolution stage, and how far faded in, at every step.

As the official `TrainingSchedule` (tkarras/progressive_growing_of_gans, train.py), counted
in real images shown to D: the first stage trains for `stable_images`; then each further
stage fades in over `fade_images` (its alpha going linearly 0 -> 1) and trains stabilised for
`stable_images`; the last stage trains until the run ends. A step's images are those shown
before it: the sum of the steps' batch * n_critic (the official cur_nimg, which grows by one
minibatch per D update); the batch may differ per resolution.

A `Phase` is one (stage, fading) interval of steps; each is one compiled program of the
progressive game. Everything here is a function of the step: a resumed run is in the phase,
at the alpha, an uninterrupted one would be.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Dict, List, Optional, Tuple

import jax
import jax.numpy as jnp

from jaxgan.core import errors
from jaxgan.models import progan


@dataclasses.dataclass(frozen=True)
class Phase:
  """Steps [first_step, end_step) at `stage` (end_step None: to the end of the run).

  Attributes:
    stage: resolution 4 * 2^stage.
    fading: True while the stage's new layers fade in (alpha < 1), False once stabilised.
    first_image: real images shown before the phase's first step.
    batch_size: the global batch of one D update in this phase.
    images_per_step: batch_size * n_critic.
    fade_start_images, fade_images: the images at which the fade began and its length (for
      alpha; 0 for a stable phase).
  """
  stage: int
  fading: bool
  first_step: int
  end_step: Optional[int]
  first_image: int
  batch_size: int
  images_per_step: int
  fade_start_images: int = 0
  fade_images: int = 0

  @property
  def key(self) -> Tuple[int, bool]:
    """The compiled program's key."""
    return (self.stage, self.fading)

  @property
  def resolution(self) -> int:
    return progan.resolution(self.stage)

  def contains(self, step: int) -> bool:
    return step >= self.first_step and (self.end_step is None or step < self.end_step)

  def images_before(self, step: int) -> int:
    """Real images shown before train step `step` (a step of this phase)."""
    return self.first_image + (step - self.first_step) * self.images_per_step

  def alpha(self, step: jax.Array) -> jax.Array:
    """The fade-in weight (float32 scalar) at `step` (traced): images shown since the fade
    began over its length, clipped to [0, 1]; 1 in a stable phase."""
    if not self.fading:
      return jnp.ones((), jnp.float32)
    # Relative to the phase's first step, so the int32 product stays small.
    shown = ((jnp.asarray(step, jnp.int32) - self.first_step) * self.images_per_step
             + (self.first_image - self.fade_start_images))
    return jnp.clip(shown.astype(jnp.float32) / self.fade_images, 0.0, 1.0)


class GrowthSchedule:
  """The phases of a run growing from `first_stage` to `last_stage`; see the module docstring.

  Args:
    first_stage, last_stage: resolutions 4 * 2^stage (the official lod_initial_resolution,
      and the data's side).
    stable_images, fade_images: the official lod_training_kimg and lod_transition_kimg, in
      images (>= 0; a phase shorter than one step is skipped).
    batch_sizes: {stage: global batch of one D update} for every stage (a fade-in uses its
      new stage's, as the official minibatch_dict by the resolution being faded in).
    n_critic: D updates per train step (each on its own batch).
  """

  def __init__(self, first_stage: int, last_stage: int, stable_images: int, fade_images: int,
               batch_sizes: Dict[int, int], n_critic: int = 1):
    if not 0 <= first_stage <= last_stage:
      raise errors.InvalidInputError(
          f"growth: first stage {first_stage} must be in [0, {last_stage}].")
    if stable_images < 0 or fade_images < 0:
      raise errors.InvalidInputError(
          f"growth: stable_images={stable_images} and fade_images={fade_images} "
          "must be >= 0.")
    self.first_stage, self.last_stage = first_stage, last_stage
    # The ideal schedule in images: (stage, fading, first image, images; None: open-ended).
    planned = []
    images = 0
    for stage in range(first_stage, last_stage + 1):
      if stage > first_stage:
        planned.append((stage, True, images, fade_images))
        images += fade_images
      planned.append((stage, False, images, None if stage == last_stage else stable_images))
      images += stable_images
    # Each phase from the first step whose images reach its start (where the previous one
    # ended) to the first that reaches its end, at its own batch.
    phases: List[Phase] = []
    step, shown = 0, 0
    for stage, fading, start, length in planned:
      batch = batch_sizes[stage]
      per_step = batch * n_critic
      fade = dict(fade_start_images=start, fade_images=length) if fading else {}
      if length is None:
        phases.append(Phase(stage, fading, step, None, shown, batch, per_step, **fade))
        break
      steps = max(0, math.ceil((start + length - shown) / per_step))
      if steps:  # A phase shorter than one step is skipped.
        phases.append(Phase(stage, fading, step, step + steps, shown, batch, per_step, **fade))
        step, shown = step + steps, shown + steps * per_step
    self.phases: Tuple[Phase, ...] = tuple(phases)
    self._by_key: Dict[Tuple[int, bool], Phase] = {p.key: p for p in phases}

  def phase_at(self, step: int) -> Phase:
    """The phase train step `step` (0-based) runs in."""
    for phase in self.phases:
      if phase.contains(step):
        return phase
    raise ValueError(f"step {step} is before the first phase")  # Unreachable for step >= 0.

  def phase(self, key: Tuple[int, bool]) -> Phase:
    if key not in self._by_key:
      raise errors.InvalidInputError(f"no growth phase {key}; this run's phases: "
                                     f"{[p.key for p in self.phases]}.")
    return self._by_key[key]

  def milestones(self, num_train_steps: int) -> Dict[int, str]:
    """{steps done: label} at the end of each resolution the run reaches: the step after
    its last step at that resolution (fade-in or stable; the run's end for the last)."""
    out = {}
    for stage in range(self.first_stage, self.last_stage + 1):
      phases = [p for p in self.phases if p.stage == stage and p.first_step < num_train_steps]
      if phases:
        end = phases[-1].end_step
        side = progan.resolution(stage)
        out[num_train_steps if end is None else min(end, num_train_steps)] = f"{side}x{side}"
    return out

  def describe(self) -> str:
    """One line per phase: steps, resolution, fading or stable (for the log and docs)."""
    return "; ".join(
        f"steps {p.first_step}-{'end' if p.end_step is None else p.end_step - 1}: "
        f"{p.resolution}x{p.resolution} {'fade-in' if p.fading else 'stable'}, batch "
        f"{p.batch_size}" for p in self.phases)
