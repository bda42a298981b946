"""Evaluates a workdir's checkpoint: every metric, the floor/ceiling baselines, and pictures.

  python -m jaxgan.evaluate --workdir=DIR [--checkpoint=best] [--step=N] [--baselines]

Rebuilds the model and data from the config stored in the checkpoint (config.eval decides
the protocol: extractor, resize, sample size, reference set; the flags below and
--config.eval.FIELD=VALUE override it, e.g. --config.eval.protocol=fid50k_full), then writes
  WORKDIR/eval/step_XXXXXXX.json          the metrics (and baselines, timings)
  WORKDIR/eval/*_step_XXXXXXX.png         interpolations, per-class grid, class histogram,
                                          nearest real neighbours
  WORKDIR/eval/samples.gif                the fixed-noise sample grids over training
  WORKDIR/eval/eval_curves.png            metrics of the periodic evaluations, if any
and prints a table. With --baselines the same metrics are computed for real images disjoint
from the reference set (the floor: what a perfect generator scores at this sample size) and
for the untrained generator (the ceiling). Run from the repository root (the stored config is
completed with configs/default.py).
"""
from __future__ import annotations

import functools
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

import jax
import numpy as np
from absl import app, flags, logging

from jaxgan.core import errors, user_errors
from jaxgan.data import pipeline, sources
from jaxgan.evaluation import generation, pictures, records, setup
from jaxgan.evaluation import evaluator as evaluator_lib
from jaxgan.experiment import builders, config_overrides
from jaxgan.games.protocol import TranslatingGame
from jaxgan.models import sampling_options
from jaxgan.runtime import compilation_cache, library_logs, storage, visualize
from jaxgan.workdir import metric_logging, saved_run

FLAGS = flags.FLAGS

# The columns of the printed table, in order.
TABLE = (("fid", "FID", ".2f"), ("kid", "KID", ".4f"), ("precision", "precision", ".3f"),
         ("recall", "recall", ".3f"), ("density", "density", ".3f"),
         ("coverage", "coverage", ".3f"), ("is", "IS", ".2f"),
         ("classes_covered", "classes", "d"), ("class_kl", "class KL", ".4f"),
         ("class_accuracy", "class accuracy", ".3f"))


KID_STD_NOTE = ("KID ± is the spread over subsets; with num_samples <= kid_subset_size every "
                "subset is the whole set, so it is 0 by construction (*).")


def format_table(rows: Dict[str, Dict[str, Any]], kid_std_zero: bool = False) -> str:
  """Markdown table, one row per evaluated thing ({"generator": result, ...}); with
  `kid_std_zero` the KID spread is marked as 0 by construction (see KID_STD_NOTE)."""
  present = [c for c in TABLE if any(c[0] in r for r in rows.values())]
  lines = ["| | " + " | ".join(label for _, label, _ in present) + " |",
           "| --- |" + " --- |" * len(present)]
  for name, result in rows.items():
    cells = []
    for key, _, fmt in present:
      value = result.get(key)
      cell = "-" if value is None else format(int(value) if fmt == "d" else value, fmt)
      if key == "kid" and value is not None:
        cell += " ± 0 (*)" if kid_std_zero else f" ± {result['kid_std']:.4f}"
      cells.append(cell)
    lines.append(f"| {name} | " + " | ".join(cells) + " |")
  return "\n".join(lines)


def _json_ready(result: Dict[str, Any]) -> Dict[str, Any]:
  out = evaluator_lib.scalars(result)
  out = {k[len("eval_"):]: v for k, v in out.items()}
  if "class_histogram" in result:
    out["class_histogram"] = list(result["class_histogram"])
  return out


def save_pictures(run: saved_run.Run, result: Dict[str, Any], evaluator: evaluator_lib.Evaluator,
                  out_dir: str, workdir: str) -> List[str]:
  """The evaluation's pictures for one checkpoint; returns their paths."""
  tag = f"step_{run.step:07d}"
  name = f"{run.config.model.name}, step {run.step}"
  game = run.game
  generate = generation.jitted_generate(game)
  variables = run.sampling_variables()
  paths = [storage.join(out_dir, f"{kind}_{tag}.png") for kind in
           ("interpolation", "nearest_neighbours", "per_class", "class_histogram")]
  num_classes = game.num_classes
  if game.latent_dim:
    # A conditional G interpolates within one class (class 0).
    interpolate = lambda z: np.asarray(generate(variables, {"z": z, **(
        {"labels": generation.requested_classes(game, len(z), 0)} if num_classes else {})}))
    pictures.save_interpolations(interpolate, game.latent_dim, paths[0],
                                 title=name + (", class 0" if num_classes else ""))
  else:  # A game without latents has nothing to interpolate.
    paths.remove(paths[0])
  pictures.save_nearest_neighbours(result["images"], evaluator.reference_images, paths[1],
                                   title=f"{name}: nearest real images (pixel L2, of "
                                   f"{len(evaluator.reference_images)})")
  extractor = evaluator.extractor
  if extractor.has_classes and extractor.num_classes <= 50:
    pictures.save_per_class_grid(result["images"], result["predicted_classes"],
                                 extractor.num_classes, paths[2],
                                 title=f"{name}: samples by predicted class (count)")
  else:
    paths.remove(paths[2])
  if extractor.has_classes:
    pictures.save_class_histogram(
        result["class_histogram"], paths[-1], extractor.class_prior,
        title=f"{name}: {result['classes_covered']}/{extractor.num_classes} classes, "
        f"KL {result['class_kl']:.3f}")
  else:
    paths.remove(paths[-1])
  if num_classes:
    paths.append(storage.join(out_dir, f"requested_class_{tag}.png"))
    accuracy = result.get("class_accuracy")
    pictures.save_per_class_grid(
        result["images"], result["requested_classes"], num_classes, paths[-1],
        title=f"{name}: samples by requested class" + (
            "" if accuracy is None else f" (classifier agrees on {accuracy:.1%})"))
  frames = sorted(storage.glob(storage.join(workdir, "samples", "step_*.png")))
  if frames:
    paths.append(storage.join(out_dir, "samples.gif"))
    visualize.save_animation(frames, paths[-1])
  logged = metric_logging.read_metrics(workdir)
  if any("eval_fid" in r for r in logged):
    paths.append(storage.join(out_dir, "eval_curves.png"))
    title = visualize.run_title(workdir, run.experiment.description)
    visualize.save_eval_curves(logged, paths[-1], title=title)
  return paths


def evaluate_workdir(workdir: str, step: Optional[int] = None, baselines: bool = False,
                     overrides: Optional[Dict[str, Any]] = None, pictures_too: bool = True,
                     local_dir: Optional[str] = None, checkpoint: str = "latest",
                     sampling: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
  """Evaluates checkpoint `step` (default: latest) of `workdir`'s periodic checkpoints, or
  with checkpoint="best" of its best (WORKDIR/best); see the module docstring. `sampling`:
  the generator's sampling options (`sampling_options.requested`, e.g. StyleGAN2's
  truncation; None: the model's defaults), recorded with the protocol.

  Returns {"step", "generator": metrics, optionally "real_floor" and "untrained", "timings",
  "pictures"} and writes it to WORKDIR/eval/step_XXXXXXX.json.
  """
  run = saved_run.load_run(workdir, step, checkpoint)
  sampling = dict(sampling or {})
  sampling_options.check(sampling, run.game.sampling_options, run.config.model.name)
  if isinstance(run.game, TranslatingGame):
    raise errors.InvalidInputError(
        f"the run in {workdir!r} translates images (config.game.name="
        f"{run.config.game.name!r}): it is scored while training "
        "(config.eval.every_steps: eval_ab_* and eval_ba_* in metrics.jsonl), or "
        "translate its images with python -m jaxgan.translate and score those.")
  config = run.config
  with config.unlocked():
    for key, value in (overrides or {}).items():
      unknown = config_overrides.unknown_field(config, f"eval.{key}")
      if unknown:
        raise builders.ConfigError(unknown)
      try:
        config.eval[key] = value
      except TypeError as e:
        raise builders.ConfigError(f"config.eval.{key}={value!r}: {e}") from e
    if local_dir is not None:
      config.dataset.local_dir = local_dir
  builders.check_eval(config)
  settings = builders.settings_of(config)
  data = sources.from_spec(settings.dataset)
  start = time.perf_counter()
  evaluator = setup.make_evaluator(settings, data, sampling)
  logging.info("Feature space: %s; %d reference images.", evaluator.extractor.describe(),
               len(evaluator.reference_images))
  setup_seconds = time.perf_counter() - start
  eval_key = setup.eval_latents_key(settings.seed)
  game = run.game
  generate = generation.make_generate(game, run.sampling_variables(), eval_key,
                                      settings.eval.batch_size, options=sampling)
  classes = None
  if game.num_classes:
    classes = lambda n: generation.requested_classes(game, n)
  result = evaluator.evaluate_generator(generate, classes)
  report: Dict[str, Any] = {
      "workdir": storage.absolute(workdir), "step": run.step, "checkpoint": checkpoint,
      "time": records.now(), "source": "jaxgan.evaluate",
      "feature_extractor": evaluator.extractor.name,
      "feature_space": evaluator.extractor.describe(), "provenance": evaluator.provenance(),
      "protocol": evaluator.protocol.describe(
          f"{settings.dataset.name}/{settings.dataset.split}"),
      "kid_std_zero_by_construction": evaluator.kid_std_is_zero_by_construction,
      "num_samples": evaluator.num_samples, "generator": _json_ready(result),
      "timings": {"setup_seconds (classifier, reference features)": round(setup_seconds, 2),
                  **{k: round(result[k], 2) for k in ("generate_seconds", "features_seconds",
                                                      "metrics_seconds", "eval_seconds")}}}
  if baselines:
    real = evaluator.real_reference_split()
    if real is None and evaluator.reference_kind == "full":
      logging.warning("No floor: the reference is every real image, so no disjoint real set "
                      "is left to score.")
    elif real is None:
      logging.warning("Only %d real images: too few for a disjoint real set of %d; no floor.",
                      len(data.images), evaluator.num_samples)
    else:
      report["real_floor"] = _json_ready(evaluator.evaluate(pipeline.to_model_range(real)))
    untrained = run.experiment.init_states()[game.sampler]
    untrained_generate = generation.make_generate(game, untrained.variables(), eval_key,
                                                  settings.eval.batch_size, options=sampling)
    report["untrained"] = _json_ready(evaluator.evaluate(
        untrained_generate(evaluator.num_samples), None,
        None if classes is None else classes(evaluator.num_samples)))
  out_dir = records.eval_dir(workdir)
  if jax.process_index() == 0:
    if pictures_too:
      report["pictures"] = save_pictures(run, result, evaluator, out_dir, workdir)
    records.append(workdir, report)
    report = records.write_step_report(workdir, report)
  return report


def report_table(report: Dict[str, Any]) -> str:
  """The report's table, headed by its feature space and followed by its notes."""
  rows = {f"generator (step {report['step']})": report["generator"]}
  kept = " (kept from {})".format(report["baselines_from"]) \
      if report.get("baselines_from") else ""
  if "real_floor" in report:
    rows[f"real held-out images (floor){kept}"] = report["real_floor"]
  if "untrained" in report:
    rows[f"untrained generator (ceiling){kept}"] = report["untrained"]
  zero = report.get("kid_std_zero_by_construction", False)
  protocol = report.get("protocol", "")
  lines = [protocol[:1].upper() + protocol[1:],
           f"Feature space: {report['feature_space']}; {report['num_samples']} samples."
           if "feature_space" in report else "", format_table(rows, zero)]
  if zero:
    lines.append(KID_STD_NOTE)
  return "\n".join(line for line in lines if line)


def define_flags() -> None:
  compilation_cache.define_flag()
  flags.DEFINE_string("workdir", None, "The training run's workdir.")
  flags.DEFINE_integer("step", None, "Checkpoint step (default: the latest).")
  flags.DEFINE_enum("checkpoint", "latest", list(saved_run.CHECKPOINTS), "latest: the periodic "
                    "checkpoints; best: WORKDIR/best (config.eval.best_metric).")
  flags.DEFINE_boolean("baselines", False, "Also evaluate real held-out images (floor) and "
                       "the untrained generator (ceiling).")
  flags.DEFINE_boolean("pictures", True, "Write the evaluation pictures.")
  flags.DEFINE_integer("num_samples", None, "Overrides config.eval.num_samples.")
  flags.DEFINE_string("feature_extractor", None, "Overrides config.eval.feature_extractor.")
  flags.DEFINE_string("inception_weights", None, "Overrides config.eval.inception_weights.")
  flags.DEFINE_string("classifier_dir", None, "Overrides config.eval.classifier_dir.")
  flags.DEFINE_integer("classifier_steps", None, "Overrides config.eval.classifier_steps.")
  flags.DEFINE_string("local_dir", None, "Overrides config.dataset.local_dir (data moved).")
  sampling_options.define_flags()
  flags.adopt_module_key_flags(sampling_options)  # Listed by --help, as this command's.


# Settings also accepted under their config names: --config.eval.FIELD=V (any field of
# config.eval) and --config.dataset.local_dir=DIR, as jaxgan.main spells them.
_CONFIG_PREFIX = "--config."


def split_config_style_flags(argv: List[str]) -> Tuple[List[str], Dict[str, Any],
                                                       Optional[str]]:
  """(argv without them, {eval field: value}, local_dir or None) of the --config.* flags."""
  rest, overrides, local_dir = [], {}, None
  for arg in argv:
    if not arg.startswith(_CONFIG_PREFIX):
      rest.append(arg)
      continue
    path, has_value, raw = arg[len(_CONFIG_PREFIX):].partition("=")
    if not has_value:
      raise app.UsageError(f"{arg}: write it as {arg}=VALUE.")
    if path == "dataset.local_dir":
      local_dir = raw
    elif path.startswith("eval.") and path.count(".") == 1:
      overrides[path[len("eval."):]] = config_overrides.parse_value(raw)
    else:
      raise app.UsageError(f"{arg}: jaxgan.evaluate takes --config.eval.FIELD and "
                           "--config.dataset.local_dir (the run's other settings are its own).")
  return rest, overrides, local_dir


def main(argv, config_style: Optional[Dict[str, Any]] = None,
         config_local_dir: Optional[str] = None) -> None:
  """The command; `config_style`, `config_local_dir`: what `split_config_style_flags` took
  out of argv (the named flags below win over them)."""
  del argv
  compilation_cache.enable(FLAGS.compilation_cache)
  if not FLAGS.workdir:
    raise app.UsageError("--workdir is required.")
  overrides = dict(config_style or {})
  overrides.update({name: getattr(FLAGS, name) for name in
                    ("num_samples", "feature_extractor", "inception_weights", "classifier_dir",
                     "classifier_steps")
                    if getattr(FLAGS, name) is not None})
  local_dir = FLAGS.local_dir if FLAGS.local_dir is not None else config_local_dir
  sampling = user_errors.run_reporting(sampling_options.requested, FLAGS.truncation_psi,
                                       FLAGS.truncation_cutoff, FLAGS.noise_mode)
  report = user_errors.run_reporting(evaluate_workdir, FLAGS.workdir, FLAGS.step,
                                     FLAGS.baselines, overrides, FLAGS.pictures, local_dir,
                                     FLAGS.checkpoint, sampling)
  print(f"{report['workdir']}, step {report['step']}: {report['num_samples']} samples, "
        f"{report['feature_extractor']} features")
  print(report_table(report))
  print("seconds: " + ", ".join(f"{k} {v}" for k, v in report["timings"].items()))
  for path in report.get("pictures", []):
    print("wrote", path)


if __name__ == "__main__":
  library_logs.quiet()
  define_flags()
  try:
    sys.argv[1:], style_overrides, style_local_dir = split_config_style_flags(sys.argv[1:])
  except app.UsageError as error:
    sys.exit(f"UsageError: {error}")
  app.run(functools.partial(main, config_style=style_overrides,
                            config_local_dir=style_local_dir))
