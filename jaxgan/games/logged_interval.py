"""The loop's logging interval, kept on the devices: each call's metrics merged as they come.

The loop hands every call's metrics (one step's, or a k-step call's `Interval`) to `add`,
and at a log step `read`s the interval's record (jaxgan.core.interval_metrics: means, the
last value of a state, all_finite's minimum, a lazy term's mean over the updates it ran on
with its count) and starts the next interval. Merging is a tiny pmapped function per call,
on the arrays the step left on the devices, so a step costs no transfer to the host; a log
costs one, of a few scalars. The interval is not checkpointed: after a resume it starts at
the resumed step.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import jax

from jaxgan.core import interval_metrics
from jaxgan.games import common
from jaxgan.games.protocol import Game
from jaxgan.runtime import parallel


class LoggedInterval:
  """The summary of the steps since the last `read`, on the local devices."""

  def __init__(self, game: Game, skip_nonfinite: bool):
    self.kinds = common.metric_kinds(game)
    interval_metrics.check_kinds(self.kinds)
    kinds = self.kinds

    def one_step(metrics):
      return interval_metrics.of_step(metrics, common.counted(metrics, skip_nonfinite), kinds)

    self._one_step = parallel.pmap(one_step)
    self._merge_step = parallel.pmap(
        lambda summary, metrics: interval_metrics.merge(summary, one_step(metrics), kinds),
        donate_argnums=(0,))
    self._merge = parallel.pmap(
        lambda summary, more: interval_metrics.merge(summary, more, kinds),
        donate_argnums=(0,))
    self._summary: Optional[interval_metrics.Interval] = None

  def add(self, metrics: Any) -> None:
    """Adds a call's metrics (leading [devices] axis): `common.run_step`'s, or the
    `interval_metrics.Interval` of a call of k steps."""
    if isinstance(metrics, interval_metrics.Interval):
      self._summary = metrics if self._summary is None else self._merge(self._summary,
                                                                        metrics)
    elif self._summary is None:
      self._summary = self._one_step(metrics)
    else:
      self._summary = self._merge_step(self._summary, metrics)

  def read(self) -> Dict[str, float]:
    """The interval's logged numbers (host floats; `interval_metrics.record`), and a new
    interval from the next step."""
    if self._summary is None:
      raise ValueError("no step since the last read")
    summary = jax.device_get(parallel.unreplicate(self._summary))
    self._summary = None
    return interval_metrics.record(summary, self.kinds)
