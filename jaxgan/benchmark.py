"""Throughput benchmark of the train step (and the input pipeline), with the peers beside it.

  python -m jaxgan.benchmark --config=configs/dcgan.py --config.batch_size=256 \
      --peers_dir=../shared/peers --torch_python=/tmp/peer-torch/bin/python

Prints a Markdown table: images/s of jaxgan's compiled train step (synthetic data, so the
step alone is timed), its compile time, the input pipeline's images/s, and, when the peers'
folder is given, the PyTorch and Keras versions of the same DCGAN step run one after another
in the same session, `--repeats` times each, as medians and as ratios to jaxgan.

The step is the full jaxgan step: n_critic D updates then a G update through the *updated* D
(alternating updates). The peers compute both updates from one forward pass through the
pre-update D (the TensorFlow tutorial's step), which is less work: the ratio is conservative.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional

from absl import flags
from ml_collections import config_flags

from jaxgan import config_overrides

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", "configs/dcgan.py", "Config to benchmark.",
                                 lock_config=True)
flags.DEFINE_string("image_shape", "28,28,1", "H,W,C of the synthetic images.")
flags.DEFINE_integer("steps", 10, "Timed train steps per repeat.")
flags.DEFINE_integer("repeats", 3, "Repeats (the median is reported).")
flags.DEFINE_string("peers_dir", "", "Folder with torch_dcgan.py and keras_dcgan.py.")
flags.DEFINE_string("torch_python", "", "Python interpreter that has torch (for the peer).")
flags.DEFINE_string("keras_python", sys.executable, "Python interpreter that has TensorFlow.")
flags.DEFINE_integer("threads", 2, "Threads the peers may use (XLA:CPU uses all cores).")
flags.DEFINE_string("output_json", "", "Also write the figures here.")


class JaxganStep:
  """jaxgan's pmapped train step on synthetic data, compiled once, timed on demand."""

  def __init__(self, config, image_shape):
    import jax
    import numpy as np

    from jaxgan import builders, parallel, train

    builders.check_config(config)
    per_device = parallel.per_device_batch_size(config.batch_size)
    _, g_state, d_state = builders.init_states(config, image_shape)
    self._step = train.pmapped_train_step(config, image_shape)
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (jax.local_device_count(), config.n_critic, per_device,
                                 *image_shape)).astype(np.float32)
    batch = {"image": images}
    if config.model.num_classes:  # A conditional model needs the images' classes too.
      batch["label"] = rng.integers(0, config.model.num_classes, images.shape[:3],
                                    dtype=np.int32)
    self._batch = parallel.shard(batch)
    self._states = (parallel.replicate(g_state), parallel.replicate(d_state))
    self._keys = parallel.replicate(builders.base_key(0))
    self.images_per_step = config.batch_size * config.n_critic
    start = time.perf_counter()
    self._run(1)
    self.first_call_sec = time.perf_counter() - start  # Compilation plus one step.
    self._run(1)  # Warm-up.

  def _run(self, steps: int) -> None:
    import jax
    g, d = self._states
    for _ in range(steps):
      g, d, metrics = self._step(g, d, self._batch, self._keys)
    jax.block_until_ready(metrics)
    self._states = (g, d)

  def images_per_sec(self, steps: int) -> float:
    start = time.perf_counter()
    self._run(steps)
    return steps * self.images_per_step / (time.perf_counter() - start)


def time_pipeline(config, image_shape, steps: int) -> float:
  """Images/s of the input pipeline alone (host batches + transfer), on 60k synthetic images."""
  import jax
  import numpy as np

  from jaxgan import parallel
  from jaxgan.data import pipeline, sources

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


def run_peer(python: str, script: str, batch: int, threads: int) -> Optional[Dict]:
  """Runs a peer script; returns its JSON line (None when it fails)."""
  cmd = [python, script, "--batch", str(batch), "--threads", str(threads), "--steps", "10",
         "--warmup", "2"]
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
  out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
  for line in reversed(out.stdout.strip().splitlines()):
    if line.startswith("{"):
      return json.loads(line)
  print(f"peer {script} failed:\n{out.stderr[-2000:]}", file=sys.stderr)
  return None


def main(argv):
  del argv
  import jax  # Here, not at the top: flag parsing (and --help) stays fast.
  config = FLAGS.config
  image_shape = tuple(int(v) for v in FLAGS.image_shape.split(","))
  peers = []
  if FLAGS.peers_dir:
    peers.append(("Keras tf.function", FLAGS.keras_python,
                  os.path.join(FLAGS.peers_dir, "keras_dcgan.py")))
    if FLAGS.torch_python:
      peers.append(("PyTorch eager", FLAGS.torch_python,
                    os.path.join(FLAGS.peers_dir, "torch_dcgan.py")))
  peer_rates: Dict[str, List[float]] = {name: [] for name, _, _ in peers}
  peer_first: Dict[str, List[float]] = {name: [] for name, _, _ in peers}
  jax_step = JaxganStep(config, image_shape)
  jax_rates = []
  # Interleave jaxgan and peer runs so that machine load affects them alike.
  for _ in range(FLAGS.repeats):
    jax_rates.append(jax_step.images_per_sec(FLAGS.steps))
    for name, python, script in peers:
      peer = run_peer(python, script, config.batch_size, FLAGS.threads)
      if peer:
        peer_rates[name].append(peer["images_per_sec"])
        peer_first[name].append(peer.get("first_step_sec", float("nan")))
  # Read before the pipeline timing, whose transfers would count too. None on XLA:CPU.
  memory = jax.local_devices()[0].memory_stats() or {}
  peak_mib = memory.get("peak_bytes_in_use", 0) / 2**20 or None
  pipeline_rate = time_pipeline(config, image_shape, steps=50)
  jax_median = statistics.median(jax_rates)
  compile_sec = max(jax_step.first_call_sec - jax_step.images_per_step / jax_median, 0.0)

  print(f"\nmodel {config.model.name}, global batch {config.batch_size}, n_critic "
        f"{config.n_critic}, {jax.device_count()} {jax.default_backend()} device(s), jax "
        f"{jax.__version__}, {FLAGS.repeats} repeats of {FLAGS.steps} steps\n")
  print("| implementation | images/s (median) | runs | ratio to jaxgan "
        "| compile / first step (s) |")
  print("| --- | --- | --- | --- | --- |")
  print(f"| jaxgan (jit+pmap) | {jax_median:.0f} | "
        f"{', '.join(f'{r:.0f}' for r in jax_rates)} | 1.00 | {compile_sec:.1f} |")
  figures = {"jaxgan": jax_median, "jaxgan_compile_sec": compile_sec,
             "pipeline_images_per_sec": pipeline_rate}
  for name, rates in peer_rates.items():
    if rates:
      median = statistics.median(rates)
      figures[name] = median
      print(f"| {name} | {median:.0f} | {', '.join(f'{r:.0f}' for r in rates)} | "
            f"{median / jax_median:.2f} | {statistics.median(peer_first[name]):.1f} |")
  if peak_mib:
    figures["peak_device_mib"] = peak_mib
    print(f"\npeak device memory: {peak_mib:.0f} MiB (states, batch and the step's buffers)")
  print(f"\ninput pipeline alone: {pipeline_rate:.0f} images/s "
        f"({pipeline_rate / jax_median:.0f}x the train step)")
  if FLAGS.output_json:
    with open(FLAGS.output_json, "w") as f:
      json.dump(figures, f, indent=2)


if __name__ == "__main__":
  config_overrides.run(main)
