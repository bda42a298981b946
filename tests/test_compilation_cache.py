"""jaxgan.compilation_cache: which directory a --compilation_cache value names, and, in a
fresh process, that a repeated train step is read from the cache (with the same result, bit
for bit), a changed model shape compiles anew, and a truncated entry is compiled again rather
than used."""
import json
import os
import subprocess
import sys

from jaxgan import compilation_cache

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
_SCRIPT = r"""
import hashlib, json, os, sys
import jax, numpy as np
from jaxgan import builders, compilation_cache, parallel, streams
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
      np.float32)}), parallel.replicate(streams.base_key(0)))
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
  out = subprocess.run([sys.executable, "-c", _SCRIPT, cache], cwd=ROOT, env=env,
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
