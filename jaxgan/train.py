"""`train_and_evaluate(config, workdir)`: the one outer training loop.

Build everything from the config (failing before compilation on a bad config or data), restore
the latest checkpoint of the workdir or initialise, then loop: step, log, sample, checkpoint.
Outputs under WORKDIR: checkpoints/, samples/step_XXXXXXX.png, samples.gif, metrics.jsonl,
tensorboard/, curves.png, and with config.eval.every_steps > 0 evaluation records (eval_*) in
metrics.jsonl and TensorBoard, eval_curves.png and eval/classifier/.
"""
from __future__ import annotations

import functools
import glob
import os
from typing import Any, Dict

import jax
import ml_collections
import numpy as np
from absl import logging

from jaxgan import (builders, checkpointing, metric_logging, parallel, preemption, resume, sample,
                    state, steps, visualize, xla_cpu)
from jaxgan.data import pipeline, sources
from jaxgan.evaluation import evaluator as evaluator_lib
from jaxgan.evaluation import pictures
from jaxgan.evaluation import setup as eval_setup


class NonFiniteError(FloatingPointError):
  """Training produced NaN or Inf; the message names the step and the quantities."""


def pmapped_train_step(config: ml_collections.ConfigDict, image_shape,
                       cpu_options: bool = True, steps_per_call: int = 1) -> Any:
  """`steps.train_step` for this config, pmapped over the local devices (states donated);
  with `steps_per_call` k > 1, `steps.train_steps` (k steps in one call).

  Called as `(g_state, d_state, batch, base_key) -> (g_state, d_state, metrics)`, every
  argument with a leading [local_devices] axis (the batch then [local_devices, k, ...] for
  k > 1). On the CPU it is compiled with `xla_cpu.CPU_COMPILER_OPTIONS` unless `cpu_options`
  is False (the benchmark's baseline).
  """
  spec = builders.step_spec(config, image_shape, axis_name=parallel.AXIS_NAME)
  fn = steps.train_step if steps_per_call == 1 else steps.train_steps
  step = parallel.pmap(functools.partial(fn, spec=spec), donate_argnums=(0, 1))
  return xla_cpu.with_cpu_options(step) if cpu_options else step


class _Dispatcher:
  """Runs the loop's steps config.steps_per_dispatch (k) at a time.

  A dispatch of k steps starts only at a multiple of k and ends within num_train_steps;
  other steps (after resuming from a step that is not a multiple, or at the end) run one per
  call. Each call's compiled step is built on first use.
  """

  def __init__(self, config: ml_collections.ConfigDict, image_shape,
               batches: pipeline.StepBatches):
    self._config, self._image_shape, self._batches = config, image_shape, batches
    self._compiled: Dict[int, Any] = {}

  def size(self, step: int) -> int:
    """How many steps the next call runs, when `step` steps are done."""
    k = self._config.steps_per_dispatch
    return k if step % k == 0 and step + k <= self._config.num_train_steps else 1

  def __call__(self, g_rep, d_rep, keys, step: int, n: int):
    if n not in self._compiled:
      self._compiled[n] = pmapped_train_step(self._config, self._image_shape,
                                             steps_per_call=n)
    batch = self._batches.batch(step) if n == 1 else self._batches.consecutive(step, n)
    return self._compiled[n](g_rep, d_rep, parallel.shard(batch), keys)


def load_data(config: ml_collections.ConfigDict) -> sources.ImageData:
  return sources.from_config(config.dataset)


def _non_finite_names(tree: Dict[str, Any]) -> list:
  return [name for name, value in tree.items() if not np.all(np.isfinite(value))]


class _SkipWatch:
  """With config.on_nonfinite="skip": reports skipped steps at each log, and stops the run
  when every step since the previous log was skipped (the run is no longer training)."""

  def __init__(self, step: int, skipped: int):
    self.step, self.skipped = step, skipped

  def check(self, step: int, metrics: Dict[str, float]) -> None:
    skipped = int(metrics[steps.SKIPPED_STEPS])
    if skipped > self.skipped:
      new = skipped - self.skipped
      logging.warning("Skipped %d of the %d steps up to step %d (non-finite values); %d in "
                      "all.", new, step - self.step, step, skipped)
      if new >= step - self.step:
        raise NonFiniteError(
            f"Every step from {self.step + 1} to {step} produced non-finite values and was "
            "skipped: training stopped. The last checkpoint holds finite state. Try a lower "
            "learning rate.")
    self.step, self.skipped = step, skipped


def _check_finite(step: int, metrics: Dict[str, float]) -> None:
  if metrics.get("all_finite", 1.0) != 1.0:
    bad = _non_finite_names({k: v for k, v in metrics.items() if k != "all_finite"})
    raise NonFiniteError(
        f"Non-finite values at step {step} (checked every config.log_every_steps steps): "
        f"{', '.join(bad) or 'parameters'}. Training stopped; the last checkpoint (if any) "
        "holds finite state. Try a lower learning rate, or config.on_nonfinite='skip' to skip "
        "such steps.")


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> Dict[str, Any]:
  """Trains the GAN described by `config`, writing everything under `workdir`.

  Returns:
    {"step": final step, "g_state": ..., "d_state": ...} (host copies), for tests and tools.
  """
  builders.check_config(config)  # Before the (possibly slow) data loading.
  if config.steps_per_dispatch > 1 and jax.default_backend() == "cpu":
    logging.warning("config.steps_per_dispatch=%d on the CPU: XLA:CPU runs a scanned loop "
                    "body slower, convolutions far slower (batch 64: seed DCGAN 261 images/s "
                    "with 1, 18 with 4; MLP GAN 3,304 with 1, 2,490 with 10; "
                    "docs/performance.md). Use 1 on the CPU.",
                    config.steps_per_dispatch)
  per_device = parallel.per_device_batch_size(config.batch_size)
  is_writer = jax.process_index() == 0
  if is_writer:
    checkpointing.check_writable(workdir)

  data = load_data(config)
  builders.check_labels(config, data.num_classes, data.labels is not None)
  image_shape = data.image_shape
  eval_pair, g_state, d_state = builders.init_states(config, image_shape)
  logging.info("Data: %s/%s, %d images of shape %s; %d device(s), %d per device.",
               config.dataset.name, config.dataset.split, len(data.images), image_shape,
               jax.device_count(), per_device)
  logging.info("Parameters: G %d, D %d.", state.count_params(g_state.params),
               state.count_params(d_state.params))
  key = builders.base_key(config.seed)
  if is_writer:
    checkpointing.check_free_space(workdir, {"g": g_state, "d": d_state})

  checkpointer = checkpointing.Checkpointer(workdir, config.keep_checkpoints)
  config_json = config.to_json()
  start_step = 0
  if checkpointer.latest_step() is not None:
    start_step, restored = resume.restore(checkpointer, config, g_state, d_state)
    g_state, d_state = restored["g"], restored["d"]
    logging.info("Resumed from %s at step %d.", checkpointer.directory, start_step)
  elif is_writer:
    with open(os.path.join(workdir, "config.json"), "w") as f:
      f.write(config_json)
  if is_writer:  # Records after the checkpoint (all, without one) are of steps redone now.
    metric_logging.truncate_metrics(workdir, start_step)

  batches = pipeline.StepBatches(
      data, seed=config.seed, global_batch_size=config.batch_size, n_critic=config.n_critic,
      process_index=jax.process_index(), local_device_count=jax.local_device_count(),
      global_device_count=jax.device_count())
  dispatcher = _Dispatcher(config, image_shape, batches)
  sample_fn = sample.jitted_sample(eval_pair.generator)
  num_classes = config.model.num_classes
  grid_z = builders.fixed_latents(config.seed, config.num_grid_samples, config.model.latent_dim)

  evaluator = None
  eval_key = eval_setup.eval_latents_key(config.seed)
  if config.eval.every_steps and is_writer:
    # Before compiling the step: a classifier trained here, or a bad weights file, shows up
    # now rather than after the first interval.
    evaluator = eval_setup.make_evaluator(config, data, workdir)
    logging.info("Evaluation every %d steps: %d samples, %s features (reference set in %.1f s).",
                 config.eval.every_steps, evaluator.num_samples, evaluator.extractor.name,
                 evaluator.reference_seconds)

  writer = metric_logging.MetricWriter(workdir, config.num_train_steps,
                                       config.batch_size * config.n_critic, enabled=is_writer)
  g_rep, d_rep = parallel.replicate(g_state), parallel.replicate(d_state)
  keys = parallel.replicate(key)
  step = start_step

  def save_samples(g_host) -> None:
    if not is_writer:
      return
    path = os.path.join(workdir, "samples", f"step_{step:07d}.png")
    title = f"{config.model.name}, step {step}"
    if num_classes:  # One row per class, the same latents in each row.
      per_class = max(1, min(10, config.num_grid_samples // num_classes))
      images, classes = sample.class_rows(eval_pair.generator, g_host.sampling_variables(),
                                          grid_z[:per_class])
      pictures.save_per_class_grid(images, classes, num_classes, path, per_class,
                                   title=f"{title} (rows: requested class)")
    else:
      images = np.asarray(sample_fn(g_host.sampling_variables(), grid_z))
      visualize.save_grid(images, path, title=title)

  def evaluate(g_host) -> None:
    generator = eval_pair.generator
    generate = sample.make_generate(generator, g_host.sampling_variables(),
                                    config.model.latent_dim, eval_key, config.eval.batch_size)
    classes = (lambda n: sample.requested_classes(generator, n)) if num_classes else None
    writer.write_eval(step, evaluator_lib.scalars(evaluator.evaluate_generator(generate,
                                                                               classes)))
    writer.start(step)  # Throughput excludes the evaluation's time.

  def save_checkpoint() -> None:
    host = jax.device_get(parallel.unreplicate({"g": g_rep, "d": d_rep}))
    bad = [name for name, tree in (("G", host["g"]), ("D", host["d"]))
           if not all(np.all(np.isfinite(x)) for x in jax.tree.leaves(tree))]
    if bad:
      raise NonFiniteError(f"Non-finite {' and '.join(bad)} state at step {step}; not saved "
                           "(the previous checkpoint is kept).")
    checkpointer.save(step, host, config_json, image_shape)

  skip_watch = None
  if config.on_nonfinite == "skip":
    skip_watch = _SkipWatch(start_step, int(d_state.extras[steps.SKIPPED_STEPS]))
  stop = preemption.StopRequest()
  stopped_by = None
  try:
    stop.install()
    while step < config.num_train_steps:
      n = dispatcher.size(step)
      g_rep, d_rep, metrics = dispatcher(g_rep, d_rep, keys, step, n)
      first_call = step == start_step
      step += n
      if first_call:  # Measure throughput from here: the first call compiles.
        jax.block_until_ready(metrics)
        writer.start(step)
      last = step == config.num_train_steps
      if step % config.log_every_steps == 0 or last:
        host_metrics = jax.device_get(parallel.unreplicate(metrics))
        if skip_watch is None:
          _check_finite(step, host_metrics)
        else:
          skip_watch.check(step, host_metrics)
        writer.write(step, host_metrics)
      if step % config.sample_every_steps == 0 or last:
        save_samples(parallel.unreplicate(g_rep))
      if evaluator is not None and (step % config.eval.every_steps == 0 or last):
        evaluate(parallel.unreplicate(g_rep))
      stop_now = not last and stop.should_stop(step)
      if step % config.checkpoint_every_steps == 0 or last or stop_now:
        save_checkpoint()
      if stop_now:
        stopped_by = stop.signal_name
        logging.warning("Stopped by %s after step %d; checkpoint saved in %s. Re-run the same "
                        "command to resume from it.", stopped_by, step, checkpointer.directory)
        break
  finally:
    stop.restore()
    writer.close()
    checkpointer.close()

  if is_writer:
    records = metric_logging.read_metrics(workdir)
    if records:
      visualize.save_curves(records, os.path.join(workdir, "curves.png"))
      visualize.save_eval_curves(records, os.path.join(workdir, "eval_curves.png"))
    frames = sorted(glob.glob(os.path.join(workdir, "samples", "step_*.png")))
    if frames:
      visualize.save_animation(frames, os.path.join(workdir, "samples.gif"))
  final = jax.device_get(parallel.unreplicate({"g": g_rep, "d": d_rep}))
  return {"step": step, "g_state": final["g"], "d_state": final["d"], "stopped_by": stopped_by}
