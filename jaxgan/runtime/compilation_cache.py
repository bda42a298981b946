"""JAX's persistent compilation cache for jaxgan's commands (`--compilation_cache`).

A repeated or resumed run of the same recipe on the same machine reads its compiled train
step, sampler and evaluator from disk instead of compiling them again (CPU: the DCGAN's step
5-7 s; GPU: 8-31 s; docs/performance.md has the measured table). On by default for
`jaxgan.main`, `jaxgan.sample` and `jaxgan.evaluate`:

  --compilation_cache=auto   $JAX_COMPILATION_CACHE_DIR when set, else
                             $XDG_CACHE_HOME/jaxgan/xla (~/.cache/jaxgan/xla)
  --compilation_cache=off    compile every program (what `jaxgan.benchmark` does by default,
                             so that its compile column is a compilation)
  --compilation_cache=DIR    any directory (a shared gs:// one works on a pod: JAX writes
                             entries from process 0 only)
The environment variable JAXGAN_COMPILATION_CACHE sets the default of the flag (the test
suite uses it to keep runs out of the user's cache).

Why it is safe: JAX keys every entry by the program's HLO, the compile options (jaxgan's
XLA:CPU options included), the devices and the jax/jaxlib versions, so a changed config,
model shape or installation compiles anew (tests/test_xla_cache_and_flops.py); an executable
read from the cache is the one the compiler would build, so results are bit for bit those of
a compiled run. An entry left truncated (a process killed while writing it) is reported by
JAX as a warning and the program is compiled instead (the entry stays, and so does the
warning: delete the folder to clear it).

The cache is not bounded: JAX's eviction (jax_compilation_cache_max_size) needs every entry
to carry its access-time file, so it fails on a folder that other JAX programs write too, and
it scans the whole folder at every write. Entries are small (the DCGAN recipe's programs on
the CPU: 4 files, 0.6 MiB); delete the folder to reclaim the space.
"""
from __future__ import annotations

import os
from typing import Mapping, Optional

from absl import flags

ENV_DEFAULT = "JAXGAN_COMPILATION_CACHE"
# Programs that compile faster than this are not worth a file (JAX's own default is 1 s; the
# CPU sampler and the evaluator's programs take 0.3-1 s each, and a run compiles several).
MIN_COMPILE_SECONDS = 0.3


def define_flag(default: str = "auto") -> None:
  """--compilation_cache for a command; JAXGAN_COMPILATION_CACHE overrides `default`."""
  flags.DEFINE_string(
      "compilation_cache", os.environ.get(ENV_DEFAULT, default),
      "Persistent XLA compilation cache: 'auto' ($JAX_COMPILATION_CACHE_DIR, else "
      "~/.cache/jaxgan/xla), 'off', or a directory. A repeated or resumed run of the same "
      "program skips compilation.")


def directory_for(setting: str, environ: Mapping[str, str] = os.environ) -> Optional[str]:
  """The cache directory a --compilation_cache value names (None: off)."""
  if setting in ("off", ""):
    return None
  if setting != "auto":
    return setting
  if environ.get("JAX_COMPILATION_CACHE_DIR"):
    return environ["JAX_COMPILATION_CACHE_DIR"]
  base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
  return os.path.join(base, "jaxgan", "xla")


def enable(setting: str) -> Optional[str]:
  """Applies a --compilation_cache value to JAX; call before the first compilation.

  Returns the directory in use (None: the cache is off).
  """
  import jax
  directory = directory_for(setting)
  if directory is None:
    jax.config.update("jax_enable_compilation_cache", False)
    return None
  jax.config.update("jax_enable_compilation_cache", True)
  jax.config.update("jax_compilation_cache_dir", directory)
  # A threshold set in the environment (the tests cache everything) wins.
  if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
  return directory
