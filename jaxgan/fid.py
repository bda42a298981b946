"""FID and its companions for any two image sets: python -m jaxgan.fid A B [--protocol=...].

  python -m jaxgan.fid real_images/ generated_images/
  python -m jaxgan.fid data:cifar10/train runs/dcgan --protocol=clean_fid50k_full
  python -m jaxgan.fid data:mnist/train --save_stats=mnist_train.npz   (statistics, once)
  python -m jaxgan.fid mnist_train.npz samples.npz

A and B are each a folder of PNG/JPEG images, an .npz of `images` (python -m jaxgan.sample),
statistics saved by --save_stats, data:NAME/SPLIT (a dataset split as training reads it;
--local_dir, --data_dir as in the config), or a workdir (its generator sampled: the
protocol's sample count, or --num_samples, from its latest or --checkpoint=best checkpoint,
with the latents of its periodic evaluation; --truncation_psi, --truncation_cutoff and
--noise_mode as in jaxgan.sample, said in the protocol line). A is the reference: B's
precision is the share of B inside A's manifold, and its recall the share of A inside B's.

Prints one table headed by the protocol line: FID, KID ± its spread over subsets,
precision/recall (Kynkaanniemi et al., k=3), density/coverage (Naeem et al., k=5) and B's
Inception Score. These precision/recall use the protocol's Inception pool features, so they
are not StyleGAN2-ADA's pr50k3 (VGG16 features).

The protocols are those of jaxgan.evaluation.protocols (default fid50k_full: TensorFlow's
resize, as StyleGAN2-ADA's and TTUR's published FIDs); their sample count applies to a workdir
only: folders, files and splits are used whole. The Inception weights are pytorch-fid's,
fetched and verified on first use (--inception_weights: a converted file of your own).
`jaxgan.evaluate` is the other front door to the same library: a run's checkpoint under its
config's protocol, recorded in the workdir.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, Dict, List, Optional

import numpy as np
from absl import app, flags, logging

from jaxgan.core import errors, user_errors
from jaxgan.evaluation import evaluator, features, generation, image_sets, metrics, protocols
from jaxgan.evaluation import setup as eval_setup
from jaxgan.models import sampling_options
from jaxgan.runtime import compilation_cache, library_logs, visualize
from jaxgan.workdir import saved_run

FLAGS = flags.FLAGS


def define_flags() -> None:
  compilation_cache.define_flag()
  flags.DEFINE_enum("protocol", "fid50k_full", list(protocols.PRESETS),
                    "The protocol: Inception's resize, and a workdir's sample count.")
  flags.DEFINE_string("inception_weights", "", "A converted .npz of your own (default: "
                      "pytorch-fid's weights, fetched and verified on first use).")
  flags.DEFINE_string("save_stats", None, "Also write A's features to this .npz, to pass "
                      "instead of A later.")
  flags.DEFINE_integer("num_samples", None, "Images sampled from a workdir (default: the "
                       "protocol's; another number is said in the protocol line).")
  flags.DEFINE_enum("checkpoint", "latest", list(saved_run.CHECKPOINTS), "A workdir's "
                    "checkpoint.")
  flags.DEFINE_string("local_dir", None, "data:NAME/SPLIT's files (config.dataset.local_dir).")
  flags.DEFINE_string("data_dir", None, "data:NAME/SPLIT's tfds folder (config.dataset."
                      "data_dir).")
  flags.DEFINE_integer("batch_size", 50, "Images per Inception call.")
  flags.DEFINE_integer("kid_subsets", 100, "KID: subsets.")
  flags.DEFINE_integer("kid_subset_size", 1000, "KID: images per subset.")
  sampling_options.define_flags()  # A workdir's sampling (recorded in the protocol line).
  flags.adopt_module_key_flags(sampling_options)


def protocol_of(name: str, num_samples: Optional[int]) -> protocols.Protocol:
  """The named preset, or (another sample count) the same with its count in its name."""
  preset = protocols.PRESETS[name]
  if num_samples is None or num_samples == preset.num_samples:
    return preset
  if num_samples < 1:
    raise errors.InvalidInputError(f"--num_samples must be >= 1; got {num_samples}.")
  return dataclasses.replace(preset, name=f"{name} with {num_samples:,} samples (not "
                             f"comparable with {name}'s numbers)", num_samples=num_samples)


def _workdir_set(workdir: str, extractor: Any, protocol: protocols.Protocol,
                 record: Dict[str, Any], checkpoint: str) -> image_sets.FeatureSet:
  """A workdir's generator, sampled as its periodic evaluation samples (its EMA weights, its
  evaluation latents; the sampling options of `record`), protocol.num_samples images
  extracted chunk by chunk."""
  run = saved_run.load_run(workdir, None, checkpoint)
  game = run.game
  sampling_options.check(record["sampling"], game.sampling_options, run.config.model.name)
  generate = generation.make_generate(game, run.sampling_variables(),
                                      eval_setup.eval_latents_key(run.config.seed),
                                      run.config.eval.batch_size, options=record["sampling"])
  n = protocol.num_samples
  pixels = _GeneratedPixels(generate, n)
  return image_sets.features_of_images(pixels, extractor, record,
                                       f"workdir {workdir} (step {run.step})")


class _GeneratedPixels:
  """A generator's first n samples as uint8 pixels, made only when sliced (chunk by chunk)."""

  def __init__(self, generate, n: int):
    self.generate, self.n = generate, n

  def __len__(self) -> int:
    return self.n

  def __getitem__(self, rows: slice) -> np.ndarray:
    start, stop, _ = rows.indices(self.n)
    return visualize.to_uint8(self.generate(max(stop - start, 0), start=start))


def score(a: image_sets.FeatureSet, b: image_sets.FeatureSet, kid_subsets: int = 100,
          kid_subset_size: int = 1000) -> Dict[str, Any]:
  """The metrics of B against A (module docstring)."""
  result = evaluator.compare_features(a.features, b.features, kid_subsets=kid_subsets,
                                      kid_subset_size=kid_subset_size)
  if b.probs is not None:
    inception_score = metrics.inception_score(b.probs, num_splits=min(10, len(b.probs)))
    result["is"], result["is_std"] = inception_score["mean"], inception_score["std"]
  return result


def report(protocol: protocols.Protocol, extractor: Any, a: image_sets.FeatureSet,
           b: image_sets.FeatureSet, result: Dict[str, Any]) -> str:
  """The printed table, headed by the protocol line and the two sets."""
  rows = [("FID", f"{result['fid']:.4f}"),
          ("KID", f"{result['kid']:.6f} ± {result['kid_std']:.6f}"),
          ("precision", f"{result['precision']:.4f}"), ("recall", f"{result['recall']:.4f}"),
          ("density", f"{result['density']:.4f}"), ("coverage", f"{result['coverage']:.4f}")]
  if "is" in result:
    rows.append(("Inception Score (B)", f"{result['is']:.3f} ± {result['is_std']:.3f}"))
  sampling = a.protocol.get("sampling") or b.protocol.get("sampling")
  sampled = f" sampled with {sampling}" if sampling else ""
  return "\n".join([
      f"Protocol {protocol.name}: {extractor.describe()}; a workdir gives "
      f"{protocol.num_samples:,} samples{sampled}, other sets are used whole.",
      f"A (reference): {a.description}", f"B: {b.description}", "",
      image_sets.table(rows)])


def run(names: List[str], protocol: protocols.Protocol, extractor: Any, *,
        save_stats: Optional[str] = None, checkpoint: str = "latest",
        local_dir: Optional[str] = None, data_dir: Optional[str] = None,
        kid_subsets: int = 100, kid_subset_size: int = 1000,
        sampling: Optional[Dict[str, Any]] = None) -> str:
  """Scores names[1] against names[0] (or, with one name, only saves its statistics);
  returns the text to print. `sampling`: a workdir's sampling options (None: its model's
  defaults)."""
  record = protocol.record(extractor.provenance().get("id"), sampling)

  def feature_set(name: str) -> image_sets.FeatureSet:
    if image_sets.kind_of(name) == "workdir":
      return _workdir_set(name, extractor, protocol, record, checkpoint)
    return image_sets.features_of(name, extractor, record, local_dir=local_dir,
                                  data_dir=data_dir)

  a = feature_set(names[0])
  lines = []
  if save_stats:
    image_sets.save_stats(save_stats, a)
    lines.append(f"Wrote {save_stats}: the features of {a.description} under protocol "
                 f"{protocol.name} ({extractor.describe()}).")
  if len(names) == 2:
    b = feature_set(names[1])
    lines.insert(0, report(protocol, extractor, a, b,
                           score(a, b, kid_subsets, kid_subset_size)))
  return "\n".join(lines)


def main(argv):
  names = argv[1:]
  if not 1 <= len(names) <= 2 or (len(names) == 1 and not FLAGS.save_stats):
    raise app.UsageError("Give two image sets (A, the reference, then B), or one with "
                         "--save_stats=FILE.npz.")
  compilation_cache.enable(FLAGS.compilation_cache)
  protocol = user_errors.run_reporting(protocol_of, FLAGS.protocol, FLAGS.num_samples)
  sampling = user_errors.run_reporting(sampling_options.requested, FLAGS.truncation_psi,
                                       FLAGS.truncation_cutoff, FLAGS.noise_mode)
  extractor = user_errors.run_reporting(features.InceptionFeatures, FLAGS.inception_weights,
                                        FLAGS.batch_size, protocol.resize)
  logging.info("%s; %s.", protocol.describe(), extractor.describe())
  print(user_errors.run_reporting(functools.partial(
      run, names, protocol, extractor, save_stats=FLAGS.save_stats,
      checkpoint=FLAGS.checkpoint, local_dir=FLAGS.local_dir, data_dir=FLAGS.data_dir,
      kid_subsets=FLAGS.kid_subsets, kid_subset_size=FLAGS.kid_subset_size,
      sampling=sampling)))


if __name__ == "__main__":
  library_logs.quiet()
  define_flags()
  app.run(main)
