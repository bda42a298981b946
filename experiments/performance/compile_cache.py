"""Time to the first train step with and without jaxgan's persistent compilation cache.

  python experiments/performance/compile_cache.py --config=configs/dcgan_tutorial.py [--repeats=3]

Runs the recipe's command (`python -m jaxgan.main`, 20 steps, evaluation off) in fresh
processes, each case `--repeats` times (medians printed):
  off      --compilation_cache=off: every program compiled (the state before the cache);
  cold     an empty cache directory: compiled, then written;
  repeat   the same command on a new workdir, the cache now warm;
  resume   the first workdir, 20 more steps: a resumed run, the cache warm;
and prints a Markdown table of the seconds from launching the process to the end of its
first step (the `First call` log line; imports, data and set-up included), the first call
itself (compiling or reading the step, and running it) and the whole command. Data: the
offline MNIST IDX files in --data_dir when they exist, else 512 random digits written here.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_FIRST_CALL = re.compile(r"First call of the step: ([0-9.]+) s")


def _data_dir(requested: str, scratch: str) -> str:
  if os.path.isdir(requested):
    return requested
  sys.path.insert(0, ROOT)
  from tests import helpers  # Writes MNIST-format IDX files.
  return helpers.write_fake_mnist(os.path.join(scratch, "mnist"), n=512)


def _launch(config: str, workdir: str, data_dir: str, cache: str, steps: int) -> Dict[str, float]:
  """One jaxgan.main run; its launch-to-first-step, first-call and total seconds."""
  command = [sys.executable, "-m", "jaxgan.main", f"--config={config}", f"--workdir={workdir}",
             f"--compilation_cache={cache}", f"--config.dataset.local_dir={data_dir}",
             "--config.dataset.split=test", f"--config.num_train_steps={steps}",
             "--config.log_every_steps=10", "--config.sample_every_steps=10",
             "--config.checkpoint_every_steps=10", "--config.eval.every_steps=0"]
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
  env.pop("JAX_COMPILATION_CACHE_DIR", None)
  env.pop("JAXGAN_COMPILATION_CACHE", None)
  start = time.perf_counter()
  process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
  to_first_step = first_call = None
  tail: List[str] = []
  for line in process.stderr:
    tail = (tail + [line])[-30:]
    match = _FIRST_CALL.search(line)
    if match and to_first_step is None:
      to_first_step, first_call = time.perf_counter() - start, float(match.group(1))
  if process.wait() != 0 or to_first_step is None:
    raise RuntimeError(f"{' '.join(command)} failed:\n{''.join(tail)}")
  return {"to_first_step": to_first_step, "first_call": first_call,
          "total": time.perf_counter() - start}


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--config", default="configs/dcgan_tutorial.py")
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--data_dir", default=os.path.join(ROOT, "..", "shared", "data", "mnist"))
  args = parser.parse_args()
  scratch = tempfile.mkdtemp(prefix="jaxgan-cache-bench-")
  try:
    data_dir = _data_dir(args.data_dir, scratch)
    cases: Dict[str, List[Dict[str, float]]] = {"off": [], "cold": [], "repeat": [],
                                                "resume": []}
    for repeat in range(args.repeats):
      base = os.path.join(scratch, str(repeat))
      cache = os.path.join(base, "cache")
      run = lambda name, steps, cache_setting: _launch(
          args.config, os.path.join(base, name), data_dir, cache_setting, steps)
      cases["off"].append(run("off", 20, "off"))
      cases["cold"].append(run("first", 20, cache))
      cases["repeat"].append(run("second", 20, cache))
      os.rename(os.path.join(base, "first"), os.path.join(base, "resumed"))
      cases["resume"].append(run("resumed", 40, cache))
      entries = [name for name in os.listdir(cache) if name.endswith("-cache")]
      size = sum(os.path.getsize(os.path.join(cache, name)) for name in entries)
    print(f"\n{args.config}, 20 steps, evaluation off; medians of {args.repeats}; cache: "
          f"{len(entries)} entries, {size / 2**20:.1f} MiB\n")
    print("| run | launch to end of first step (s) | first call (s) | whole command (s) |")
    print("| --- | --- | --- | --- |")
    for name, runs in cases.items():
      med = lambda key: statistics.median(r[key] for r in runs)
      print(f"| {name} | {med('to_first_step'):.1f} | {med('first_call'):.2f} | "
            f"{med('total'):.1f} |")
  finally:
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
  main()
