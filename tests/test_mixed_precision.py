"""config.compute_dtype = "bfloat16": modules compute in bf16, everything kept is float32.

Tolerance of the bf16-vs-float32 comparisons: bfloat16 keeps 8 significant bits (relative
rounding 2^-9 = 0.2% per operation); through a network the logits differ by ~1%. The
recipes run 2 steps with one D update per step (n_critic = 1), so that the comparison
measures precision, not the dynamics: Adam's first updates are ~lr * sign(gradient), and
near-zero gradients whose sign bf16 rounding flips send a parameter the other way, which
many critic updates compound into a different D. Losses must agree within 10% of
max(1, |loss|) (a model computing garbage in bf16, e.g. overflowing or mis-cast, is far
outside), and the parameters, after two lr-sized steps, within 4 * lr * steps.
"""
import functools
import importlib
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import train
from jaxgan.core import random_streams
from jaxgan.core.config_checks import ConfigError
from jaxgan.data import pipeline
from jaxgan.experiment import builders
from jaxgan.games import common, protocol
from jaxgan.runtime import mixed_precision, parallel
from jaxgan.workdir import checkpointing, metric_logging
from tests import helpers
from tests.test_recipes import RECIPES, STORED_SHAPES


def test_compute_dtype_names_are_checked():
  config = helpers.tiny_config(compute_dtype="float16")
  with pytest.raises(ConfigError, match=r"compute_dtype must be one of \('float32', "
                     r"'bfloat16'\); got 'float16'"):
    builders.check_config(config)


def test_casts_touch_floats_only_and_restore_the_stored_dtypes():
  params = {"w": jnp.ones((2,), jnp.float32), "n": jnp.ones((2,), jnp.int32)}
  cast, x = mixed_precision.cast_inputs("bfloat16", params, jnp.ones((3,)))
  assert cast["w"].dtype == jnp.bfloat16 and cast["n"].dtype == jnp.int32
  assert x.dtype == jnp.bfloat16
  stored = {"batch_stats": {"mean": jnp.zeros((2,), jnp.float32)}}
  out, kept = mixed_precision.restore(
      "bfloat16", (jnp.ones((2,), jnp.bfloat16), None),
      {"batch_stats": {"mean": jnp.ones((2,), jnp.bfloat16)}}, stored)
  assert out[0].dtype == jnp.float32 and out[1] is None
  assert kept["batch_stats"]["mean"].dtype == jnp.float32
  assert mixed_precision.cast_inputs("float32", params, x) == (params, x)


def _flops_by_dtype(fn, *args):
  """{operand dtype: multiply-adds} of every conv and matmul in fn's jaxpr (sub-jaxprs too)."""
  found = {}

  def count(eqn):
    lhs, rhs = (v.aval for v in eqn.invars[:2])
    out = eqn.outvars[0].aval
    if eqn.primitive.name == "dot_general":
      (contracting, _), _ = eqn.params["dimension_numbers"]
      return out.size * int(np.prod([lhs.shape[d] for d in contracting]))
    out_channels = rhs.shape[eqn.params["dimension_numbers"].rhs_spec[0]]
    return out.size * rhs.size // out_channels

  def visit(jaxpr):
    for eqn in jaxpr.eqns:
      if eqn.primitive.name in ("conv_general_dilated", "dot_general"):
        dtype = "/".join(sorted({str(v.aval.dtype) for v in eqn.invars}))
        found[dtype] = found.get(dtype, 0) + count(eqn)
      for value in eqn.params.values():
        for sub in value if isinstance(value, (tuple, list)) else (value,):
          if hasattr(sub, "eqns"):
            visit(sub)
          elif hasattr(sub, "jaxpr") and hasattr(sub.jaxpr, "eqns"):
            visit(sub.jaxpr)
  visit(jax.make_jaxpr(fn)(*args).jaxpr)
  return found


def _recipe_config(name, **overrides):
  config = importlib.import_module(f"configs.{name}").get_config()
  for key, value in overrides.items():
    target = config
    *parents, leaf = key.split(".")
    for parent in parents:
      target = target[parent]
    target[leaf] = value
  return config


@pytest.mark.parametrize("name", ["dcgan", "hinge_sn", "cgan_projection_mnist"])
def test_the_players_compute_in_bf16_and_return_float32(name):
  """The convs and matmuls of G and D (forward and backward) take bf16 operands (all but
  spectral norm's float32 power iteration, < 1% of the work); the images, logits, gradients
  and updated collections come back float32. Traced only, not compiled."""
  config = _recipe_config(name, compute_dtype="bfloat16")
  experiment = builders.build(config, STORED_SHAPES[config.dataset.name])
  states = experiment.init_states()
  game = experiment.game
  n = 4
  z = jnp.zeros((n, config.model.latent_dim))
  labels = jnp.zeros((n,), jnp.int32) if config.model.num_classes else None
  key = jax.random.PRNGKey(0)

  def d_loss(d_params, images):
    logits, collections, _ = common.apply(game.discriminator, states["d"], d_params, images,
                                          key, labels)
    return jnp.mean(logits), (logits, collections)

  def g_then_d(g_params):
    fake, g_collections, _ = common.apply(game.generator, states["g"], g_params, z, key, labels)
    loss, (logits, d_collections) = d_loss(states["d"].params, fake)
    return loss, (fake, logits, g_collections, d_collections)

  # Inside a one-device named axis, as in the pmapped step (batch norm syncs over it).
  both = lambda g_params: jax.vmap(lambda _: jax.grad(g_then_d, has_aux=True)(g_params),
                                   axis_name=parallel.AXIS_NAME)(jnp.zeros(1))
  flops = _flops_by_dtype(both, states["g"].params)
  # All but the power iterations of spectral norm (float32 matrix-vector products, by design).
  assert flops.get("bfloat16", 0) >= 0.99 * sum(flops.values()), flops
  grads, (fake, logits, g_collections, d_collections) = jax.eval_shape(
      both, states["g"].params)
  assert fake.dtype == jnp.float32 and logits.dtype == jnp.float32
  assert all(x.dtype == jnp.float32 for x in jax.tree.leaves((grads, g_collections,
                                                               d_collections)))


def _write_data(dataset, directory):
  """Fake files for a recipe's dataset: MNIST IDX (mnist, stacked_mnist, digit_strokes) or
  npz files of the stored shape for the rest, two domains' for cycle_gan/* (returns the
  dataset name to read them as)."""
  if dataset in ("mnist", "stacked_mnist", "digit_strokes"):
    helpers.write_fake_mnist(directory, n=1100 if dataset == "digit_strokes" else 64)
    return dataset
  rng = np.random.default_rng(0)
  os.makedirs(directory, exist_ok=True)
  two_domains = dataset.startswith("cycle_gan/")
  for split in ("testA", "testB") if two_domains else ("test",):
    n = 8 if two_domains else 64
    np.savez(os.path.join(directory, f"{split}.npz"),
             images=rng.integers(0, 256, (n, *STORED_SHAPES[dataset]), dtype=np.uint8),
             labels=rng.integers(0, 10, n), num_classes=10)
  return "npz"


def _recipe_with_data(name, dtype, tmp_path, **more):
  """The recipe's config on fake files of its dataset, small and short (see the docstring)."""
  base = _recipe_config(name)
  dataset = _write_data(base.dataset.name, str(tmp_path / "data"))
  overrides = {"compute_dtype": dtype, "num_train_steps": 2, "n_critic": 1,
               "log_every_steps": 1, "sample_every_steps": 10**6,
               "checkpoint_every_steps": 10**6, "eval.every_steps": 0, "num_grid_samples": 4,
               "dataset.name": dataset, "dataset.local_dir": str(tmp_path / "data"),
               "dataset.split": "test", **more}
  if base.batch_size > 16 and "batch_sizes" not in base.game.kwargs:
    overrides["batch_size"] = 8 * base.packing.size  # Whole packs on each of 4 devices.
  return _recipe_config(name, **overrides)


def _train_recipe(name, dtype, tmp_path):
  config = _recipe_with_data(name, dtype, tmp_path)
  workdir = str(tmp_path / dtype)
  result = train.train_and_evaluate(config, workdir)
  return result, metric_logging.read_metrics(workdir), workdir, config


def _assert_bf16_tracks_float32(name, tmp_path):
  f32, f32_metrics, _, config = _train_recipe(name, "float32", tmp_path)
  bf16, bf16_metrics, workdir, _ = _train_recipe(name, "bfloat16", tmp_path)
  for a, b in zip(f32_metrics, bf16_metrics):
    for key in ("g_loss", "d_loss"):
      if key in a:
        assert np.isfinite(b[key]), (key, b)
        assert abs(a[key] - b[key]) <= 0.1 * max(1.0, abs(a[key])), (key, a[key], b[key])
  leaves = jax.tree.leaves(bf16["states"])
  assert all(np.asarray(x).dtype != jnp.bfloat16 for x in leaves)  # Nothing kept in bf16.
  assert (checkpointing.fingerprint(f32["states"])
          == checkpointing.fingerprint(bf16["states"]))  # Checkpoints of one layout.
  lr = max(config.g_optimizer.learning_rate, config.d_optimizer.learning_rate)
  for a, b in zip(jax.tree.leaves(f32["states"]["g"].params),
                  jax.tree.leaves(bf16["states"]["g"].params)):
    np.testing.assert_allclose(a, b, atol=4 * lr * 2 + 1e-6)
  return workdir


def test_dcgan_in_bf16_tracks_float32_and_switches_dtype_on_resume_only_on_request(tmp_path):
  workdir = _assert_bf16_tracks_float32("dcgan", tmp_path)
  settings = {"num_train_steps": 3, "log_every_steps": 1, "sample_every_steps": 10**6,
              "checkpoint_every_steps": 10**6, "batch_size": 16, "eval.every_steps": 0,
              "num_grid_samples": 4, "dataset.local_dir": str(tmp_path / "data"),
              "dataset.split": "test"}
  with pytest.raises(checkpointing.IncompatibleCheckpointError,
                     match="compute_dtype: checkpoint 'bfloat16', this config 'float32'"):
    train.train_and_evaluate(_recipe_config("dcgan", **settings), workdir)
  # On request it resumes: the checkpoint holds the same float32 arrays either way.
  config = _recipe_config("dcgan", allow_changes_on_resume=True, **settings)
  assert train.train_and_evaluate(config, workdir)["step"] == 3


# Every recipe's whole train step (both players, penalties, plug-ins), traced: CI-only
# (`slow`, a few seconds each).
@pytest.mark.slow
@pytest.mark.parametrize("name", RECIPES)
def test_every_recipes_train_step_computes_in_bf16(name, tmp_path):
  config = _recipe_with_data(name, "bfloat16", tmp_path, batch_size=4)
  if "batch_sizes" in config.game.kwargs or config.packing.size > 1:
    config = _recipe_with_data(name, "bfloat16", tmp_path)
  resolved = builders.resolve(config)
  data = train.load_data(resolved)
  experiment = builders.build(config, pipeline.output_shape(data.image_shape,
                                                            config.dataset.random_crop), resolved)
  states = experiment.init_states()
  batches = train.make_batches(resolved.settings, data, experiment.game)
  batch = jax.tree.map(lambda x: x[0], batches.batch(0))
  step = functools.partial(common.run_step, game=protocol.growth_of(experiment.game).for_program(
      protocol.growth_of(experiment.game).program(0)), skip_nonfinite=experiment.skip_nonfinite)
  flops = _flops_by_dtype(
      lambda s, b, k: jax.vmap(lambda _: step(s, b, k), axis_name=parallel.AXIS_NAME)(
          jnp.zeros(1)), states, batch, random_streams.base_key(config.seed))
  assert flops.get("bfloat16", 0) >= 0.99 * sum(flops.values()), flops


# Every other recipe a researcher can run here: CI-only (`slow`, ~10-30 s each). The 256-px
# horse2zebra recipe (~20 s a step on the CPU) is left out; cyclegan_digits has its game and
# networks. So is dcgan_tutorial: its network and step are those of the recipes built on it
# (course_tips, lsgan, hinge_sn, ...).
@pytest.mark.slow
@pytest.mark.parametrize("name", [r for r in RECIPES if r not in (
    "dcgan", "dcgan_tutorial", "cyclegan_horse2zebra")])
def test_every_recipe_in_bf16_tracks_float32(name, tmp_path):
  _assert_bf16_tracks_float32(name, tmp_path)
