"""Fingerprints of every recipe's short run: the check that a refactor changed no number.

  python experiments/games_parity/fingerprint.py --output=/tmp/now.json
  python experiments/games_parity/fingerprint.py --compare=experiments/games_parity/before.json
  python experiments/games_parity/fingerprint.py --compare=REF.json --now=/tmp/now.json

For every recipe in configs/ (and the test suite's every-stabiliser config on 1, 2 and 4
devices), trains a short run through `jaxgan.train.train_and_evaluate` — the whole loop: data
pipeline, step, logging, checkpoints — on synthetic images of the recipe's own image shape
(with labels, for the conditional recipes), and records:
  * a BLAKE2b digest of every array of the final checkpoint (parameters, optimizer states,
    model collections, stabiliser state, counters), by path;
  * every logged metric of every step, as the exact float written to metrics.jsonl.
`--compare` re-runs them and lists every digest or metric that differs (exit status 1), so
"bit for bit" is checked, not assumed. Each run is its own process (the device count is set
before JAX starts); all are on the CPU with XLA's default options. Takes ~10 minutes on 2
cores.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The short run every recipe gets: 6 steps at batch 8, every step logged, a checkpoint at
# step 3 and the end (the run resumes nothing; resume equality is tests/test_train.py's).
SHORT_RUN = {"batch_size": 8, "num_train_steps": 6, "log_every_steps": 1,
             "sample_every_steps": 3, "checkpoint_every_steps": 3, "num_grid_samples": 4,
             "eval.every_steps": 0}

def everything():
  """tests/test_steps.py's EVERYTHING (every stabiliser at once), on the tiny model at 8x8x1,
  with the skipped-steps counter on too (it is checkpointed)."""
  from tests.test_steps import EVERYTHING  # pylint: disable=g-import-not-at-top
  return {**EVERYTHING, "model.name": "tiny", "model.latent_dim": 8, "n_critic": 2,
          "on_nonfinite": "skip"}


# (H, W, C) of each recipe dataset's images as stored (before crop/resize).
STORED_SHAPES = {"mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1),
                 "stacked_mnist": (28, 28, 3), "cifar10": (32, 32, 3), "celeb_a": (218, 178, 3),
                 "digit_strokes": (28, 28, 1), "cycle_gan/horse2zebra": (256, 256, 3)}


def recipes():
  return sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, "configs"))
                if name.endswith(".py") and name not in ("__init__.py", "default.py"))


def cases():
  """{case name: (recipe, overrides, device count)}."""
  out = {name: (name, {}, 1) for name in recipes()}
  for devices in (1, 2, 4):
    out[f"everything_{devices}_devices"] = ("default", "everything", devices)
  return out


def _set(config, dotted, value):
  """config.<dotted> = value (new keys only in the open kwargs sections)."""
  *parents, leaf = dotted.split(".")
  target = config
  for parent in parents:
    target = target[parent]
  target[leaf] = value


def _image_shape(config):
  if config.model.name == "tiny":
    return (8, 8, 1)
  height, width, channels = STORED_SHAPES[config.dataset.name]
  crop, size = config.dataset.crop, config.dataset.image_size
  if crop or size:
    height = width = size or crop
  return (height, width, channels)


def run_case(recipe, overrides, workdir):
  """Trains the case in this process; returns its fingerprint."""
  import flax
  import jax
  import numpy as np

  from jaxgan import train
  from jaxgan.experiment import builders
  from jaxgan.workdir import metric_logging, saved_run

  config = importlib.import_module(f"configs.{recipe}").get_config()
  for key, value in {**SHORT_RUN, **overrides}.items():
    _set(config, key, value)
  shape = _image_shape(config)
  rng = np.random.default_rng(0)
  data_dir = os.path.join(workdir, "data")
  os.makedirs(data_dir)
  # A translating recipe (cyclegan) reads two domains: trainA.npz and trainB.npz.
  splits = ("trainA", "trainB") if builders.is_image_to_image(config) else ("train",)
  for split in splits:
    np.savez(os.path.join(data_dir, f"{split}.npz"),
             images=rng.integers(0, 256, (64, *shape), dtype=np.uint8),
             labels=rng.integers(0, 10, (64,), dtype=np.int32))
  config.dataset.name, config.dataset.local_dir, config.dataset.split = "npz", data_dir, "train"
  config.dataset.crop = config.dataset.image_size = 0
  run_dir = os.path.join(workdir, "run")
  train.train_and_evaluate(config, run_dir)
  restored = saved_run.load_run(run_dir)
  if hasattr(restored, "states"):  # Since games: {player: ..., "run": RunState}.
    states = restored.states
  else:
    states = {"g": restored.g_state, "d": restored.d_state}
  state = {name: flax.serialization.to_state_dict(value) for name, value in states.items()}
  leaves = jax.tree_util.tree_flatten_with_path(state)[0]
  digests = {jax.tree_util.keystr(path): hashlib.blake2b(
      np.ascontiguousarray(leaf).tobytes(), digest_size=16).hexdigest()
             for path, leaf in leaves}
  metrics = metric_logging.read_metrics(run_dir)
  # Timing fields differ between any two runs.
  metrics = [{k: v for k, v in r.items() if k not in ("steps_per_sec", "images_per_sec")}
             for r in metrics]
  return {"step": restored.step, "image_shape": list(shape), "digests": digests,
          "metrics": metrics, "jax": jax.__version__, "devices": jax.device_count()}


def _child(case):
  recipe, overrides, _ = cases()[case]
  sys.path.insert(0, ROOT)
  if overrides == "everything":
    overrides = everything()
  with tempfile.TemporaryDirectory() as workdir:
    print(json.dumps(run_case(recipe, overrides, workdir)))


def collect(names):
  out = {}
  for name in names:
    devices = cases()[name][2]
    env = dict(os.environ, JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3",
               XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
               PYTHONPATH=ROOT)
    done = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", name],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
      raise SystemExit(f"{name} failed:\n{done.stderr[-4000:]}")
    out[name] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{name}: {len(out[name]['digests'])} arrays, {len(out[name]['metrics'])} records",
          file=sys.stderr, flush=True)
  return out


def _digest(array):
  import numpy as np
  return hashlib.blake2b(np.ascontiguousarray(array).tobytes(), digest_size=16).hexdigest()


def layout_neutral(digests):
  """The digests with the run's counters under one name in both checkpoint layouts: since
  games, RunState's step and skipped_steps; before, G's update count (which was the run's
  step) and D's extras["skipped_steps"] (0 when absent)."""
  import numpy as np
  out = dict(digests)
  if "['run']['step']" in out:
    out["counter: step"] = out.pop("['run']['step']")
    out["counter: skipped steps"] = out.pop("['run']['skipped_steps']")
  else:
    out["counter: step"] = out["['g']['step']"]
    out["counter: skipped steps"] = out.pop("['d']['extras']['skipped_steps']",
                                            _digest(np.int32(0)))
  return out


def compare(before, now):
  """Lines naming every difference (empty: identical)."""
  lines = []
  for name in sorted(set(before) | set(now)):
    if name not in before or name not in now:
      lines.append(f"{name}: only in {'the reference' if name in before else 'this run'}")
      continue
    a, b = before[name], now[name]
    da, db = layout_neutral(a["digests"]), layout_neutral(b["digests"])
    for path in sorted(set(da) | set(db)):
      if da.get(path) != db.get(path):
        lines.append(f"{name}: array {path} differs")
    if a["step"] != b["step"]:
      lines.append(f"{name}: step {a['step']} vs {b['step']}")
    for ra, rb in zip(a["metrics"], b["metrics"]):
      for key in sorted(set(ra) | set(rb)):
        if ra.get(key) != rb.get(key):
          lines.append(f"{name}: step {ra.get('step')} {key}: {ra.get(key)!r} vs "
                       f"{rb.get(key)!r}")
    if len(a["metrics"]) != len(b["metrics"]):
      lines.append(f"{name}: {len(a['metrics'])} vs {len(b['metrics'])} metric records")
  return lines


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--output", help="write the fingerprints here (JSON)")
  parser.add_argument("--compare", help="a reference JSON: report every difference")
  parser.add_argument("--only", nargs="*", help="these cases only")
  parser.add_argument("--now", help="with --compare: a saved --output to compare instead of "
                      "running the cases again")
  parser.add_argument("--child", help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.child:
    return _child(args.child)
  names = args.only or list(cases())
  if args.now:
    with open(args.now) as f:
      now = {k: v for k, v in json.load(f).items() if k in names}
  else:
    now = collect(names)
  if args.output:
    with open(args.output, "w") as f:
      json.dump(now, f, indent=1, sort_keys=True)
  if args.compare:
    with open(args.compare) as f:
      before = {k: v for k, v in json.load(f).items() if k in names}
    lines = compare(before, now)
    print("\n".join(lines) or f"identical: {len(names)} cases, every array and metric",
          flush=True)
    if lines:
      raise SystemExit(1)


if __name__ == "__main__":
  main()
