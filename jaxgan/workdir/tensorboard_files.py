"""TensorBoard event files in WORKDIR/tensorboard, for a local workdir and a gs:// one alike.

TensorFlow's summary writer (flax.metrics.tensorboard) writes local paths and the URIs
TensorFlow's own filesystems know. gs:// is not left to it: jaxgan's gs:// files go through
one client that can be pointed at a test server (`jaxgan.runtime.gcs`), and TensorFlow's GCS
filesystem always talks to www.googleapis.com. So for a gs:// workdir the writer writes into a
local staging folder and every `flush` uploads the event file that grew, whole (an object
appears whole or not at all: TensorBoard reading the bucket sees the old events or the new
ones). An event file is closed and a new one begun once it passes `ROTATE_BYTES`, so a flush
uploads at most about that much however long the run; TensorBoard reads every event file of a
folder, in the order of their names (which begin with their creation time).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from typing import Dict

import numpy as np

from jaxgan.runtime import storage

# An event file past this size is closed and a new one begun (gs:// workdirs only).
ROTATE_BYTES = 1 << 20


class TensorBoardWriter:
  """scalar / image / flush / close, as flax's SummaryWriter, to `logdir` (local or a URI)."""

  def __init__(self, logdir: str):
    self.logdir = logdir
    self._staging = None
    self._uploaded: Dict[str, int] = {}  # Event file name -> bytes uploaded so far.
    if storage.scheme(logdir) == "gs":
      storage.makedirs(logdir)
      self._staging = tempfile.mkdtemp(prefix="jaxgan-tensorboard-")
    self._writer = self._new_writer()

  def _new_writer(self):
    from flax.metrics import tensorboard  # pylint: disable=g-import-not-at-top (imports TF)
    return tensorboard.SummaryWriter(self._staging or self.logdir, auto_flush=False)

  def scalar(self, tag: str, value: float, step: int) -> None:
    self._writer.scalar(tag, value, step)

  def image(self, tag: str, image: np.ndarray, step: int) -> None:
    """A uint8 picture [H, W, C]."""
    self._writer.image(tag, image, step)

  def flush(self) -> None:
    self._writer.flush()
    if self._staging is not None:
      self._upload()

  def _upload(self, final: bool = False) -> None:
    """Uploads each staged event file that grew since its last upload. Unless `final`, a file
    past ROTATE_BYTES is closed, uploaded a last time and deleted locally, and a new one
    begun."""
    for name in sorted(os.listdir(self._staging)):
      path = os.path.join(self._staging, name)
      if os.path.getsize(path) > ROTATE_BYTES and not final:
        self._writer.close()  # The file is complete; the new writer opens another.
        self._writer = self._new_writer()
        self._upload_file(name)
        os.remove(path)
      else:
        self._upload_file(name)

  def _upload_file(self, name: str) -> None:
    path = os.path.join(self._staging, name)
    size = os.path.getsize(path)
    if size != self._uploaded.get(name):
      with open(path, "rb") as f:
        storage.write_atomically(storage.join(self.logdir, name), f.read())
      self._uploaded[name] = size

  def close(self) -> None:
    self._writer.close()
    if self._staging is not None:
      self._upload(final=True)
      shutil.rmtree(self._staging, ignore_errors=True)
      self._staging = None
