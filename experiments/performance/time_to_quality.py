"""Time to quality on this machine: the TensorFlow DCGAN tutorial's code as written against
jaxgan's recommended MNIST recipe, the same minutes each, scored by jaxgan's evaluation.

  python experiments/performance/time_to_quality.py --minutes=8 \
      --data_dir=../shared/data/mnist --out=/tmp/ttq [--config=configs/dcgan_tutorial.py]

1. The tutorial (experiments/performance/peers/tutorial_train.py, run by --keras_python):
   its Keras models, Adam(1e-4), batch 256, shuffled epochs of the MNIST digits in
   --data_dir, stopped at the first step after --minutes from its process's start; then 5000
   samples.
2. jaxgan (`python -m jaxgan.main --config=...` on the same digits, its periodic evaluation
   off, the compilation cache off: a cold start like the tutorial's), sent SIGTERM at
   --minutes from its launch if still running (jaxgan then checkpoints the step it is at;
   a recipe that finishes earlier stops there).
3. jaxgan's evaluation of both (`jaxgan.evaluate`'s code: one classifier, trained once into
   OUT/classifier, one reference set of 5000 real digits; 5000 samples each), with the
   real-data floor and the untrained-generator ceiling, printed as one Markdown table and
   written to OUT/results.json; OUT/grid_tutorial.png and OUT/grid_jaxgan.png hold 64
   samples of each.
Both sides train on the digits the reference set is drawn from (the offline setting has only
the 10,000-digit test split), so neither score measures generalisation.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PEERS = os.path.join(ROOT, "experiments", "performance", "peers")
COLUMNS = ("fid", "kid", "precision", "recall", "density", "coverage", "classes_covered",
           "class_kl")


def run_tutorial(python: str, data_dir: str, minutes: float, out: str) -> dict:
  output = os.path.join(out, "tutorial_samples.npz")
  done = subprocess.run([python, "tutorial_train.py", f"--data_dir={data_dir}",
                         f"--minutes={minutes}", f"--output={output}"], cwd=PEERS,
                        capture_output=True, text=True, env=dict(os.environ,
                                                                 TF_CPP_MIN_LOG_LEVEL="3"))
  if done.returncode != 0:
    raise RuntimeError(f"tutorial_train.py failed:\n{done.stderr[-3000:]}")
  facts = json.loads(done.stdout.strip().splitlines()[-1])
  facts["images"] = np.load(output)["images"]
  return facts


def run_jaxgan(config: str, data_dir: str, minutes: float, workdir: str) -> dict:
  command = [sys.executable, "-m", "jaxgan.main", f"--config={config}", f"--workdir={workdir}",
             f"--config.dataset.local_dir={data_dir}", "--config.dataset.split=test",
             "--config.eval.every_steps=0", "--compilation_cache=off"]
  log_path = workdir + ".log"
  start = time.perf_counter()
  with open(log_path, "w") as log:
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                               env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    try:
      process.wait(timeout=minutes * 60)
      stopped = False
    except subprocess.TimeoutExpired:
      process.send_signal(signal.SIGTERM)  # jaxgan checkpoints the step it is at and exits.
      stopped = True
      process.wait(timeout=600)
  seconds = time.perf_counter() - start
  if process.returncode != 0 and not stopped:
    raise RuntimeError(f"jaxgan.main failed (log: {log_path})")
  return {"seconds": min(seconds, minutes * 60) if stopped else seconds, "stopped": stopped}


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--minutes", type=float, default=8.0)
  parser.add_argument("--data_dir", default=os.path.join(ROOT, "..", "shared", "data", "mnist"))
  parser.add_argument("--out", default="/tmp/time_to_quality")
  parser.add_argument("--config", default="configs/dcgan_tutorial.py")
  parser.add_argument("--keras_python", default=sys.executable,
                      help="An interpreter with TensorFlow (jaxgan's own has it).")
  args = parser.parse_args()
  data_dir = os.path.abspath(args.data_dir)
  os.makedirs(args.out, exist_ok=True)
  workdir = os.path.join(args.out, "jaxgan")
  if os.path.exists(workdir):
    raise SystemExit(f"{workdir} exists: give a new --out (this script never resumes).")

  tutorial = run_tutorial(args.keras_python, data_dir, args.minutes, args.out)
  print(f"tutorial: {tutorial['steps']} steps ({tutorial['epochs']} full epochs) in "
        f"{tutorial['seconds'] / 60:.1f} min", flush=True)
  jaxgan_run = run_jaxgan(args.config, data_dir, args.minutes, workdir)

  from jaxgan import evaluate, sample  # After the runs: nothing here competes.
  from jaxgan.data import sources
  from jaxgan.evaluation import setup
  from jaxgan.runtime import visualize
  from jaxgan.workdir import saved_run
  overrides = {"classifier_dir": os.path.join(args.out, "classifier"), "num_samples": 5000}
  report = evaluate.evaluate_workdir(workdir, baselines=True, overrides=overrides,
                                     pictures_too=False)
  run = saved_run.load_run(workdir)
  with run.config.unlocked():
    run.config.eval.update(overrides)
  settings = run.experiment.settings
  evaluator = setup.make_evaluator(settings, sources.from_spec(settings.dataset))
  tutorial_scores = evaluator.evaluate(tutorial["images"])
  print(f"jaxgan: {run.step} steps in {jaxgan_run['seconds'] / 60:.1f} min "
        f"({'stopped by SIGTERM' if jaxgan_run['stopped'] else 'finished its recipe'})")

  rows = {
      f"TensorFlow tutorial (Keras, batch 256, Adam 1e-4): {tutorial['steps']} steps": (
          tutorial["seconds"], {k: tutorial_scores[k] for k in COLUMNS}),
      f"jaxgan {os.path.basename(args.config)}: {run.step} steps": (
          jaxgan_run["seconds"], report["generator"]),
      "real held-out digits (floor)": (None, report["real_floor"]),
      "untrained generator (ceiling)": (None, report["untrained"]),
  }
  print(f"\n{report['num_samples']} samples each, {report['feature_extractor']} features\n")
  print("| run | minutes | " + " | ".join(COLUMNS) + " |")
  print("| --- | --- |" + " --- |" * len(COLUMNS))
  for name, (seconds, scores) in rows.items():
    minutes = "" if seconds is None else f"{seconds / 60:.1f}"
    cells = [f"{int(scores[k])}" if k == "classes_covered" else f"{float(scores[k]):.3g}"
             for k in COLUMNS]
    print(f"| {name} | {minutes} | " + " | ".join(cells) + " |")
  visualize.save_grid(tutorial["images"][:64], os.path.join(args.out, "grid_tutorial.png"),
                      f"TensorFlow tutorial, {tutorial['steps']} steps, "
                      f"{tutorial['seconds'] / 60:.1f} min")
  jaxgan_images = sample.generate(workdir, 64, 0, None, 64, None, None)[0]  # uint8.
  jaxgan_images = jaxgan_images.astype(np.float32) / 127.5 - 1
  visualize.save_grid(jaxgan_images, os.path.join(args.out, "grid_jaxgan.png"),
                      f"jaxgan {os.path.basename(args.config)}, {run.step} steps, "
                      f"{jaxgan_run['seconds'] / 60:.1f} min")
  with open(os.path.join(args.out, "results.json"), "w") as f:
    json.dump({name: {"seconds": seconds, **{k: float(v[k]) for k in COLUMNS}}
               for name, (seconds, v) in rows.items()}, f, indent=1)


if __name__ == "__main__":
  main()
