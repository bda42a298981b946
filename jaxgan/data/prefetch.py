"""Batches prepared ahead of the train step by one background thread.

The loop asks for the batch of a call (its first step and its number of steps) and names the
calls that follow; the thread prepares those meanwhile (reads and decodes the rows, puts them
on the devices), so the step does not wait for the input pipeline. The batch of a step is a
pure function of (seed, step) (`pipeline`), so preparing it early, late or twice gives the
same array: a prefetched run is the run without prefetching, bit for bit. One thread does all
the preparing, so the batch source is never used by two threads at once.
"""
from __future__ import annotations

import concurrent.futures
from typing import Any, Callable, Dict, Sequence, Tuple

Call = Tuple[int, int]  # (first step, number of steps) of one dispatch.


class Prefetcher:
  """`get(call, upcoming)`: the prepared batch of `call`, after queueing up to `depth` of the
  `upcoming` calls. depth 0 prepares each batch when it is asked for."""

  def __init__(self, prepare: Callable[[int, int], Any], depth: int):
    self._prepare, self._depth = prepare, depth
    self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="jaxgan-input")
    self._pending: Dict[Call, concurrent.futures.Future] = {}

  def get(self, call: Call, upcoming: Sequence[Call] = ()) -> Any:
    future = self._pending.pop(call, None)
    if future is None:  # Not prepared (the first call, a resume, a skipped plan): now.
      future = self._pool.submit(self._prepare, *call)
    for stale in [c for c in self._pending if c[0] < call[0]]:  # Never asked for now.
      self._pending.pop(stale).cancel()
    for next_call in list(upcoming)[:self._depth]:
      if next_call not in self._pending:
        self._pending[next_call] = self._pool.submit(self._prepare, *next_call)
    return future.result()  # Re-raises the preparing thread's error (a corrupt file...).

  def close(self) -> None:
    """Drops what was prepared and stops the thread (waits for the batch in preparation)."""
    for future in self._pending.values():
      future.cancel()
    self._pending.clear()
    self._pool.shutdown(wait=True)
