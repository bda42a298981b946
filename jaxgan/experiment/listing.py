"""What a config can name, one line each: what python -m jaxgan.main --list prints.

Every registry (architectures, losses, penalties, optimizers, schedules, games), the datasets
that need no download tool, and the plug-ins (stabilisers) with the config section that turns
each on. The line is the first line of the entry's docstring, so a new entry lists itself.
"""
from __future__ import annotations

import inspect
import sys
from typing import Any, List

from jaxgan import games, losses, models, optimizers, penalties, plugins
from jaxgan.data import sources
from jaxgan.evaluation import protocols


def first_line(obj: Any, limit: int = 96) -> str:
  """The first sentence of `obj`'s docstring (cut to `limit` characters)."""
  paragraph = (inspect.getdoc(obj) or "").strip().split("\n\n")[0]
  text = " ".join(paragraph.split())
  end = text.find(". ")
  text = text if end < 0 else text[:end + 1]
  return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _section(title: str, field: str, rows: List[tuple]) -> List[str]:
  lines = [f"{title} ({field}):"]
  width = max((len(name) for name, _ in rows), default=0)
  lines += [f"  {name:<{width}}  {text}".rstrip() for name, text in rows]
  return lines + [""]


def _registry_rows(registry) -> List[tuple]:
  return [(name, first_line(registry.get(name))) for name in registry.names()]


def describe() -> str:
  """The whole listing, as printed."""
  out: List[str] = []
  for title, field, registry in (
      ("Architectures", "config.model.name", models.MODELS),
      ("Losses", "config.loss.name", losses.LOSSES),
      ("Input-gradient penalties", "config.penalty.name", penalties.PENALTIES),
      ("Optimizers", "config.g_optimizer.name / config.d_optimizer.name",
       optimizers.OPTIMIZERS),
      ("Learning-rate schedules", "config.*_optimizer.schedule", optimizers.SCHEDULES),
      ("Games", "config.game.name", games.GAMES)):
    out += _section(title, field, _registry_rows(registry))
  datasets = [(name, "local IDX files (config.dataset.local_dir)") for name in
              sorted(sources.IDX_DATASETS)]
  datasets += [(sources.STACKED_MNIST, "1000 modes: three MNIST digits as RGB channels")]
  datasets += [(sources.DIGIT_STROKES, "two domains for cyclegan: MNIST digits and the same "
                "written with a thicker pen (unpaired; a paired test set)")]
  datasets += [(name, "your own files in config.dataset.local_dir") for name in
               sources.LOCAL_FORMATS]
  datasets += [("<any tfds name>", "through tensorflow-datasets (config.dataset.data_dir)")]
  out += _section("Datasets", "config.dataset.name", datasets)
  presets = [(name, protocol.describe().split(": ", 1)[1])
             for name, protocol in protocols.PRESETS.items()]
  presets += [("''", "the config's own: config.eval.feature_extractor (quick_classifier, "
               "the default, or custom_inception), resize, num_samples, reference")]
  out += _section("Evaluation protocols", "config.eval.protocol", presets)
  out += _section("Plug-ins (stabilisers)", "the config section that turns each on",
                  [(f"config.{cls.section}", first_line(sys.modules[cls.__module__]))
                   for cls in plugins.PLUGINS])
  out.append("Any of the named kinds may also be 'package.module:attribute' (your own code); "
             "README 'Your own loss' and 'Your own architecture'.")
  return "\n".join(out)

