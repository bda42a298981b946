"""XLA's side of jaxgan, tested in fresh processes (sorted last so that the suite's worker
schedule stays as it was; each starts its own interpreter):

* jaxgan.runtime.compilation_cache: which directory a --compilation_cache value names, and that a
  repeated train step is read from the cache (with the same result, bit for bit), a changed
  model shape compiles anew, and a truncated entry is compiled again rather than used;
* jaxgan.runtime.flops: XLA's FLOP counts against counts made by hand, and the pmapped total (they
  compile ahead of time and read cost analyses, kept out of the workers' shared cache).
"""
import json
import os
import subprocess
import sys

import numpy as np

from jaxgan.runtime import compilation_cache

# Not imported from tests.conftest: that would run conftest a second time (as another
# module), appending to XLA_FLAGS again.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_directory_for_each_setting():
  home = os.path.expanduser("~")
  assert compilation_cache.directory_for("off", {}) is None
  assert compilation_cache.directory_for("", {}) is None
  assert compilation_cache.directory_for("/tmp/x", {}) == "/tmp/x"
  assert compilation_cache.directory_for("gs://b/cache", {}) == "gs://b/cache"
  assert compilation_cache.directory_for("auto", {}) == os.path.join(home, ".cache", "jaxgan",
                                                                      "xla")
  assert compilation_cache.directory_for("auto", {"XDG_CACHE_HOME": "/c"}) == "/c/jaxgan/xla"
  assert compilation_cache.directory_for(
      "auto", {"XDG_CACHE_HOME": "/c", "JAX_COMPILATION_CACHE_DIR": "/j"}) == "/j"


# Runs in its own process (JAX's cache is set up once per process): the tiny model's pmapped
# step with jaxgan's CPU compile options: twice, with a wider latent, and once more after every
# entry was truncated. Prints, per call, the cache hits during it, the entries on disk after it
# and a digest of the parameters it produced.
_CACHE_SCRIPT = r"""
import hashlib, json, os, sys
import jax, numpy as np
from jaxgan.experiment import builders
from jaxgan.runtime import compilation_cache, parallel
from jaxgan.core import random_streams
from tests import helpers

compilation_cache.enable(sys.argv[1])
hits = []
jax.monitoring.register_event_listener(
    lambda name, **kw: hits.append(1) if name == "/jax/compilation_cache/cache_hits" else None)

def call(latent_dim):
  jax.clear_caches()  # Nothing from the previous call in memory: only the disk cache.
  experiment = builders.build(helpers.tiny_config(**{"model.latent_dim": latent_dim}),
                              (8, 8, 1))
  images = np.random.default_rng(0).uniform(-1, 1, (jax.local_device_count(), 1, 2, 8, 8, 1))
  states = parallel.replicate(experiment.init_states())
  before = len(hits)
  states, _ = experiment.pmapped_step()(states, parallel.shard({"image": images.astype(
      np.float32)}), parallel.replicate(random_streams.base_key(0)))
  params = jax.device_get(parallel.unreplicate(states))["g"].params
  digest = hashlib.sha256(b"".join(np.asarray(x).tobytes()
                                   for x in jax.tree.leaves(params))).hexdigest()
  entries = sum(1 for name in os.listdir(sys.argv[1]) if name.endswith("-cache"))
  return {"hits": len(hits) - before, "entries": entries, "params": digest}

runs = [call(8), call(8), call(16)]
for name in os.listdir(sys.argv[1]):  # Every entry cut short, as by a SIGKILL
  if name.endswith("-cache"):                       # while JAX wrote it.
    path = os.path.join(sys.argv[1], name)
    with open(path, "r+b") as f:
      f.truncate(os.path.getsize(path) // 2)
print(json.dumps(runs + [call(8)]))
"""


def test_repeated_step_is_read_from_the_cache_and_a_changed_shape_recompiles(tmp_path):
  cache = str(tmp_path / "cache")
  env = dict(os.environ, JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
  env.pop("JAX_COMPILATION_CACHE_DIR", None)
  out = subprocess.run([sys.executable, "-c", _CACHE_SCRIPT, cache], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
  assert out.returncode == 0, out.stderr[-3000:]
  first, repeated, changed, truncated = json.loads(out.stdout.strip().splitlines()[-1])
  assert first["hits"] == 0 and first["entries"] > 0  # Compiled and written.
  assert repeated["hits"] >= 1  # The step came from the disk ...
  assert repeated["entries"] == first["entries"]  # ... and nothing new was compiled.
  assert repeated["params"] == first["params"]  # The cached program computes the same.
  assert changed["hits"] == 0  # A different model shape is a different program,
  assert changed["entries"] > repeated["entries"]  # compiled and written,
  assert changed["params"] != first["params"]
  # A truncated entry is not used (JAX warns and compiles): the same result as compiling.
  assert truncated["hits"] == 0 and truncated["params"] == first["params"]
  assert "Error reading persistent compilation cache entry" in out.stderr


_FLOPS_SCRIPT = r"""
import json
import jax, jax.numpy as jnp, numpy as np
from jaxgan.runtime import flops, xla_cpu

out = {}
x, w, b = jnp.ones((8, 100)), jnp.ones((100, 30)), jnp.ones((30,))
out["dense"] = flops.call_flops(jax.jit(lambda x, w, b: x @ w + b), x, w, b)
conv = jax.jit(lambda i, k: jax.lax.conv_general_dilated(
    i, k, (2, 2), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")))
out["conv"] = flops.call_flops(conv, jnp.ones((4, 28, 28, 3)), jnp.ones((5, 5, 3, 16)))
layer = lambda x, w: jnp.tanh(x @ w)
for devices in (1, 2, 4):
  x = np.ones((devices, 16 // devices, 64), np.float32)
  ws = np.stack([np.ones((64, 32), np.float32)] * devices)
  step = jax.pmap(layer, devices=jax.devices()[:devices])
  out[f"pmap_{devices}"] = flops.call_flops(step, x, ws, num_devices=devices)
  out[f"pmap_options_{devices}"] = flops.call_flops(xla_cpu.with_cpu_options(step), x, ws,
                                                    num_devices=devices)
out["peak"] = flops.measured_matmul_peak(size=128, repeats=2)
print(json.dumps(out))
"""


def _valid_taps(size: int, kernel: int, stride: int) -> int:
  """Sum over a 'SAME' strided convolution's outputs (one axis) of the taps inside the input."""
  out = -(-size // stride)
  pad_total = max((out - 1) * stride + kernel - size, 0)
  low = pad_total // 2
  positions = np.arange(out)[:, None] * stride - low + np.arange(kernel)[None, :]
  return int(((positions >= 0) & (positions < size)).sum())


def test_flop_counts_against_hand_counts():
  env = dict(os.environ)
  env.pop("JAX_COMPILATION_CACHE_DIR", None)  # Nothing written to the workers' cache.
  done = subprocess.run([sys.executable, "-c", _FLOPS_SCRIPT], cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=300)
  assert done.returncode == 0, done.stderr[-3000:]
  counts = json.loads(done.stdout.strip().splitlines()[-1])
  # A dense layer: 2 per multiply-add, plus the bias.
  assert counts["dense"] == 2 * 8 * 100 * 30 + 8 * 30
  # A 'SAME' stride-2 5x5 convolution counts only the taps on the input (rows and columns
  # independent), fewer than the naive count with every tap.
  taps = _valid_taps(28, 5, 2) ** 2
  assert counts["conv"] == 2 * 4 * taps * 3 * 16
  assert counts["conv"] < 2 * 4 * 14 * 14 * 5 * 5 * 3 * 16
  # A pmapped program is counted per device and summed: the same total on 1, 2 and 4
  # devices, plain and through the CPU-options wrapper; tanh is a transcendental, not a FLOP.
  for devices in (1, 2, 4):
    assert counts[f"pmap_{devices}"] == counts[f"pmap_options_{devices}"] == 2 * 16 * 64 * 32
  # The matmul rate of this CPU: between 1 GFLOP/s and 10 TFLOP/s.
  assert 1e9 < counts["peak"] < 1e13
