"""`train_and_evaluate(config, workdir)`: the one outer training loop, for every game.

  setup:   resolve the config (failing before data loading on a bad one), take the workdir's
           lease (jaxgan.workdir.workdir_lease: one run per workdir), load the data, build the
           experiment, restore the workdir's latest checkpoint or initialise;
  loop:    dispatch steps, and between them log, draw sample grids, evaluate, checkpoint,
           stop on a signal (the states pass through it explicitly);
  finish:  the curves and the animation.
Outputs under WORKDIR: checkpoints/, config.json and config_history.jsonl
(jaxgan.workdir.run_history), samples/real.png, samples/step_XXXXXXX.png, samples.gif,
metrics.jsonl, tensorboard/, curves.png, and with config.eval.every_steps > 0 evaluation records
(eval_*) in metrics.jsonl and TensorBoard, eval/history.jsonl and eval_curves.png; with
config.eval.best_metric also best/ (jaxgan.workdir.best_checkpoint).
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Dict, Hashable, Optional, Tuple

import jax
import ml_collections
import numpy as np
from absl import logging

from jaxgan.core import random_streams, run_settings, state
from jaxgan.data import domains, pipeline, prefetch, sources
from jaxgan.evaluation import setup as eval_setup
from jaxgan.experiment import builders, learning_rates
from jaxgan.games import protocol
from jaxgan.games.common import SKIPPED_STEPS
from jaxgan.runtime import parallel
from jaxgan.workdir import (artefacts, best_checkpoint, checkpointing, metric_logging, preemption,
                            resume, run_history, workdir_lease)
from jaxgan.workdir.artefacts import NonFiniteError  # noqa: F401  (jaxgan.train.NonFiniteError)


class _Dispatcher:
  """Runs the loop's steps config.steps_per_dispatch (k) at a time.

  A dispatch of k steps starts only at a multiple of k and ends within num_train_steps and
  within one game program (a growth phase); other steps (after resuming from a step that is
  not a multiple, at the end, at a program's edges) run one per call. One compiled step per
  (game program, steps per call), built on first use.
  """

  def __init__(self, experiment: builders.Experiment, batches: pipeline.StepBatches):
    self._experiment, self._batches = experiment, batches
    self._compiled: Dict[Tuple[Hashable, int], Any] = {}
    self._prefetch = prefetch.Prefetcher(self._device_batch,
                                         experiment.settings.dataset.prefetch)

  def _device_batch(self, step: int, n: int) -> Any:
    """The batch of the call of n steps from `step`, on this process's devices."""
    batch = self._batches.batch(step) if n == 1 else self._batches.consecutive(step, n)
    return parallel.shard(batch)

  def _upcoming(self, step: int) -> list:
    """The calls after the one ending before `step`, as far as prefetching looks."""
    settings = self._experiment.settings
    calls, limit = [], settings.num_train_steps
    while step < limit and len(calls) < settings.dataset.prefetch:
      calls.append((step, self.size(step)))
      step += calls[-1][1]
    return calls

  def close(self) -> None:
    self._prefetch.close()

  def size(self, step: int) -> int:
    """How many steps the next call runs, when `step` steps are done."""
    settings = self._experiment.settings
    k = settings.steps_per_dispatch
    if k == 1 or step % k or step + k > settings.num_train_steps:
      return 1
    growth = protocol.growth_of(self._experiment.game)
    return k if growth.program(step) == growth.program(step + k - 1) else 1

  def __call__(self, replicated: Dict[str, Any], keys: Any, step: int, n: int):
    program = (protocol.growth_of(self._experiment.game).program(step), n)
    if program not in self._compiled:
      self._compiled[program] = self._experiment.pmapped_step(steps_per_call=n,
                                                              program=program[0])
    batch = self._prefetch.get((step, n), self._upcoming(step + n))
    return self._compiled[program](replicated, batch, keys)


def load_data(resolved: builders.Resolved) -> Any:
  """The run's data: an ImageData, or for an image-to-image game (cyclegan) the two domains
  (jaxgan.data.domains.DomainPair)."""
  if protocol.translates(resolved.game_factory):
    return domains.load(resolved.settings.dataset)
  return sources.from_spec(resolved.settings.dataset)


def make_batches(settings: run_settings.RunSettings, data: Any, game: Any) -> Any:
  """The run's batches by step (this process's rows): pipeline.StepBatches, or for two
  domains domains.DomainBatches."""
  layout = dict(seed=settings.seed, global_batch_size=settings.batch_size,
                process_index=jax.process_index(), local_device_count=jax.local_device_count(),
                global_device_count=jax.device_count(),
                random_crop=settings.dataset.random_crop,
                random_flip=settings.dataset.random_flip)
  if isinstance(data, domains.DomainPair):
    return domains.DomainBatches(data, **layout)
  return pipeline.StepBatches(data, n_critic=game.real_batches_per_step,
                              plan=protocol.growth_of(game).batch_at, **layout)


def _non_finite_names(tree: Dict[str, Any]) -> list:
  return [name for name, value in tree.items() if not np.all(np.isfinite(value))]


class _SkipWatch:
  """With config.on_nonfinite="skip": reports skipped steps at each log, and stops the run
  when every step since the previous log was skipped (the run is no longer training)."""

  def __init__(self, step: int, skipped: int):
    self.step, self.skipped = step, skipped

  def check(self, step: int, metrics: Dict[str, float]) -> None:
    skipped = int(metrics[SKIPPED_STEPS])
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


@dataclasses.dataclass
class _Run:
  """What the loop needs, set up once."""
  experiment: builders.Experiment
  workdir: str
  start_step: int
  dispatcher: _Dispatcher
  writer: metric_logging.MetricWriter
  artefacts: artefacts.RunArtefacts
  checkpointer: checkpointing.Checkpointer
  best: Optional[best_checkpoint.BestCheckpoint]  # None without config.eval.best_metric
  lease: Optional[workdir_lease.Lease]  # None on processes other than 0
  learning_rates: Dict[str, Any]  # {player: rate or schedule}, logged at each log step


def _check_before_writing(config: ml_collections.ConfigDict, workdir: str
                          ) -> builders.Resolved:
  """What fails before the run touches the workdir: the config, the batch's split over the
  devices, a workdir that cannot be written."""
  resolved = builders.resolve(config)
  settings = resolved.settings
  if settings.steps_per_dispatch > 1 and jax.default_backend() == "cpu":
    logging.warning("config.steps_per_dispatch=%d on the CPU: XLA:CPU runs a scanned loop "
                    "body slower, convolutions far slower (batch 64: seed DCGAN 261 images/s "
                    "with 1, 18 with 4; MLP GAN 3,304 with 1, 2,490 with 10; "
                    "docs/performance.md). Use 1 on the CPU.",
                    settings.steps_per_dispatch)
  per_device = parallel.per_device_batch_size(settings.batch_size)
  builders.check_batch_groups(config, resolved, per_device)
  if jax.process_index() == 0:
    checkpointing.check_writable(workdir)
  return resolved


def _setup(config: ml_collections.ConfigDict, workdir: str, resolved: builders.Resolved,
           lease: Optional[workdir_lease.Lease]) -> Tuple[_Run, Dict[str, Any]]:
  """Everything after the lease, before the first step; returns the run and its (host)
  states."""
  settings = resolved.settings
  per_device = parallel.per_device_batch_size(settings.batch_size)
  is_writer = jax.process_index() == 0
  data = load_data(resolved)
  builders.check_labels(config, data.num_classes, data.labels is not None)
  image_shape = pipeline.output_shape(data.image_shape, settings.dataset.random_crop)
  experiment = builders.build(config, image_shape, resolved)
  game = experiment.game
  states = experiment.init_states()
  logging.info("Data: %s/%s, %s; %d device(s), %d per device.", settings.dataset.name,
               settings.dataset.split, data.describe(), jax.device_count(), per_device)
  logging.info("Parameters: %s.", ", ".join(
      f"{name.upper()} {state.count_params(states[name].params)}" for name in game.players))
  if is_writer:
    checkpointing.check_free_space(workdir, states)

  checkpointer = checkpointing.Checkpointer(workdir, settings.keep_checkpoints)
  start_step, checkpoint_config = 0, None
  if checkpointer.latest_step() is not None:
    start_step, states, checkpoint_config = resume.restore(checkpointer, config, states)
    logging.info("Resumed from %s at step %d.", checkpointer.directory, start_step)
  best = (best_checkpoint.BestCheckpoint(workdir, settings.eval)
          if settings.eval.best_metric else None)
  if is_writer:  # Records after the checkpoint (all, without one) are of steps redone now.
    run_history.record_start(workdir, config, start_step, checkpoint_config)
    metric_logging.truncate_metrics(workdir, start_step)

  batches = make_batches(settings, data, game)
  # Trained on random crops: the grids and the evaluation see the centred crop of that side.
  data = domains.centre_cropped(data, settings.dataset.random_crop)
  evaluator = None
  if settings.eval.every_steps and is_writer:
    # Before compiling the step: a bad weights file or a saved classifier that does not fit
    # the config fails now; training a classifier and the reference set's features wait for
    # the first evaluation (eval_setup.DeferredEvaluator), so the first steps start at once.
    evaluator = eval_setup.make_evaluator(settings, data)
    logging.info("Evaluation every %d steps; set up at the first evaluation: %s.",
                 settings.eval.every_steps, evaluator.plan)
  writer = metric_logging.MetricWriter(workdir, settings.num_train_steps,
                                       lambda step: batches.layout(step)[0], enabled=is_writer)
  outputs = artefacts.RunArtefacts(experiment, workdir, checkpointer, writer, evaluator,
                                   artefacts.grid_examples(data, settings.num_grid_samples))
  outputs.real_grid(data.images)
  schedules = learning_rates.schedules(config, game.players)
  run = _Run(experiment, workdir, start_step, _Dispatcher(experiment, batches), writer, outputs,
             checkpointer, best, lease, schedules)
  return run, states


def _loop(run: _Run, states: Dict[str, Any]) -> Tuple[Dict[str, Any], int, Optional[str]]:
  """Trains from run.start_step to config.num_train_steps (or a stop signal); returns the
  replicated states, the step reached and the signal's name (None: finished)."""
  settings = run.experiment.settings
  replicated = parallel.replicate(states)
  keys = parallel.replicate(random_streams.base_key(settings.seed))
  step = run.start_step
  skip_watch = None
  if run.experiment.skip_nonfinite:
    skip_watch = _SkipWatch(step, int(states[state.RUN].skipped_steps))
  stop = preemption.StopRequest()
  multi_process = jax.process_count() > 1
  milestones = protocol.growth_of(run.experiment.game).milestones(settings.num_train_steps)
  stop.install()
  try:
    while step < settings.num_train_steps:
      n = run.dispatcher.size(step)
      first_call = step == run.start_step
      call_started = time.perf_counter()
      replicated, metrics = run.dispatcher(replicated, keys, step, n)
      step += n
      if first_call:  # Measure throughput from here: the first call compiles.
        jax.block_until_ready(metrics)
        logging.info("First call of the step: %.1f s (compiling it, or reading it from the "
                     "compilation cache, and running %d step(s)).",
                     time.perf_counter() - call_started, n)
        run.writer.start(step)
      last = step == settings.num_train_steps
      if step % settings.log_every_steps == 0 or last:
        host_metrics = jax.device_get(parallel.unreplicate(metrics))
        host_metrics.update(learning_rates.logged_rates(run.learning_rates, parallel.unreplicate(
            {name: replicated[name].step for name in run.learning_rates})))
        if skip_watch is None:
          _check_finite(step, host_metrics)
        else:
          skip_watch.check(step, host_metrics)
        run.writer.write(step, host_metrics)
      if step % settings.sample_every_steps == 0 or last:
        run.artefacts.sample_grid(step, replicated)
      if step in milestones:
        run.artefacts.milestone(step, milestones[step], replicated)
      if settings.eval.every_steps and (step % settings.eval.every_steps == 0 or last):
        scalars = None  # Process 0 evaluates; the best checkpoint is written by all.
        if run.artefacts.evaluator is not None:
          scalars = run.artefacts.evaluate(step, replicated)
        if run.best is not None:
          run.artefacts.keep_if_best(run.best, step, scalars, replicated)
      stop_now = not last and stop.should_stop(step)
      save = step % settings.checkpoint_every_steps == 0 or last or stop_now
      if save or not multi_process:  # One process: every step (a flag read); several: a
        # collective, so only where all processes meet anyway (checkpoints).
        workdir_lease.check_run_lease(run.lease)
      if save:
        run.artefacts.checkpoint(step, replicated)
      if stop_now:
        logging.warning("Stopped by %s after step %d; checkpoint saved in %s. Re-run the same "
                        "command to resume from it.", stop.signal_name, step,
                        run.checkpointer.directory)
        return replicated, step, stop.signal_name
    return replicated, step, None
  finally:
    stop.restore()


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> Dict[str, Any]:
  """Trains the game described by `config`, writing everything under `workdir`.

  Returns:
    {"step": final step, "states": {player: ..., "run": ...}, "<player>_state": ... for each
    player (e.g. "g_state", "d_state"), "stopped_by": signal name or None} (host copies).
  """
  resolved = _check_before_writing(config, workdir)
  # Before anything else is written: a second run on this workdir stops here.
  lease = workdir_lease.take_for_run(workdir, resolved.settings.lease_timeout_seconds,
                                     resolved.settings.take_over_workdir)
  try:
    run, states = _setup(config, workdir, resolved, lease)
    try:
      replicated, step, stopped_by = _loop(run, states)
    finally:
      run.dispatcher.close()
      run.writer.close()
      run.checkpointer.close()
      if run.best is not None:
        run.best.close()
    run.artefacts.finish()
  finally:
    if lease is not None:
      lease.release()
  final = jax.device_get(parallel.unreplicate(replicated))
  return {"step": step, "states": final, **artefacts.players_of(final),
          "stopped_by": stopped_by}
