"""What a training run writes besides metrics: sample grids, evaluations, checkpoints, and
the pictures made at the end (curves, the animation). The loop in `jaxgan.train` decides
when; this says how. Only process 0 draws and evaluates; every process checkpoints (orbax).
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import jax
import numpy as np

from jaxgan.core import errors, random_streams, state
from jaxgan.data import domains, pipeline
from jaxgan.evaluation import generation, pictures, records, translation
from jaxgan.evaluation import evaluator as evaluator_lib
from jaxgan.evaluation import setup as eval_setup
from jaxgan.experiment import builders
from jaxgan.games import protocol
from jaxgan.games.protocol import TranslatingGame
from jaxgan.runtime import parallel, storage, visualize
from jaxgan.workdir import checkpointing, metric_logging


MILESTONE_ROWS = 8  # latents per column of milestones.png


class NonFiniteError(errors.UserError, FloatingPointError):
  """Training produced NaN or Inf; the message names the step and the quantities."""


class RunArtefacts:
  """Writes a run's grids, evaluations and checkpoints from the (replicated) states.

  Args:
    experiment: the run's experiment.
    workdir: the run's directory.
    checkpointer: its checkpoints' manager.
    writer: the metric writer (evaluations are logged through it).
    evaluator: the periodic evaluator (None: no evaluation, or not process 0).
  """

  def __init__(self, experiment: builders.Experiment, workdir: str,
               checkpointer: checkpointing.Checkpointer, writer: metric_logging.MetricWriter,
               evaluator: Optional[Any], examples: Optional[Dict[str, Any]] = None):
    """examples: a translating game's grid inputs and what they are (`grid_examples`)."""
    self.experiment, self.workdir = experiment, workdir
    self.checkpointer, self.writer, self.evaluator = checkpointer, writer, evaluator
    self.is_writer = jax.process_index() == 0
    self._config_json = experiment.config_json
    settings = experiment.settings
    game = experiment.game
    # The grid's inputs are fixed for the whole run; the evaluation's latents too.
    self._grid_source = ""
    if isinstance(game, TranslatingGame):
      self._grid_inputs = game.grid_inputs(examples["images"], settings.num_grid_samples)
      self._grid_source = examples["source"]
    else:
      grid_key = random_streams.run_key(settings.seed, random_streams.GRID_LATENTS)
      self._grid_inputs = game.sample_inputs(grid_key, settings.num_grid_samples)
    self._eval_key = eval_setup.eval_latents_key(settings.seed)
    self.title = visualize.run_title(workdir, experiment.description)

  def real_grid(self, images: np.ndarray) -> None:
    """WORKDIR/samples/real.png: the first num_grid_samples real images, beside which the
    sample grids are read (written once; also to TensorBoard at step 0)."""
    path = storage.join(self.workdir, "samples", "real.png")
    if not self.is_writer or storage.exists(path) or images.ndim != 4:
      return
    settings = self.experiment.settings
    real = pipeline.to_model_range(images[:settings.num_grid_samples])
    run_name = storage.basename(self.workdir)
    visualize.save_grid(real, path, title=f"{run_name}: real images "
                        f"({settings.dataset.name}/{settings.dataset.split})")
    self.writer.image("samples/real", visualize.tile(visualize.to_uint8(real)), 0)

  def _sampling_variables(self, replicated: Dict[str, Any]) -> Any:
    sampler = self.experiment.game.sampler
    return parallel.unreplicate(replicated[sampler]).sampling_variables()

  def sample_grid(self, step: int, replicated: Dict[str, Any]) -> None:
    """WORKDIR/samples/step_XXXXXXX.png from the fixed grid inputs (a conditional game: one
    row per class, the same inputs in each row)."""
    if not self.is_writer:
      return
    game, settings = self.experiment.game, self.experiment.settings
    variables = self._sampling_variables(replicated)
    path = storage.join(self.workdir, "samples", f"step_{step:07d}.png")
    title = f"{self.title}, step {step}"
    if isinstance(game, TranslatingGame):
      images, columns = game.grid(variables, self._grid_inputs)
      visualize.save_grid(images, path, columns=columns,
                          title=f"{title}\nA | G(A) | F(G(A)) | B | F(B) | G(F(B)) "
                          f"({self._grid_source})")
    elif game.num_classes:
      per_class = max(1, min(10, settings.num_grid_samples // game.num_classes))
      rows = {name: x[:per_class] for name, x in self._grid_inputs.items() if x is not None}
      images, classes = generation.class_rows(game, variables, rows)
      pictures.save_per_class_grid(images, classes, game.num_classes, path, per_class,
                                   title=f"{title} (rows: requested class)")
    else:
      images = np.asarray(generation.jitted_generate(game)(variables, self._grid_inputs))
      visualize.save_grid(images, path, title=title)
    self.writer.image("samples/generated", visualize.tile(visualize.to_uint8(images)), step)

  def milestone(self, step: int, label: str, replicated: Dict[str, Any]) -> None:
    """Keeps the first MILESTONE_ROWS grid latents' samples after `step` (a game's
    milestone, e.g. the end of a resolution) in WORKDIR/samples/milestones/, for the
    milestones picture the run draws at the end (kept on disk: a resumed run draws them
    all)."""
    if not self.is_writer:
      return
    game = self.experiment.game
    inputs = {name: x[:MILESTONE_ROWS] for name, x in self._grid_inputs.items()
              if x is not None}
    images = generation.jitted_generate(game)(self._sampling_variables(replicated), inputs)
    path = storage.join(self.workdir, "samples", "milestones", f"step_{step:07d}.npz")
    storage.make_parent(path)
    storage.save_npz(path, images=visualize.to_uint8(np.asarray(images)), label=label)

  def _milestones_picture(self) -> None:
    """WORKDIR/milestones.png: this run's milestones side by side (one fixed latent per
    row, one milestone per column, in step order). A file kept by a shorter run that was
    resumed (its end was a milestone then) is left out."""
    columns = []
    milestones = protocol.growth_of(self.experiment.game).milestones(
        self.experiment.settings.num_train_steps)
    for step, label in sorted(milestones.items()):
      path = storage.join(self.workdir, "samples", "milestones", f"step_{step:07d}.npz")
      if storage.isfile(path):
        columns.append((f"{label}\nstep {step}", storage.load_npz(path)["images"]))
    if not columns:
      return
    visualize.save_columns(columns, storage.join(self.workdir, "milestones.png"),
                           title=f"{self.title}: the same latents at each milestone")

  def evaluate(self, step: int, replicated: Dict[str, Any]) -> Dict[str, float]:
    """Scores the sampler with the run's evaluator; logged as eval_* records, and returned
    ({"eval_fid": ..., ...})."""
    game = self.experiment.game
    variables = self._sampling_variables(replicated)
    if isinstance(game, TranslatingGame):
      scalars = {f"eval_{name}": value for name, value in self.evaluator.evaluate(
          translation.translator(game, variables)).items()}
    else:
      generate = generation.make_generate(game, variables, self._eval_key,
                                          self.experiment.settings.eval.batch_size)
      classes = (lambda n: generation.requested_classes(game, n)) if game.num_classes else None
      scalars = evaluator_lib.scalars(self.evaluator.evaluate_generator(generate, classes))
    provenance = self.evaluator.provenance()
    extractor = provenance["feature_extractor"]
    if "steps" in extractor:  # The classifier's: in every record, beside the numbers.
      scalars["eval_classifier_steps"] = extractor["steps"]
      scalars["eval_classifier_holdout_accuracy"] = extractor["holdout_accuracy"]
    self.writer.write_eval(step, scalars, self.evaluator.extractor.describe())
    records.append(self.workdir, {
        "time": records.now(), "source": "training", "step": step, "provenance": provenance,
        "generator": {k[len("eval_"):]: v for k, v in scalars.items()}})
    self.writer.start(step)  # Throughput excludes the evaluation's time.
    return scalars

  def _finite_host_state(self, step: int, replicated: Dict[str, Any]) -> Dict[str, Any]:
    """Host copies of the states, refused (NonFiniteError) if a player's is not finite."""
    host = jax.device_get(parallel.unreplicate(replicated))
    bad = [name.upper() for name in self.experiment.game.players
           if not all(np.all(np.isfinite(x)) for x in jax.tree.leaves(host[name]))]
    if bad:
      raise NonFiniteError(f"Non-finite {' and '.join(bad)} state at step {step}; not saved "
                           "(the previous checkpoint is kept).")
    return host

  def checkpoint(self, step: int, replicated: Dict[str, Any]) -> None:
    """Checkpoint `step`, refused (NonFiniteError) if a player's state is not finite."""
    self.checkpointer.save(step, self._finite_host_state(step, replicated), self._config_json,
                           self.experiment.image_shape)

  def keep_if_best(self, best: Any, step: int, scalars: Optional[Dict[str, float]],
                   replicated: Dict[str, Any]) -> None:
    """Saves the states to WORKDIR/best when the evaluation's `scalars` (None on processes
    other than 0) beat the best so far (`best`: a best_checkpoint.BestCheckpoint)."""
    best.consider(step, scalars, lambda: self._finite_host_state(step, replicated),
                  self._config_json, self.experiment.image_shape)

  def finish(self) -> None:
    """curves.png, eval_curves.png and samples.gif from what the run wrote."""
    if not self.is_writer:
      return
    records = metric_logging.read_metrics(self.workdir)
    if records:
      visualize.save_curves(records, storage.join(self.workdir, "curves.png"),
                            title=self.title)
      visualize.save_eval_curves(records, storage.join(self.workdir, "eval_curves.png"),
                                 title=self.title)
    self._milestones_picture()
    frames = sorted(storage.glob(storage.join(self.workdir, "samples", "step_*.png")))
    if frames:
      visualize.save_animation(frames, storage.join(self.workdir, "samples.gif"))


def grid_examples(data: Any, n: int) -> Optional[Dict[str, Any]]:
  """For two domains (jaxgan.data.domains.DomainPair): {"images": the first n held-out images
  of each domain {"a": ..., "b": ...} in [-1, 1] (a translating game's grid inputs),
  "source": what they are (`DomainPair.held_out_source`)}; None for other data."""
  if not isinstance(data, domains.DomainPair):
    return None
  return {"images": {name: pipeline.to_model_range(data.held_out(name).images[:n])
                     for name in "ab"},
          "source": data.held_out_source()}


def players_of(host: Dict[str, Any]) -> Dict[str, Any]:
  """{name}_state -> host state, for every player (without the run state)."""
  return {f"{name}_state": value for name, value in host.items() if name != state.RUN}
