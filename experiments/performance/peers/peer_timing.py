"""The timing loop and JSON report shared by the MLP GAN peers (plain Python: each peer runs
in its own interpreter, with only its own framework installed).

Same protocol as ../shared/peers: one untimed first call (compilation / tracing), `warmup`
untimed calls, then `steps` timed calls, each waited for; the median is reported.
"""
import json
import statistics
import time
from typing import Callable, Dict


def time_steps(step: Callable[[], float], warmup: int, steps: int) -> Dict[str, float]:
  """`step()` runs one train step and returns a host float (so that it has finished)."""
  start = time.perf_counter()
  step()
  first = time.perf_counter() - start
  for _ in range(warmup):
    step()
  times = []
  for _ in range(steps):
    start = time.perf_counter()
    step()
    times.append(time.perf_counter() - start)
  return {"sec_per_step_median": statistics.median(times), "first_step_sec": first}


def report(impl: str, batch: int, steps: int, threads: int, timing: Dict[str, float],
           **versions: str) -> None:
  print(json.dumps({"impl": impl, "batch": batch, "steps": steps, **timing,
                    "images_per_sec": batch / timing["sec_per_step_median"],
                    "threads": threads, **versions}))


def add_arguments(parser) -> None:
  """The peers' common command line (as ../shared/peers)."""
  parser.add_argument("--batch", type=int, default=256)
  parser.add_argument("--steps", type=int, default=30, help="timed steps")
  parser.add_argument("--warmup", type=int, default=5)
  parser.add_argument("--threads", type=int, default=2)
