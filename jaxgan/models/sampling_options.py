"""Sampling options: keywords a generator takes when sampling only, declared by its class.

A generator class lists them in `SAMPLING_OPTIONS` (StyleGAN2's: `truncation_psi`, the
truncation trick's pull of w towards its tracked average, 1 = none; `truncation_cutoff`, how
many of the first ws it applies to, None = all; `noise_mode`: "const", each layer's fixed
noise, or "none").
Training never sets them; `python -m jaxgan.sample --truncation_psi=0.7` (and
`python -m jaxgan.evaluate`, which records them with the protocol) does, through the
game's `generate(variables, inputs, **options)`, and `check` refuses what the run's model does
not take before anything is compiled.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Optional, Tuple

from jaxgan.core import errors
from jaxgan.models import conditional, stylegan2

# What sampling can ask of StyleGAN2's noise inputs: inference draws no random stream (the
# model's "random" mode is for training), so const (its default there) or none.
SAMPLING_NOISE_MODES = ("const", "none")


def of(generator: Any) -> Tuple[str, ...]:
  """The sampling options `generator` (a conditional wrapper: its base) takes; () if none."""
  base = generator.base if conditional.is_conditional(generator) else generator
  return tuple(getattr(type(base), "SAMPLING_OPTIONS", ()))


def define_flags() -> None:
  """--truncation_psi, --truncation_cutoff and --noise_mode, for the commands that sample
  (jaxgan.sample, jaxgan.evaluate); pass them to `requested`."""
  from absl import flags  # pylint: disable=g-import-not-at-top (only the commands need it)
  flags.DEFINE_float("truncation_psi", None, "stylegan2: the truncation trick, w_avg + psi * "
                     "(w - w_avg) (1: none, 0: every sample the average; the papers show "
                     "0.5-0.7).")
  flags.DEFINE_integer("truncation_cutoff", None, "stylegan2: truncate only the first N ws "
                       "(the coarse layers; default all).")
  flags.DEFINE_enum("noise_mode", None, list(SAMPLING_NOISE_MODES),
                    "stylegan2: the per-pixel noise, const (the default: each layer's fixed "
                    "noise, so one latent makes one image) or none.")


def requested(truncation_psi: Optional[float] = None, truncation_cutoff: Optional[int] = None,
              noise_mode: Optional[str] = None) -> dict:
  """The options a user set (None: not set, the model's default), checked for range."""
  options = {}
  if truncation_psi is not None:
    if not math.isfinite(truncation_psi):
      raise errors.InvalidInputError(
          f"truncation_psi must be a finite number; got {truncation_psi}.")
    options["truncation_psi"] = float(truncation_psi)
  if truncation_cutoff is not None:
    if truncation_cutoff < 1:
      raise errors.InvalidInputError(
          f"truncation_cutoff must be >= 1 (how many of the first ws are "
          f"truncated); got {truncation_cutoff}.")
    options["truncation_cutoff"] = int(truncation_cutoff)
  if noise_mode is not None:
    if noise_mode not in SAMPLING_NOISE_MODES:
      raise errors.InvalidInputError(
          f"noise_mode={noise_mode!r} when sampling; valid: "
          f"{', '.join(SAMPLING_NOISE_MODES)} (sampling draws no noise stream).")
    options["noise_mode"] = noise_mode
  return options


def check(options: Mapping[str, Any], accepted: Tuple[str, ...], model_name: str) -> None:
  """Raises ValueError naming the options the run's model (`model_name`) does not take."""
  unknown = sorted(set(options) - set(accepted))
  if unknown:
    takes = ", ".join(accepted) if accepted else "none"
    known = ", ".join(stylegan2.StyleGAN2Generator.SAMPLING_OPTIONS)
    raise errors.InvalidInputError(
        f"model {model_name!r} takes no sampling option {', '.join(unknown)} "
        f"(its sampling options: {takes}; stylegan2's are {known}).")
