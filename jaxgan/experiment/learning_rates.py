"""The learning rates a run's players follow, as the loop logs them.

`schedules` gives each player's rate or schedule (the one its optimizer,
`builders.get_optimizers`, follows: same section, same number of updates), `logged_rates` the
rate of each player's next update, logged as `<player>_learning_rate`.
"""
from __future__ import annotations

from typing import Any, Dict, Tuple

import ml_collections

from jaxgan import optimizers


def total_updates(config: ml_collections.ConfigDict, section: str) -> int:
  # D makes n_critic updates per train step (more with balance repeats; schedules then end
  # early, which is harmless).
  return config.num_train_steps * (config.n_critic if section == "d_optimizer" else 1)


def schedules(config: ml_collections.ConfigDict, players: Tuple[str, ...]) -> Dict[str, Any]:
  """{player: its learning rate or schedule (update count -> rate)} for each of `players`
  with a config.<player>_optimizer section (the schedule its optimizer follows)."""
  out = {}
  for name in players:
    section = config.get(f"{name}_optimizer")
    if section is not None:
      out[name] = optimizers.make_schedule(section.learning_rate, section.schedule,
                                           section.schedule_kwargs.to_dict(),
                                           total_updates(config, f"{name}_optimizer"))
  return out


def logged_rates(by_player: Dict[str, Any], updates: Dict[str, int]) -> Dict[str, float]:
  """{"<player>_learning_rate": the rate of the player's next update}, from
  `schedules` (`by_player`) and each player's update count (`updates`: {player: count})."""
  return {f"{name}_learning_rate": optimizers.rate_at(by_player[name], int(count))
          for name, count in updates.items()}
