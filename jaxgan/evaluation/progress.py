"""Progress of long evaluation work (sampling and extracting 50,000 images) with an ETA.

In a terminal: one line redrawn in place (done/total, rate, ETA); otherwise (a log file, a
pipe, a notebook's captured stderr) an absl log line at most every `every_seconds`, and one at
the end, as the training loop logs its steps.
"""
from __future__ import annotations

import sys
import time
from typing import Optional, TextIO

from absl import logging


def _clock(seconds: float) -> str:
  seconds = int(round(seconds))
  return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
  """`update(n)` after each piece of `total` items; `close()` when done."""

  def __init__(self, what: str, total: int, unit: str = "images",
               every_seconds: float = 30.0, stream: Optional[TextIO] = None):
    self.what, self.total, self.unit, self.every = what, total, unit, every_seconds
    self.stream = stream or sys.stderr
    self.terminal = bool(getattr(self.stream, "isatty", lambda: False)())
    self.done, self.start, self._last = 0, time.perf_counter(), float("-inf")

  def line(self) -> str:
    elapsed = time.perf_counter() - self.start
    rate = self.done / elapsed if elapsed > 0 else 0.0
    eta = (self.total - self.done) / rate if rate > 0 else float("nan")
    eta_text = _clock(eta) if eta == eta else "?"
    return (f"{self.what}: {self.done:,}/{self.total:,} {self.unit} "
            f"({100 * self.done / max(self.total, 1):.0f}%), {rate:,.1f} {self.unit}/s, "
            f"elapsed {_clock(elapsed)}, ETA {eta_text}")

  def update(self, n: int) -> None:
    self.done += n
    now = time.perf_counter()
    if self.terminal:
      self.stream.write("\r" + self.line())
      self.stream.flush()
    elif now - self._last >= self.every and self.done < self.total:
      logging.info("%s", self.line())
      self._last = now

  def close(self) -> None:
    if self.terminal:
      self.stream.write("\r" + self.line() + "\n")
      self.stream.flush()
    else:
      logging.info("%s", self.line())
