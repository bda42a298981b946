"""What makes the train step faster on XLA:CPU: per-computation compiler options, and `cond`
(a lax.cond that XLA:CPU compiles without a conditional; see its docstring).

Why: jax 0.10's XLA:CPU hands convolutions to YNNPACK by default. On the DCGAN's layers
(e.g. a 5x5 convolution of [256, 7, 7, 256] to 128 channels, forward and both gradients)
XLA's own Eigen convolutions are ~1.3-1.4x faster on the 2-core development machine, and the
whole train step ~1.3x (docs/performance.md: 181 -> 236 images/s at batch 256). YNNPACK stays on
for dots and reductions, where it is as fast or faster.

How: the options go to the compiler of the one computation they are meant for (the train
step), never through XLA_FLAGS, so nothing global changes. Off the CPU they are not passed.
An XLA that does not know an option (a later jax may rename it) compiles without the options
and says so once, rather than failing.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Dict, Tuple

import jax
import jax.numpy as jnp
from jax import lax

# Library fusions XLA:CPU may form, leaving convolutions to Eigen (see the module docstring).
CPU_COMPILER_OPTIONS: Dict[str, str] = {
    "xla_cpu_experimental_ynn_fusion_type":
        "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT,LIBRARY_FUSION_TYPE_REDUCE",
}


def _signature(args: Tuple[Any, ...]) -> Any:
  leaves, treedef = jax.tree.flatten(args)
  return treedef, tuple((getattr(x, "shape", None), str(getattr(x, "dtype", type(x))))
                        for x in leaves)


class CompiledWithOptions:
  """Calls `transformed` (a jax.jit or jax.pmap of a function) compiled with `options`.

  Compiles on the first call for each argument signature (tree structure, shapes and
  dtypes), as the transformation itself would; later calls go straight to the executable.
  """

  def __init__(self, transformed: Any, options: Dict[str, str]):
    self._transformed = transformed
    self._options = dict(options)
    self._executables: Dict[Any, Callable] = {}

  def __call__(self, *args):
    return self.compiled(*args)(*args)

  def compiled(self, *args) -> Any:
    """The executable for these arguments' signature (compiled now if it is new)."""
    signature = _signature(args)
    executable = self._executables.get(signature)
    if executable is None:
      executable = self._executables[signature] = self._compile(args)
    return executable

  def _compile(self, args: Tuple[Any, ...]) -> Callable:
    lowered = self._transformed.lower(*args)
    try:
      return lowered.compile(self._options)
    except jax.errors.JaxRuntimeError as e:
      if "No such compile option" not in str(e):
        raise
      logging.warning("This XLA does not know the CPU compile options %s (%s); compiling "
                      "the train step without them.", sorted(self._options), e)
      self._options = {}
      return lowered.compile()


def with_cpu_options(transformed: Any) -> Callable:
  """`transformed` (jitted or pmapped) with CPU_COMPILER_OPTIONS when running on the CPU in
  one process. With several processes the ahead-of-time executable refuses the global arrays
  pmap passes it ("Argument types differ"), so multi-process runs use the plain transform."""
  if jax.default_backend() != "cpu" or jax.process_count() > 1:
    return transformed
  return CompiledWithOptions(transformed, CPU_COMPILER_OPTIONS)


def cond(pred: jax.Array, true_fun: Callable, false_fun: Callable, *operands: Any) -> Any:
  """`lax.cond(pred, true_fun, false_fun, *operands)`, except on XLA:CPU, which computes both
  branches and selects one.

  Why: XLA:CPU (jax 0.12.1) compiles a convolution inside a conditional's branch to a naive
  loop, not to Eigen's convolution: the DCGAN's lazy R1 update ran 176 ms against 38 ms for a
  plain step and 44 ms for a step computing R1 inline (batch 32, 2-core CPU), so the lazy
  penalty made training slower than the eager one. Computing the skipped branch too costs far
  less there. The two give the same values (`pred` selects the branch's result either way);
  GPUs and TPUs keep the conditional, which skips the branch's work. One difference remains:
  under a gradient, an infinite partial in the branch not taken becomes NaN (0 x inf) on the
  CPU, where the conditional would not have computed it.
  """
  def selected(*xs):
    taken, skipped = true_fun(*xs), false_fun(*xs)
    return jax.tree.map(lambda a, b: jnp.where(pred, a, b), taken, skipped)

  def conditional(*xs):
    return lax.cond(pred, true_fun, false_fun, *xs)

  return lax.platform_dependent(*operands, cpu=selected, default=conditional)
