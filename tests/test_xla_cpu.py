"""jaxgan.runtime.xla_cpu: the train step compiled with the CPU options computes what the plain pmap
computes, an XLA that does not know an option still compiles, and the benchmark's ablation
rows (and the FLOP line) run; its cond computes lax.cond's values without a conditional on
the CPU and keeps the conditional elsewhere."""
import logging
import os
import subprocess
import sys

import flax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.core import random_streams
from jaxgan.experiment import builders
from jaxgan.runtime import parallel, xla_cpu
from tests import helpers

IMAGE_SHAPE = (8, 8, 1)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _two_steps(cpu_options: bool):
  config = helpers.tiny_config(batch_size=8, n_critic=1)
  experiment = builders.build(config, IMAGE_SHAPE)
  step = experiment.pmapped_step(cpu_options=cpu_options)
  states = parallel.replicate(experiment.init_states())
  keys = parallel.replicate(random_streams.base_key(0))
  images = np.random.default_rng(0).uniform(-1, 1, (jax.local_device_count(), 1,
                                                     8 // jax.local_device_count(),
                                                     *IMAGE_SHAPE)).astype(np.float32)
  for _ in range(2):
    states, metrics = step(states, parallel.shard({"image": images}), keys)
  return step, jax.device_get(parallel.unreplicate((states["g"], states["d"], metrics)))


def test_options_change_speed_not_results():
  step, with_options = _two_steps(cpu_options=True)
  assert isinstance(step, xla_cpu.CompiledWithOptions)  # The tests run on the CPU.
  _, without = _two_steps(cpu_options=False)
  for a, b in zip(with_options, without):
    a, b = flax.serialization.to_state_dict(a), flax.serialization.to_state_dict(b)
    # Different convolution libraries sum in different orders; Adam's first steps magnify
    # float noise in near-zero gradients (as across device counts, tests/test_steps.py).
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-4, atol=2e-5), a, b)


def test_unknown_option_compiles_without_options_and_says_so(caplog):
  double = xla_cpu.CompiledWithOptions(jax.pmap(lambda x: 2 * x),
                                       {"xla_cpu_no_such_option": "1"})
  x = jnp.ones((1, 3))
  with caplog.at_level(logging.WARNING):
    np.testing.assert_array_equal(double(x), 2 * np.ones((1, 3)))
  assert "xla_cpu_no_such_option" in caplog.text
  # A new argument shape compiles again (as jax.pmap would), without the unknown option.
  np.testing.assert_array_equal(double(jnp.ones((1, 5))), 2 * np.ones((1, 5)))


@pytest.mark.slow  # 28 s: CI-only.
def test_benchmark_ablation_rows():
  out = subprocess.run(
      [sys.executable, "-m", "jaxgan.benchmark", "--config=configs/dcgan_tutorial.py",
       "--config.model.name=tiny", "--config.model.latent_dim=8", "--config.batch_size=8",
       "--image_shape=8,8,1", "--steps=1", "--repeats=1", "--ablation"],
      cwd=ROOT, capture_output=True, text=True, timeout=600,
      env=dict(os.environ, XLA_FLAGS=""))
  assert out.returncode == 0, out.stderr[-3000:]
  for row in ("| jaxgan (alternating) |", "| jaxgan (alternating), no CPU compile options |",
              "| jaxgan (simultaneous) |", "GFLOP per step (XLA's count"):
    assert row in out.stdout, out.stdout


def _penalised(cond, pred, w, x):
  """A convolution's squared output through `cond` (0 when `pred` is False): a lazy penalty."""
  conv = lambda w: jnp.sum(jax.lax.conv_general_dilated(x, w, (2, 2), "SAME") ** 2)
  return cond(pred, conv, lambda w: jnp.zeros((), jnp.float32), w)


def test_cond_gives_lax_conds_values_and_gradients_without_a_conditional_on_the_cpu():
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.normal(size=(2, 3, 8, 8)), jnp.float32)  # NCHW, OIHW: lax's default.
  w = jnp.asarray(rng.normal(size=(4, 3, 3, 3)), jnp.float32)
  for pred in (True, False):
    ours = jax.value_and_grad(lambda w: _penalised(xla_cpu.cond, pred, w, x))(w)
    reference = jax.value_and_grad(lambda w: _penalised(jax.lax.cond, pred, w, x))(w)
    # Float rounding only: the conditional's naive-loop convolutions sum in another order.
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-4),
                 ours, reference)
  grad = jax.jit(jax.grad(lambda w, pred: _penalised(xla_cpu.cond, pred, w, x)))
  hlo = grad.lower(w, True).compile().as_text()
  # The point of it: no branch for XLA:CPU to compile its convolutions into naive loops.
  assert "conditional(" not in hlo and "convolution(" in hlo


def test_cond_keeps_the_conditional_off_the_cpu():
  x = jnp.zeros((2, 3, 8, 8), jnp.float32)
  w = jnp.zeros((4, 3, 3, 3), jnp.float32)
  grad = jax.jit(jax.grad(lambda w, pred: _penalised(xla_cpu.cond, pred, w, x)))
  exported = jax.export.export(grad, platforms=["tpu"])(w, True)
  module = exported.mlir_module()
  assert "stablehlo.case" in module or "stablehlo.if" in module
