"""Throughput benchmark of the train step (and the input pipeline), with the peers beside it.

  python -m jaxgan.benchmark --config=configs/dcgan_tutorial.py --config.batch_size=256 \
      --peers_dir=experiments/performance/peers --torch_python=/tmp/peer-torch/bin/python --ablation
  python -m jaxgan.benchmark --config=configs/mlp_gan.py --config.batch_size=256 \
      --peers_dir=experiments/performance/peers --torch_python=/tmp/peer-torch/bin/python

Prints a Markdown table: images/s of jaxgan's compiled train step (synthetic data, so the step
alone is timed), its compile time, its FLOPs per step (XLA's cost analysis,
jaxgan.runtime.flops) and achieved TFLOP/s beside the device's measured float32 matmul peak, the
input pipeline's images/s, and, when the peers' folder is given, the PyTorch and Keras versions
of the same model and step run one after another in the same session, `--repeats` times each, as
medians and as ratios to jaxgan. On a GPU the PyTorch peer runs on it (`--torch_modes`: eager,
torch.compile and torch.compile's CUDA graphs); Keras, which jaxgan's environment installs
CPU-only, is left out there. The peers are optional: without torch (no `--torch_python`) or
TensorFlow the row is skipped with a message.

The step is the full jaxgan step of the config: by default n_critic D updates then a G update
through the *updated* D (alternating updates), about 4/3 of the work of the peers' step, which
computes both updates from one forward pass through the pre-update D (the TensorFlow
tutorial's step). `--config.update_order=simultaneous` makes jaxgan take that same step.
`--ablation` adds rows for what each CPU speed-up buys: the step compiled without
`jaxgan.runtime.xla_cpu`'s options, and the config in the other update order. The persistent
compilation cache is off here by default (`--compilation_cache`), so that the compile column
is a compilation.
"""
from __future__ import annotations

import inspect
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional, Tuple

from absl import app, flags
from ml_collections import config_flags

from jaxgan.experiment import config_overrides
from jaxgan.games.protocol import TranslatingGame
from jaxgan.runtime import compilation_cache, storage

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", "configs/dcgan_tutorial.py", "Config to benchmark.",
                                 lock_config=True)
flags.DEFINE_string("image_shape", "28,28,1", "H,W,C of the synthetic images.")
flags.DEFINE_integer("steps", 10, "Timed calls of the train step per repeat (each runs "
                     "config.steps_per_dispatch steps).")
flags.DEFINE_integer("repeats", 3, "Repeats (the median is reported).")
flags.DEFINE_string("peers_dir", "", "Folder with the model's peers (PEER_SCRIPTS): "
                    "experiments/performance/peers (empty: no peers).")
flags.DEFINE_string("torch_python", "", "Python interpreter that has torch (for the peer).")
flags.DEFINE_list("torch_modes", [], "The PyTorch peer's compile modes (none = eager, "
                  "default, reduce-overhead); empty: eager on the CPU, all three on a GPU.")
flags.DEFINE_integer("peer_timeout", 1800, "Seconds a peer run may take (its compilation "
                     "included) before its row is given up.")
flags.DEFINE_integer("peer_steps", 0, "Timed steps per peer loop (0: 10 on the CPU, 300 on "
                     "an accelerator).")
flags.DEFINE_string("keras_python", sys.executable, "Python interpreter that has TensorFlow.")
flags.DEFINE_integer("threads", 2, "Threads the peers may use (XLA:CPU uses all cores).")
flags.DEFINE_string("output_json", "", "Also write the figures here.")
compilation_cache.define_flag(default="off")
flags.DEFINE_bool("ablation", False, "Also time the step without the CPU compile options "
                  "and in the other update order (when the config allows it).")


# The peers' scripts (Keras, PyTorch) of each model that has them, in --peers_dir
# (experiments/performance/peers holds both models'; ../shared/peers the DCGAN's originals).
PEER_SCRIPTS = {"dcgan_tutorial": ("keras_dcgan.py", "torch_dcgan.py"),
                "mlp": ("keras_mlp_gan.py", "torch_mlp_gan.py")}


class JaxganStep:
  """jaxgan's pmapped train step on synthetic data, compiled once, timed on demand (one
  call runs config.steps_per_dispatch steps)."""

  def __init__(self, config, image_shape, cpu_options: bool = True):
    import jax
    import numpy as np

    from jaxgan.core import random_streams
    from jaxgan.experiment import builders
    from jaxgan.runtime import flops, parallel

    per_device = parallel.per_device_batch_size(config.batch_size)
    experiment = builders.build(config, image_shape)
    k = config.steps_per_dispatch
    self._step = experiment.pmapped_step(steps_per_call=k, cpu_options=cpu_options)
    rng = np.random.default_rng(0)
    steps_axis = (k,) if k > 1 else ()
    batches = experiment.game.real_batches_per_step
    images = rng.uniform(-1, 1, (jax.local_device_count(), *steps_axis, batches,
                                 per_device, *image_shape)).astype(np.float32)
    # A translating game (cyclegan) takes a batch of each domain; uniform noise for both.
    batch = ({"a": images, "b": images[::-1]} if isinstance(experiment.game, TranslatingGame)
             else {"image": images})
    if config.model.num_classes:  # A conditional model needs the images' classes too.
      batch["label"] = rng.integers(0, config.model.num_classes, images.shape[:-3],
                                    dtype=np.int32)
    self._batch = parallel.shard(batch)
    self._states = parallel.replicate(experiment.init_states())
    self._keys = parallel.replicate(random_streams.base_key(0))
    self.images_per_step = config.batch_size * batches * k  # Per call.
    start = time.perf_counter()
    self._run(1)
    self.first_call_sec = time.perf_counter() - start  # Compilation plus one step.
    # Of the executable just compiled (the same signature); None where XLA reports none.
    self.flops_per_call = flops.call_flops(self._step, self._states, self._batch, self._keys,
                                           num_devices=jax.local_device_count())
    self._run(1)  # Warm-up.

  def _run(self, steps: int) -> None:
    import jax
    states = self._states
    for _ in range(steps):
      states, metrics = self._step(states, self._batch, self._keys)
    jax.block_until_ready(metrics)
    self._states = states

  def images_per_sec(self, steps: int) -> float:
    start = time.perf_counter()
    self._run(steps)
    return steps * self.images_per_step / (time.perf_counter() - start)


def time_pipeline(config, image_shape, steps: int) -> float:
  """Images/s of the input pipeline alone (host batches + transfer), on 60k synthetic images."""
  import jax
  import numpy as np

  from jaxgan.data import pipeline, sources
  from jaxgan.runtime import parallel

  rng = np.random.default_rng(0)
  data = sources.ImageData(rng.integers(0, 256, (60_000, *image_shape), dtype=np.uint8),
                           rng.integers(0, 10, (60_000,), dtype=np.int32), 10)
  batches = pipeline.StepBatches(
      data, seed=0, global_batch_size=config.batch_size, n_critic=config.n_critic,
      process_index=0, local_device_count=jax.local_device_count(),
      global_device_count=jax.device_count())
  jax.block_until_ready(parallel.shard(batches.batch(0)))
  start = time.perf_counter()
  for step in range(steps):
    out = parallel.shard(batches.batch(step))
  jax.block_until_ready(out)
  return steps * config.batch_size * config.n_critic / (time.perf_counter() - start)


def peak_rss_mib() -> Optional[float]:
  """This process's peak resident memory in MiB (Linux's VmHWM; None elsewhere).

  VmHWM is this process's own high-water mark; getrusage's ru_maxrss would, in a peer, also
  count the benchmark process's memory, inherited at fork.
  """
  try:
    with open("/proc/self/status") as f:
      for line in f:
        if line.startswith("VmHWM:"):
          return int(line.split()[1]) / 1024
  except OSError:
    pass
  return None


# Runs a peer script as __main__ (in the peer's own interpreter, without jaxgan) and, when it
# exits, prints its peak_rss_mib() as one more JSON line.
_PEER_WRAPPER = "import atexit, json, os, runpy, sys\nfrom typing import Optional\n" + \
    inspect.getsource(peak_rss_mib) + """
atexit.register(lambda: print(json.dumps({"peak_rss_mib": peak_rss_mib()}), flush=True))
sys.argv = sys.argv[1:]
sys.path.insert(0, os.path.dirname(os.path.abspath(sys.argv[0])))  # As `python script`.
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run_peer(python: str, script: str, batch: int, threads: int, steps: int,
             extra_args: Tuple[str, ...] = (), gpu: bool = False) -> Optional[Dict]:
  """Runs a peer script; returns its JSON figures plus peak_rss_mib (None when it fails).
  The GPU is hidden from it unless `gpu`."""
  cmd = [python, "-c", _PEER_WRAPPER, script, "--batch", str(batch), "--threads",
         str(threads), "--steps", str(steps), "--warmup", "5" if gpu else "2", *extra_args]
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  if not gpu:
    env["CUDA_VISIBLE_DEVICES"] = ""
  try:
    out = subprocess.run(cmd, capture_output=True, text=True, env=env,
                         timeout=FLAGS.peer_timeout)
  except subprocess.TimeoutExpired:
    print(f"peer {script} {' '.join(extra_args)}: gave up after {FLAGS.peer_timeout} s",
          file=sys.stderr)
    return None
  figures = {}
  for line in out.stdout.splitlines():
    if line.startswith("{"):
      figures.update(json.loads(line))
  if "images_per_sec" in figures:
    return figures
  print(f"peer {script} failed:\n{out.stderr[-2000:]}", file=sys.stderr)
  return None


def jaxgan_variants(config, image_shape) -> List[Tuple[str, JaxganStep]]:
  """The config's step, and with --ablation the step without each CPU speed-up."""
  from jaxgan.experiment import builders
  variants = [(f"jaxgan ({config.update_order})", JaxganStep(config, image_shape))]
  if not FLAGS.ablation:
    return variants
  variants.append((f"jaxgan ({config.update_order}), no CPU compile options",
                   JaxganStep(config, image_shape, cpu_options=False)))
  other = config.copy_and_resolve_references()
  other.update_order = {"alternating": "simultaneous",
                        "simultaneous": "alternating"}[config.update_order]
  try:
    builders.check_config(other)
  except builders.ConfigError as e:
    print(f"(no {other.update_order} row: {e})")
    return variants
  variants.append((f"jaxgan ({other.update_order})", JaxganStep(other, image_shape)))
  return variants


def peer_runs(config, accelerator: bool) -> List[Tuple[str, str, str, Tuple[str, ...], bool]]:
  """(row name, interpreter, script, extra arguments, on the GPU) of each peer to run."""
  if not FLAGS.peers_dir:
    return []
  if config.model.name not in PEER_SCRIPTS:
    raise app.UsageError(f"No peers of model {config.model.name!r}; peers exist for "
                         f"{', '.join(sorted(PEER_SCRIPTS))}.")
  keras_script, torch_script = (os.path.join(FLAGS.peers_dir, name)
                                for name in PEER_SCRIPTS[config.model.name])
  runs = []
  if accelerator:
    print("(no Keras row: jaxgan's environment has TensorFlow for the CPU only)")
  else:
    runs.append(("Keras tf.function", FLAGS.keras_python, keras_script, (), False))
  if not FLAGS.torch_python:
    print("(no PyTorch rows: --torch_python names no interpreter with torch)")
    return runs
  modes = FLAGS.torch_modes or (["none", "default", "reduce-overhead"] if accelerator
                                else ["none"])
  device = ("--device", "cuda") if accelerator else ()
  labels = {"none": "eager", "default": "torch.compile",
            "reduce-overhead": "torch.compile reduce-overhead (CUDA graphs)"}
  for mode in modes:
    if mode not in labels:
      raise app.UsageError(f"--torch_modes: unknown mode {mode!r}; valid: {', '.join(labels)}.")
    # Eager passes no --compile: ../shared/peers' originals take only the CPU eager run.
    compile_args = () if mode == "none" else ("--compile", mode)
    runs.append((f"PyTorch {labels[mode]}", FLAGS.torch_python, torch_script,
                 (*device, *compile_args), accelerator))
  return runs


def main(argv):
  del argv
  import jax  # Here, not at the top: flag parsing (and --help) stays fast.

  from jaxgan.runtime import flops
  compilation_cache.enable(FLAGS.compilation_cache)
  config = FLAGS.config
  image_shape = tuple(int(v) for v in FLAGS.image_shape.split(","))
  accelerator = jax.default_backend() != "cpu"
  peers = peer_runs(config, accelerator)
  peer_steps = FLAGS.peer_steps or (300 if accelerator else 10)
  peer_figures: Dict[str, List[Dict]] = {name: [] for name, *_ in peers}
  variants = jaxgan_variants(config, image_shape)
  rates: Dict[str, List[float]] = {name: [] for name, _ in variants}
  # Interleave jaxgan and peer runs so that machine load affects them alike.
  for _ in range(FLAGS.repeats):
    for name, step in variants:
      rates[name].append(step.images_per_sec(FLAGS.steps))
    for name, python, script, extra, on_gpu in peers:
      peer = run_peer(python, script, config.batch_size, FLAGS.threads, peer_steps, extra,
                      on_gpu)
      if peer:
        peer_figures[name].append(peer)
  # Read before the pipeline timing, whose transfers would count too. None on XLA:CPU.
  memory = jax.local_devices()[0].memory_stats() or {}
  peak_mib = memory.get("peak_bytes_in_use", 0) / 2**20 or None
  # Every jaxgan row's states and buffers plus the runtime: on the CPU an upper bound of
  # one row's memory.
  jaxgan_rss_mib = peak_rss_mib()
  pipeline_rate = time_pipeline(config, image_shape, steps=50)
  peak_flops = flops.measured_matmul_peak()
  jax_step = variants[0][1]
  jax_median = statistics.median(rates[variants[0][0]])
  compile_sec = max(jax_step.first_call_sec - jax_step.images_per_step / jax_median, 0.0)

  print(f"\nmodel {config.model.name}, global batch {config.batch_size}, n_critic "
        f"{config.n_critic}, {jax.device_count()} {jax.default_backend()} device(s) "
        f"({jax.devices()[0].device_kind}), jax {jax.__version__}, {FLAGS.repeats} repeats of "
        f"{FLAGS.steps} calls of {config.steps_per_dispatch} step(s)\n")
  print("| implementation | images/s (median) | runs | ratio to jaxgan "
        "| compile / first step (s) | peak RSS (MiB) | peak device memory (MiB) |")
  print("| --- | --- | --- | --- | --- | --- | --- |")
  figures = {"jaxgan": jax_median, "jaxgan_compile_sec": compile_sec,
             "pipeline_images_per_sec": pipeline_rate, "jaxgan_peak_rss_mib": jaxgan_rss_mib,
             "matmul_peak_tflops": peak_flops / 1e12}
  for name, step in variants:
    median = statistics.median(rates[name])
    first = max(step.first_call_sec - step.images_per_step / median, 0.0)
    figures[name] = median
    first_row = name == variants[0][0]
    rss = ("(same process)" if not first_row else
           f"{jaxgan_rss_mib:.0f}" if jaxgan_rss_mib else "?")
    device_mib = f"{peak_mib:.0f}" if peak_mib and first_row else ""
    print(f"| {name} | {median:.0f} | {', '.join(f'{r:.0f}' for r in rates[name])} | "
          f"{median / jax_median:.2f} | {first:.1f} | {rss} | {device_mib} |")
  for name, runs in peer_figures.items():
    if runs:
      peer_rates = [run["images_per_sec"] for run in runs]
      median = statistics.median(peer_rates)
      figures[name] = median
      rss = max(run.get("peak_rss_mib") or float("nan") for run in runs)
      figures[name + " peak_rss_mib"] = rss
      device_mib = max(run.get("peak_device_mib", 0) for run in runs)
      print(f"| {name} | {median:.0f} | {', '.join(f'{r:.0f}' for r in peer_rates)} | "
            f"{median / jax_median:.2f} | "
            f"{statistics.median(run.get('first_step_sec', float('nan')) for run in runs):.1f}"
            f" | {rss:.0f} | {f'{device_mib:.0f}' if device_mib else ''} |")
  if peak_mib:
    figures["peak_device_mib"] = peak_mib
  if jax_step.flops_per_call:
    flops_per_step = jax_step.flops_per_call / config.steps_per_dispatch
    achieved = jax_step.flops_per_call * jax_median / jax_step.images_per_step
    figures.update(gflop_per_step=flops_per_step / 1e9, achieved_tflops=achieved / 1e12)
    print(f"\njaxgan's step: {flops_per_step / 1e9:.2f} GFLOP per step (XLA's count, every "
          f"device), {achieved / 1e12:.3f} TFLOP/s achieved = {achieved / peak_flops:.1%} of "
          f"this device's measured float32 matmul rate ({peak_flops / 1e12:.2f} TFLOP/s)")
  print(f"\ninput pipeline alone: {pipeline_rate:.0f} images/s "
        f"({pipeline_rate / jax_median:.0f}x the train step)")
  if FLAGS.output_json:
    storage.write_atomically(FLAGS.output_json, json.dumps(figures, indent=2))


if __name__ == "__main__":
  config_overrides.run(main)
