"""Stabilisers and regularisers as plug-ins (`jaxgan.plugins.protocol`), one file each.

  replay:                past fakes mixed into D's batches (Shrivastava et al., 2017).
  augmentation:          DiffAugment or ADA on every image D sees (Zhao et al., 2020;
                         Karras et al., 2020), ADA's p controller.
  instance_noise:        Gaussian noise on every D input, annealed (Sonderby et al., 2017).
  packing:               D judges packs of m samples (PacGAN, Lin et al., 2018).
  balance:               skip / repeat D updates by D's loss.
  gradient_penalty:      WGAN-GP, R1, R2, DRAGAN (jaxgan.penalties), optionally lazy.
  feature_matching:      G matches D's feature statistics of real data (Salimans et al., 2016).
  constraints:           WGAN weight clipping (Arjovsky et al., 2017).
  historical_averaging:  ||theta - mean of past theta||^2 for both players (Salimans et al.).
  ema:                   EMA of G's weights for sampling (Karras et al., 2018).
  unrolled:              G's loss through k simulated D updates (Metz et al., 2017).

`PLUGINS` is the order in which a game applies them (each hook sees what the earlier ones
made): D's fakes (replay) before D's inputs (augmentation, then noise, then packing, so that
each sample is transformed on its own before it is packed); loss terms in this order; after an
update, clipping before the parameter averages see the clipped weights. Balance and unrolling
change the updates' control flow, so the standard game calls them by name. A new stabiliser is
one file with a `Plugin` subclass (its `from_section` takes its section's fields as keyword
arguments), its fields in configs/default.py, and a place in this list.
Losses, minibatch layers and spectral norm are part of the models and losses, not plug-ins.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Tuple, Type, TypeVar

from jaxgan.plugins.augmentation import Augmentation
from jaxgan.plugins.balance import Balance
from jaxgan.plugins.constraints import WeightClip
from jaxgan.plugins.ema import GeneratorEma
from jaxgan.plugins.feature_matching import FeatureMatching
from jaxgan.plugins.gradient_penalty import GradientPenalty
from jaxgan.plugins.historical_averaging import HistoricalAveraging
from jaxgan.plugins.instance_noise import InstanceNoise
from jaxgan.plugins.packing import Packing
from jaxgan.plugins.protocol import LossTerm, Plugin, RunFacts
from jaxgan.plugins.replay import Replay
from jaxgan.plugins.unrolled import Unrolled

PLUGINS: Tuple[Type[Plugin], ...] = (Replay, Augmentation, InstanceNoise, Packing, Balance,
                                     GradientPenalty, FeatureMatching, WeightClip,
                                     HistoricalAveraging, GeneratorEma, Unrolled)

P = TypeVar("P", bound=Plugin)


def from_sections(sections: Mapping[str, Any], run: RunFacts) -> Tuple[Plugin, ...]:
  """The plug-ins their config sections turn on, in `PLUGINS` order (each checks its own
  fields). `sections`: {Plugin.section: the section's fields as a dict, or the one value of a
  section that is a single field}."""
  built = (cls.from_section(run, **_keywords(cls, sections[cls.section])) for cls in PLUGINS)
  return tuple(plugin for plugin in built if plugin is not None)


def _keywords(cls: Type[Plugin], section: Any) -> Dict[str, Any]:
  """`from_section`'s keyword arguments: a section's fields, or {name: value} of a section
  that is one field (config.d_weight_clip)."""
  return dict(section) if isinstance(section, Mapping) else {cls.section: section}


def find(plugins: Tuple[Plugin, ...], cls: Type[P]) -> Optional[P]:
  """The plug-in of class `cls` among `plugins`, or None."""
  return next((p for p in plugins if isinstance(p, cls)), None)


def d_input_shape(plugins: Tuple[Plugin, ...], image_shape: Tuple[int, int, int]
                  ) -> Tuple[int, int, int]:
  """The (H, W, C) of the inputs D sees for data of `image_shape`, after every plug-in's
  `d_input`."""
  shape = tuple(image_shape)
  for plugin in plugins:
    shape = tuple(plugin.d_input_shape(shape))
  return shape


def loss_terms(plugins: Tuple[Plugin, ...], player: str) -> Tuple[LossTerm, ...]:
  """Every plug-in's loss terms for `player`, in order."""
  return tuple(term for p in plugins for term in p.loss_terms() if term.player == player)
