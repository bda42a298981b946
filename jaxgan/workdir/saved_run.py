"""A trained run as loaded from its workdir: its experiment rebuilt, its states restored.

`load_run` is what sampling, evaluation, translation and the studies read a run with, from the
periodic checkpoints or WORKDIR/best, while a trainer may still be writing to it.
"""
from __future__ import annotations

from typing import Any, Dict, NamedTuple, Optional, Tuple

import ml_collections

from jaxgan.core import errors
from jaxgan.experiment import builders, saved_config
from jaxgan.runtime import storage
from jaxgan.workdir import checkpointing, resume


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
  config = saved_config.saved_config(meta["config"])
  image_shape = tuple(meta["image_shape"])
  experiment = builders.build(config, image_shape)
  loaded_step, states = resume.load(checkpointer, experiment.init_states(), step)
  return Run(config, experiment, states, loaded_step, image_shape)


_LATEST_ATTEMPTS = 5  # Reads of "the latest checkpoint" while a trainer deletes old ones.
