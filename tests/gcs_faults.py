"""A fault-injecting HTTP proxy in front of the test GCS server: what real GCS can answer and
fake-gcs-server cannot be made to (a transient 503, a 403 for missing permissions).

  proxy = FaultyProxy(server.url); proxy.start()
  proxy.fail(status=503, times=2)   # the next 2 requests get 503, the rest pass through
  ... STORAGE_EMULATOR_HOST=proxy.url ...
  proxy.stop()
"""
from __future__ import annotations

import http.client
import http.server
import threading
import urllib.parse
from typing import List, Optional


class FaultyProxy:
  """Forwards every request to `upstream` (http://HOST:PORT), except those a `fail` plan
  answers itself; `served` lists (method, path, status) of every request it answered."""

  def __init__(self, upstream: str):
    self.upstream = urllib.parse.urlparse(upstream)
    self.served: List[tuple] = []
    self._status: Optional[int] = None
    self._times = 0
    self._lock = threading.Lock()
    proxy = self

    class Handler(http.server.BaseHTTPRequestHandler):
      protocol_version = "HTTP/1.1"

      def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        status = proxy._planned_failure()  # pylint: disable=protected-access
        if status is not None:
          payload = (b'{"error": {"code": %d, "message": "injected by the test proxy"}}'
                     % status)
          headers = {"Content-Type": "application/json"}
        else:
          connection = http.client.HTTPConnection(proxy.upstream.hostname,
                                                  proxy.upstream.port, timeout=30)
          forwarded = {k: v for k, v in self.headers.items()
                       if k.lower() not in ("host", "connection")}
          connection.request(self.command, self.path, body=body, headers=forwarded)
          response = connection.getresponse()
          status, payload = response.status, response.read()
          headers = {k: v for k, v in response.getheaders()
                     if k.lower() not in ("transfer-encoding", "connection",
                                          "content-length")}
          connection.close()
        with proxy._lock:  # pylint: disable=protected-access
          proxy.served.append((self.command, self.path, status))
        self.send_response(status)
        for key, value in headers.items():
          self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

      do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

      def log_message(self, *args):  # Quiet.
        pass

    self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
    self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

  def start(self) -> None:
    self._thread.start()

  def stop(self) -> None:
    self._server.shutdown()
    self._server.server_close()

  def fail(self, status: int, times: int) -> None:
    """The next `times` requests are answered with HTTP `status` (times -1: all of them)."""
    with self._lock:
      self._status, self._times = status, times

  def _planned_failure(self) -> Optional[int]:
    with self._lock:
      if self._status is None or self._times == 0:
        return None
      self._times -= 1 if self._times > 0 else 0
      return self._status

  def statuses(self) -> List[int]:
    with self._lock:
      return [status for _, _, status in self.served]
