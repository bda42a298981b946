"""config.eval.best_metric: WORKDIR/best keeps the states of the best evaluation so far.

The end-to-end tests script the evaluation's numbers (RunArtefacts.evaluate returns a chosen
FID per step), so which step is best is known in advance; the states kept are compared bit
for bit with the periodic checkpoint of that step.
"""
import os
import shutil

import jax
import numpy as np
import pytest

from jaxgan import sample, train
from jaxgan.evaluation import reported_metrics
from jaxgan.experiment import builders
from jaxgan.workdir import best_checkpoint, checkpointing, saved_run
from jaxgan.workdir.artefacts import RunArtefacts
from tests import helpers

EVAL = {"eval.every_steps": 2, "eval.num_samples": 24, "eval.classifier_steps": 2,
        "eval.batch_size": 8, "eval.kid_subset_size": 12, "eval.best_metric": "fid"}


def _script_evaluations(monkeypatch, values):
  """RunArtefacts.evaluate returns {"eval_fid": values[step], "eval_coverage": ...}."""
  seen = []

  def evaluate(self, step, replicated):
    seen.append(step)
    return {"eval_fid": values[step], "eval_coverage": 1.0 / values[step]}
  monkeypatch.setattr(RunArtefacts, "evaluate", evaluate)
  return seen


def _assert_same_states(a, b):
  for x, y in zip(jax.tree.leaves(a.states), jax.tree.leaves(b.states)):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_direction_of_each_metric():
  assert reported_metrics.lower_is_better("fid") and best_checkpoint.lower_is_better("kid")
  assert reported_metrics.lower_is_better("ab_cycle")
  assert not reported_metrics.lower_is_better("coverage")
  assert not reported_metrics.lower_is_better("ba_content")


def test_improves_by_the_metric_direction(tmp_path):
  config = helpers.tiny_config(**EVAL)
  for metric, better, worse in (("fid", 2.0, 4.0), ("coverage", 0.9, 0.5)):
    config.eval.best_metric = metric
    best = best_checkpoint.BestCheckpoint(str(tmp_path / metric),
                                          builders.settings_of(config).eval)
    assert best.improves(worse) and not best.improves(float("nan"))  # None kept yet.
    best.record = {"step": 2, "value": 3.0 if metric == "fid" else 0.7}
    assert best.improves(better) and not best.improves(worse)
    assert not best.improves(best.record["value"])  # A tie keeps the earlier one.
    best.close()


def test_a_wrong_metric_name_lists_the_valid_ones():
  config = helpers.tiny_config(**EVAL)
  config.eval.best_metric = "fdi"
  with pytest.raises(builders.ConfigError, match=r"best_metric='fdi' .*valid: fid, kid, "
                     r"precision, recall, density, coverage, is, class_kl, classes_covered"):
    builders.resolve(config)
  config.eval.best_metric = "class_accuracy"  # Only a class-conditional run reports it.
  with pytest.raises(builders.ConfigError, match="class_accuracy"):
    builders.resolve(config)
  config.eval.best_metric, config.eval.every_steps = "fid", 0
  with pytest.raises(builders.ConfigError, match="needs periodic evaluation"):
    builders.resolve(config)


def test_translation_metrics_carry_their_direction():
  config = helpers.tiny_config(**EVAL)
  config.game.name = "cyclegan"
  config.model.name = "cyclegan_resnet"
  config.eval.best_metric = "fid"
  with pytest.raises(builders.ConfigError) as error:
    reported_metrics.check(builders.settings_of(config).eval, translates=True, num_classes=0)
  names = str(error.value)
  assert "ab_fid" in names and "ba_content" in names and "ab_cycle" in names
  config.eval.best_metric = "ba_cycle"
  reported_metrics.check(builders.settings_of(config).eval, translates=True, num_classes=0)


def test_best_is_kept_apart_from_the_periodic_ones_and_equals_its_step(tmp_path, monkeypatch):
  mnist = helpers.write_fake_mnist(str(tmp_path / "data"), n=96)
  fids = {2: 5.0, 4: 3.0, 6: 4.0, 8: 6.0}
  seen = _script_evaluations(monkeypatch, fids)
  every = helpers.tiny_config(mnist, num_train_steps=8, keep_checkpoints=10, **EVAL)
  every.eval.best_metric = ""
  train.train_and_evaluate(every, str(tmp_path / "all"))

  workdir = str(tmp_path / "run")
  config = helpers.tiny_config(mnist, num_train_steps=8, keep_checkpoints=1, **EVAL)
  train.train_and_evaluate(config, workdir)
  assert seen == [2, 4, 6, 8] * 2
  assert os.listdir(os.path.join(workdir, "checkpoints")) == ["8"]  # keep_checkpoints=1
  assert os.listdir(os.path.join(workdir, "best")) == ["4"]       # never deleted by it
  best = saved_run.load_run(workdir, checkpoint="best")
  assert best.step == 4
  _assert_same_states(best, saved_run.load_run(str(tmp_path / "all"), step=4))
  meta = checkpointing.Checkpointer(workdir, 1, subdir="best").read_meta()
  assert meta["best"] == {"step": 4, "value": 3.0, "best_metric": "fid", "num_samples": 24,
                          "feature_extractor": "classifier", "protocol": "",
                          "reference": "sample"}
  images, _ = sample.generate(workdir, 4, checkpoint="best")
  assert images.shape == (4, 28, 28, 1)


def test_resume_continues_from_the_best_kept_and_refuses_other_settings(tmp_path, monkeypatch):
  mnist = helpers.write_fake_mnist(str(tmp_path / "data"), n=96)
  workdir = str(tmp_path / "run")
  _script_evaluations(monkeypatch, {2: 5.0, 4: 3.0, 6: 4.0, 8: 3.5, 10: 2.0})
  config = helpers.tiny_config(mnist, num_train_steps=6, keep_checkpoints=2, **EVAL)
  train.train_and_evaluate(config, workdir)
  assert saved_run.load_run(workdir, checkpoint="best").step == 4

  config.num_train_steps = 8  # 3.5 at step 8 does not beat 3.0 kept from the first launch.
  train.train_and_evaluate(config, workdir)
  assert saved_run.load_run(workdir, checkpoint="best").step == 4
  config.num_train_steps = 10
  train.train_and_evaluate(config, workdir)
  assert os.listdir(os.path.join(workdir, "best")) == ["10"]  # The old best went after.

  for field, value in (("best_metric", "kid"), ("num_samples", 30), ("reference", "full")):
    changed = helpers.tiny_config(mnist, num_train_steps=12, keep_checkpoints=2, **EVAL)
    changed.eval[field] = value
    with pytest.raises(best_checkpoint.BestCheckpointError, match="cannot be compared"):
      train.train_and_evaluate(changed, workdir)
  assert saved_run.load_run(workdir).step == 10  # Nothing was trained or overwritten.


def test_a_best_kept_before_protocols_were_recorded_still_resumes():
  """A best kept before config.eval.protocol and .reference existed was kept under the
  config's own fields against a sampled reference: the same as today's defaults. The resize
  counts for Inception only."""
  settings = builders.settings_of(helpers.tiny_config(**EVAL))
  now = best_checkpoint._settings(settings.eval)  # pylint: disable=protected-access
  assert now == {"best_metric": "fid", "num_samples": 24, "feature_extractor": "classifier",
                 "protocol": "", "reference": "sample"}
  before = {"step": 4, "value": 3.0, "best_metric": "fid", "num_samples": 24,
            "feature_extractor": "classifier"}
  assert best_checkpoint.settings_kept(before) == now
  inception = {**before, "feature_extractor": "inception"}  # Its resize was not recorded.
  assert best_checkpoint.settings_kept(inception)["resize"] is None


def test_no_best_checkpoint_says_how_to_keep_one(tmp_path):
  mnist = helpers.write_fake_mnist(str(tmp_path / "data"))
  workdir = str(tmp_path / "run")
  train.train_and_evaluate(helpers.tiny_config(mnist), workdir)
  with pytest.raises(FileNotFoundError, match="config.eval.best_metric"):
    saved_run.load_run(workdir, checkpoint="best")
  with pytest.raises(ValueError, match="valid: latest, best"):
    saved_run.load_run(workdir, checkpoint="newest")


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_unfinished_or_damaged_best_loses_nothing(tmp_path, monkeypatch):
  """A run killed while writing a new best leaves orbax's temporary directory beside the old
  best: the old one stays the best and the run resumes. Damaged arrays are refused by
  --checkpoint=best (checksums) and replaced at the next better evaluation; a damaged meta
  item stops the resume, naming the folder."""
  mnist = helpers.write_fake_mnist(str(tmp_path / "data"), n=96)
  workdir = str(tmp_path / "run")
  _script_evaluations(monkeypatch, {2: 5.0, 4: 3.0, 6: 4.0, 8: 2.0, 10: 1.0})
  config = helpers.tiny_config(mnist, num_train_steps=6, keep_checkpoints=2, **EVAL)
  train.train_and_evaluate(config, workdir)
  best_dir = os.path.join(workdir, "best")
  # What SIGKILL during the write of step 6 would leave: a partial temporary directory.
  unfinished = os.path.join(best_dir, "6.orbax-checkpoint-tmp-1764000000000000")
  shutil.copytree(os.path.join(best_dir, "4"), unfinished)
  os.remove(helpers.largest_data_file(unfinished))
  assert saved_run.load_run(workdir, checkpoint="best").step == 4

  data_file = helpers.largest_data_file(os.path.join(best_dir, "4"))
  helpers.flip_bytes(data_file, os.path.getsize(data_file) // 2, 64)
  with pytest.raises(checkpointing.CorruptCheckpointError, match="differ from the checksums"):
    saved_run.load_run(workdir, checkpoint="best")
  config.num_train_steps = 8  # Resumes (the kept value is in the meta) and replaces it.
  train.train_and_evaluate(config, workdir)
  assert saved_run.load_run(workdir, checkpoint="best").step == 8

  meta_dir = os.path.join(best_dir, "8", "meta")
  for name in os.listdir(meta_dir):
    with open(os.path.join(meta_dir, name), "w") as f:
      f.write("{not json")
  config.num_train_steps = 10
  with pytest.raises(checkpointing.CorruptCheckpointError, match=r"best/8"):
    train.train_and_evaluate(config, workdir)
  assert saved_run.load_run(workdir).step == 8  # The periodic checkpoints are untouched.
