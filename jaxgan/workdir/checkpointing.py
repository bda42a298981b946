"""Checkpoints: a thin layer over orbax's CheckpointManager, under WORKDIR/checkpoints.

Each checkpoint holds two items: "state" ({"g": G TrainState, "d": D TrainState}, without the
apply functions and optimizer definitions, which come from the config) and "meta" (JSON: the
config that made the run, a fingerprint of the states' structure and a checksum of every
array). Restoring compares the fingerprints first, so a workdir from another model is refused
with a clear message before anything is loaded or overwritten; then it verifies the checksums,
so a checkpoint damaged on disk (bit rot, a truncated copy) is refused rather than resumed.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from typing import Any, Callable, Dict, Optional, Tuple

import jax
import numpy as np
import orbax.checkpoint as ocp

from jaxgan.core import errors
from jaxgan.runtime import storage

# URI schemes orbax (epath for its metadata, TensorStore for the arrays) can write besides
# local paths. Any other scheme, e.g. hdfs:// or TensorFlow's ram://, is refused up front.
ORBAX_SCHEMES = ("gs", "s3")

# Listings of a workdir's checkpoints tried while a run training there deletes old ones.
_LISTING_ATTEMPTS = 5


class IncompatibleCheckpointError(errors.UserError, RuntimeError):
  """The workdir's checkpoint was made by a different model or optimizer."""


class CorruptCheckpointError(errors.UserError, RuntimeError):
  """A finished checkpoint cannot be read back as it was written."""


class CheckpointDeletedError(errors.UserError, FileNotFoundError):
  """A checkpoint was deleted while it was being read (a run in training keeps only its
  newest `keep_checkpoints`)."""


class WorkdirError(errors.UserError, RuntimeError):
  """The workdir cannot be written (permissions, a file in the way, a full disk)."""


def check_writable(workdir: str) -> None:
  """Creates `workdir` and writes a probe file there, or fails naming the directory."""
  try:
    storage.check_writable(workdir)
  except OSError as e:
    raise WorkdirError(f"Cannot write to --workdir={workdir}: {e}. Choose a directory this "
                       "user can create files in.") from e


def check_free_space(workdir: str, state: Any) -> None:
  """Fails when `workdir`'s disk cannot hold one checkpoint of `state` (its arrays' bytes
  plus 1 MiB of metadata), rather than after the first checkpoint interval. Remote storage
  (gs://) has no such limit to check."""
  if storage.is_remote(workdir):
    return
  needed = sum(np.asarray(x).nbytes for x in jax.tree.leaves(state)) + (1 << 20)
  free = shutil.disk_usage(workdir).free
  if free < needed:
    raise WorkdirError(f"--workdir={workdir} has {free / 2**20:.1f} MiB free; one checkpoint "
                       f"of this model needs about {needed / 2**20:.1f} MiB. Free some space "
                       "or choose another directory.")


def fingerprint(tree: Any) -> Dict[str, str]:
  """{leaf path: "dtype[shape]"} for every array leaf: what must match to restore."""
  leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
  return {jax.tree_util.keystr(path): f"{np.asarray(leaf).dtype.name}{list(np.shape(leaf))}"
          for path, leaf in leaves}


def checksums(tree: Any) -> Dict[str, str]:
  """{leaf path: BLAKE2b-128 hex digest of the array's bytes} for every array leaf."""
  leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
  return {jax.tree_util.keystr(path):
          hashlib.blake2b(np.ascontiguousarray(leaf).tobytes(), digest_size=16).hexdigest()
          for path, leaf in leaves}


def _describe_mismatch(saved: Dict[str, str], current: Dict[str, str]) -> str:
  lines = []
  for key in sorted(set(saved) | set(current)):
    a, b = saved.get(key, "absent"), current.get(key, "absent")
    if a != b:
      lines.append(f"  {key}: checkpoint {a}, this config {b}")
  shown = lines[:10] + ([f"  ... and {len(lines) - 10} more"] if len(lines) > 10 else [])
  return "\n".join(shown)


PERIODIC = "checkpoints"  # WORKDIR/checkpoints: the periodic checkpoints, resumed from
BEST = "best"             # WORKDIR/best: the best by config.eval.best_metric (best_checkpoint)


def checkpoint_directory(workdir: str, subdir: str = PERIODIC) -> str:
  """WORKDIR/<subdir>, absolute (orbax needs absolute paths); a URI stays one."""
  return orbax_directory(storage.join(storage.absolute(workdir), subdir))


def orbax_directory(directory: str) -> str:
  """`directory` once checked that orbax can write there (a local path, or a URI of
  ORBAX_SCHEMES). The remote-workdir test replaces this to put checkpoints of a ram://
  workdir in a local folder, as orbax cannot write ram://."""
  if storage.is_remote(directory) and storage.scheme(directory) not in ORBAX_SCHEMES:
    raise WorkdirError(
        f"Checkpoints cannot be written to {directory}: orbax writes local paths and "
        f"{', '.join(s + '://' for s in ORBAX_SCHEMES)} only. Choose a workdir there.")
  return directory


class Checkpointer:
  """Saves and restores the (G, D) states of one workdir (creates WORKDIR/<subdir>:
  "checkpoints", the periodic ones, or "best")."""

  def __init__(self, workdir: str, keep: int, subdir: str = PERIODIC):
    self.directory = checkpoint_directory(workdir, subdir)
    self._manager = self._listing(lambda: ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True),
        item_names=("state", "meta")))
    self._failed = False

  def latest_step(self) -> Optional[int]:
    return self._listing(self._manager.latest_step)

  def reload(self) -> None:
    """Lists the checkpoints on disk again (another process may have saved or deleted some)."""
    self._listing(self._manager.reload)

  def all_steps(self) -> list:
    return sorted(self._listing(self._manager.all_steps))

  def _listing(self, list_steps: Callable[[], Any]) -> Any:
    """`list_steps()` (an orbax call that lists the step directories and reads each one's
    metadata), again when a step vanished between its listing and its read: a run training in
    this workdir deletes old checkpoints (keep_checkpoints) while a reader such as
    jaxgan.evaluate lists them. Orbax reports that as FileNotFoundError or NotADirectoryError."""
    for attempt in range(_LISTING_ATTEMPTS):
      try:
        return list_steps()
      except (FileNotFoundError, NotADirectoryError) as e:
        if attempt == _LISTING_ATTEMPTS - 1:
          raise CheckpointDeletedError(
              f"Listing the checkpoints under {self.directory} failed {_LISTING_ATTEMPTS} times "
              f"as checkpoints were deleted while they were listed ({e}). Try again.") from e

  def save(self, step: int, state: Dict[str, Any], config_json: str,
           image_shape: Tuple[int, int, int], extra_meta: Optional[Dict[str, Any]] = None
           ) -> None:
    """Writes checkpoint `step` (host copies of `state`); waits until it is on disk.

    The meta item records the config and the image shape, so that tools (jaxgan.sample) can
    rebuild the model from the workdir alone, and `extra_meta` (JSON; e.g. the best
    checkpoint's metric and value).

    Raises:
      WorkdirError: the write failed (a full disk, lost permissions). The unfinished write
        stays in a temporary directory that restoring ignores, so the previous checkpoint
        remains the latest.
    """
    state = jax.device_get(state)
    meta = {"config": json.loads(config_json), "fingerprint": fingerprint(state),
            "checksums": checksums(state), "step": int(step), "image_shape": list(image_shape),
            **(extra_meta or {})}
    previous = self.latest_step()
    try:
      self._manager.save(step, args=ocp.args.Composite(
          state=ocp.args.StandardSave(state),
          meta=ocp.args.JsonSave(meta)), force=True)
      self._manager.wait_until_finished()
    except (OSError, ValueError, RuntimeError) as e:  # orbax reports I/O errors as these.
      self._failed = True
      kept = (f"the latest checkpoint is still step {previous}, intact" if previous is not None
              else "there is no earlier checkpoint")
      raise WorkdirError(
          f"Could not write the checkpoint of step {step} under {self.directory} ({kept}): "
          f"{type(e).__name__}: {str(e)[:400]}. Free disk space or fix permissions, then "
          "re-run the same command to resume.") from e

  def read_meta(self, step: Optional[int] = None) -> Dict[str, Any]:
    step = self.latest_step() if step is None else step
    try:
      meta = self._manager.restore(step, args=ocp.args.Composite(
          meta=ocp.args.JsonRestore()))["meta"]
    except (OSError, ValueError, RuntimeError) as e:
      raise self._corrupt(step, f"{type(e).__name__}: {str(e)[:400]}") from e
    if not isinstance(meta, dict) or "fingerprint" not in meta:
      raise self._corrupt(step, "its meta item is not a jaxgan checkpoint's")
    return meta

  def restore(self, target: Dict[str, Any], step: Optional[int] = None
              ) -> Tuple[int, Dict[str, Any]]:
    """Restores checkpoint `step` (default: latest) into the structure of `target`.

    Raises:
      IncompatibleCheckpointError: its fingerprint differs from `target`'s.
      CorruptCheckpointError: it cannot be read, or an array differs from its checksum
        (checkpoints written before checksums were recorded are not verified).
    """
    step = self.latest_step() if step is None else step
    meta = self.read_meta(step)
    current = fingerprint(target)
    if meta["fingerprint"] != current:
      raise IncompatibleCheckpointError(
          f"The checkpoint at {self.directory} (step {step}) was made by a different model "
          f"or optimizer (model {meta['config']['model']['name']!r}) and cannot be resumed "
          f"with this config. Differences:\n{_describe_mismatch(meta['fingerprint'], current)}"
          "\nUse a new --workdir, or the config that made this run. Nothing was overwritten.")
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, jax.device_get(target))
    try:
      restored = self._manager.restore(
          step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract)))["state"]
    except (OSError, ValueError, RuntimeError) as e:  # orbax reports unreadable data so.
      raise self._corrupt(step, f"{type(e).__name__}: {str(e)[:400]}") from e
    if "checksums" in meta:
      found = checksums(jax.device_get(restored))
      bad = sorted(k for k, digest in meta["checksums"].items() if found.get(k) != digest)
      if bad:
        raise self._corrupt(step, f"{len(bad)} array(s) differ from the checksums written "
                            f"with it: {', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''}")
    return step, restored

  def _corrupt(self, step: int, what: str) -> Exception:
    path = storage.join(self.directory, str(step))
    if not storage.isdir(path):
      return CheckpointDeletedError(
          f"The checkpoint of step {step} ({path}) was deleted while it was read: a run "
          "training in this workdir keeps only its newest checkpoints. Read the latest "
          f"again, or pick one of {self.all_steps()}.")
    earlier = [s for s in self.all_steps() if s < step]
    advice = (f"Move it aside (mv {path} {path}.corrupt) and re-run to resume from step "
              f"{earlier[-1]}" if earlier else
              f"No earlier checkpoint is left; move it aside (mv {path} {path}.corrupt) to "
              "start again from step 0")
    return CorruptCheckpointError(f"The checkpoint of step {step} ({path}) is damaged and was "
                                  f"not used: {what}. {advice}.")

  def close(self) -> None:
    if self._failed:  # The failed save's error was raised already; orbax would raise it again.
      return
    self._manager.wait_until_finished()
    self._manager.close()
