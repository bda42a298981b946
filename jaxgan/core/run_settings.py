"""A run's settings as typed, frozen values: what the loop, its outputs, the data loaders and
the evaluator read instead of the config.

`jaxgan.experiment.builders.settings_of(config)` makes them from a checked config: nothing
beyond `jaxgan.experiment` reads the ConfigDict (docs/architecture.md, "Where the config is
read", names the exceptions: writing config.json and config_history.jsonl, comparing a saved
config on resume, and the commands). Fields keep the config's names, so
`settings.eval.every_steps` is `config.eval.every_steps`, and messages can name the field a
user sets. Defaults and documentation live in configs/default.py only;
tests/test_config_reading.py checks that every field here is declared there with a value of
its type.
"""
from __future__ import annotations

import dataclasses
import typing
from typing import Any, Dict, Mapping, Type, TypeVar

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class DataSpec:
  """config.dataset: which images, and how they are read and batched."""
  name: str
  split: str
  local_dir: str       # "" when tfds reads the data
  data_dir: str        # "" for tfds' default
  crop: int
  image_size: int
  channels: int        # image folders: 1 grey, 3 RGB, 0 as the files are
  random_crop: int
  random_flip: bool
  streaming: bool
  prefetch: int


@dataclasses.dataclass(frozen=True)
class EvalSettings:
  """config.eval: the periodic evaluation and the metrics' settings."""
  every_steps: int
  protocol: str
  num_samples: int
  batch_size: int
  feature_extractor: str
  resize: str
  reference: str
  classifier_dir: str
  classifier_steps: int
  inception_weights: str
  best_metric: str
  kid_subsets: int
  kid_subset_size: int
  precision_recall_k: int
  density_coverage_k: int


@dataclasses.dataclass(frozen=True)
class RunSettings:
  """The run's own scalar fields, its data and its evaluation (the game's and the models'
  settings become objects instead: jaxgan.experiment.builders)."""
  seed: int
  num_train_steps: int
  batch_size: int
  steps_per_dispatch: int
  on_nonfinite: str
  compute_dtype: str
  log_every_steps: int
  sample_every_steps: int
  num_grid_samples: int
  checkpoint_every_steps: int
  keep_checkpoints: int
  lease_timeout_seconds: float
  take_over_workdir: bool
  dataset: DataSpec
  eval: EvalSettings


def of_mapping(cls: Type[T], values: Mapping[str, Any]) -> T:
  """`cls` (one of the dataclasses above) from a mapping holding at least its fields (nested
  dataclasses from nested mappings); other keys are ignored."""
  types = typing.get_type_hints(cls)
  kwargs: Dict[str, Any] = {}
  for field in dataclasses.fields(cls):
    value, wanted = values[field.name], types[field.name]
    kwargs[field.name] = of_mapping(wanted, value) if dataclasses.is_dataclass(wanted) else value
  return cls(**kwargs)
