"""Keeping track of runs: each start's config in the workdir, learning rates and pictures
logged, changed user code noticed, runs compared side by side, sweeps launched."""
import glob
import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from jaxgan import compare, evaluate, sweep, train
from jaxgan.evaluation import records
from jaxgan.evaluation import evaluator as evaluator_lib
from jaxgan.runtime import visualize
from jaxgan.workdir import metric_logging, run_history
from tests import helpers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _tensorboard_image_tags(workdir):
  tags = set()
  for path in glob.glob(os.path.join(workdir, "tensorboard", "events.*")):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        if value.metadata.plugin_data.plugin_name == "images":
          tags.add(value.tag)
  return tags


def test_each_start_is_recorded_and_learning_rates_and_pictures_are_logged(tmp_path,
                                                                          mnist_dir):
  workdir = str(tmp_path / "run")
  schedule = {"g_optimizer.schedule": "linear", "log_every_steps": 1}
  first = helpers.tiny_config(mnist_dir, num_train_steps=2, **schedule)
  train.train_and_evaluate(first, workdir)
  second = helpers.tiny_config(mnist_dir, num_train_steps=4, **schedule, **{
      "d_optimizer.learning_rate": 1e-4, "allow_changes_on_resume": True})
  train.train_and_evaluate(second, workdir)

  history = run_history.read(workdir)
  assert [(e["start_step"], e["resumed"]) for e in history] == [(0, False), (2, True)]
  assert history[0]["changes"] == []
  assert {name: (a, b) for name, a, b in history[1]["changes"]} == {
      "num_train_steps": (2, 4), "d_optimizer.learning_rate": (2e-4, 1e-4),
      "allow_changes_on_resume": (False, True)}
  assert history[1]["versions"]["jax"] and history[1]["config"] == json.loads(second.to_json())
  with open(os.path.join(workdir, "config.json")) as f:
    assert json.load(f) == json.loads(second.to_json())  # The effective config, not the first.

  # The rate of each player's next update: G decays linearly to 0 over the run's steps (2,
  # then 4 after the resume); D is constant, changed at the resume.
  lr = first.g_optimizer.learning_rate
  logged = [(r["step"], r["g_learning_rate"], r["d_learning_rate"])
            for r in metric_logging.read_metrics(workdir)]
  expected = [(1, lr * (1 - 1 / 2), 2e-4), (2, 0.0, 2e-4), (3, lr * (1 - 3 / 4), 1e-4),
              (4, 0.0, 1e-4)]
  assert [s for s, _, _ in logged] == [s for s, _, _ in expected]
  for (_, g, d), (_, g_want, d_want) in zip(logged, expected):
    assert g == pytest.approx(g_want, rel=1e-6) and d == pytest.approx(d_want, rel=1e-6)

  # Pictures: the real grid once, sample grids also in TensorBoard, rates in the curves.
  assert os.path.exists(os.path.join(workdir, "samples", "real.png"))
  assert _tensorboard_image_tags(workdir) == {"samples/real", "samples/generated"}
  panels = visualize.curve_panels(metric_logging.read_metrics(workdir))
  assert ["g_learning_rate", "d_learning_rate"] in panels


def test_a_changed_user_module_is_warned_about_at_the_next_start(tmp_path, monkeypatch):
  module = tmp_path / "history_probe_loss.py"
  module.write_text("def loss(real_logits, fake_logits):\n  pass\n")
  monkeypatch.syspath_prepend(str(tmp_path))
  config = helpers.tiny_config(**{"loss.name": "history_probe_loss:loss"})
  warnings = []
  monkeypatch.setattr(run_history.logging, "warning",
                      lambda message, *args: warnings.append(message % args))
  workdir = tmp_path / "w"
  workdir.mkdir()
  entry = run_history.record_start(str(workdir), config, 0)
  assert entry["user_modules"] == {
      "history_probe_loss": hashlib.sha256(module.read_bytes()).hexdigest()}
  run_history.record_start(str(workdir), config, 3)
  assert warnings == []  # Unchanged.
  module.write_text("def loss(real_logits, fake_logits):\n  return 1\n")
  run_history.record_start(str(workdir), config, 5)
  assert len(warnings) == 1 and "'history_probe_loss' changed" in warnings[0]
  assert len(run_history.read(str(workdir))) == 3


def _fake_run(root, name, seed, fid, provenance, loss="non_saturating"):
  """A workdir as compare reads it: config.json, metrics, one evaluation, one grid."""
  workdir = os.path.join(root, name)
  config = helpers.tiny_config(**{"seed": seed, "loss.name": loss})
  os.makedirs(os.path.join(workdir, "samples"))
  with open(os.path.join(workdir, "config.json"), "w") as f:
    f.write(config.to_json())
  with open(os.path.join(workdir, "metrics.jsonl"), "w") as f:
    for step in (1, 2):
      f.write(json.dumps({"step": step, "d_loss": 1.0 / step + seed, "g_loss": 0.5,
                          "d_penalty": 0.1 * step}) + "\n")
  records.append(workdir, {"step": 2, "provenance": provenance,
                           "generator": {"fid": fid, "kid": fid / 100, "coverage": 0.5}})
  Image.new("RGB", (20, 20), "gray").save(os.path.join(workdir, "samples",
                                                       "step_0000002.png"))
  return workdir


def _provenance(classifier_id, folder="/a"):
  return {"feature_extractor": {"name": "classifier", "id": classifier_id, "dir": folder},
          "num_samples": 500}


def test_compare_averages_seeds_in_one_feature_space_only(tmp_path):
  root = str(tmp_path / "runs")
  fids = [300.0, 310.0, 340.0]
  for seed, fid in enumerate(fids):  # The same classifier, read from different folders.
    _fake_run(root, f"ns_seed{seed}", seed, fid, _provenance("c1", folder=f"/f{seed}"))
  _fake_run(root, "hinge_seed0", 0, 200.0, _provenance("c1"), loss="hinge")
  _fake_run(root, "hinge_seed1", 1, 250.0, _provenance("c2"), loss="hinge")  # Other space.
  out = str(tmp_path / "out")
  text, written = compare.compare([os.path.join(root, "ns_*"), os.path.join(root, "hinge_*")],
                                  out)
  mean, std = np.mean(fids), np.std(fids, ddof=1)
  assert f"FID {mean:.2f} ± {std:.2f}" in text
  assert "hinge_seed0, hinge_seed1: the same experiment, but evaluated in different" in text
  header = text.splitlines()[0]
  assert "loss.name" in header and "seed" in header  # What differs between the runs.
  assert "| ns_seed1 | 2 | 310.00 |" in text
  assert sorted(os.path.basename(p) for p in written) == ["compare.md", "curves.png",
                                                          "samples.png"]
  names = compare._curve_names([compare.RunSummary(os.path.join(root, "ns_seed0"), "x")])
  assert "d_penalty" in names  # The penalty's curve too.
  with pytest.raises(compare.CompareError, match="matches no folder"):
    compare.compare([os.path.join(root, "nothing_*")], out)
  assert "| unrecorded |" in text  # Records from before protocols were recorded.


def test_compare_never_averages_across_protocols(tmp_path):
  """Equal feature spaces but different protocols (here a record from before protocols
  were recorded beside one with its protocol): reported run by run, and said."""
  root = str(tmp_path / "runs")
  recorded = {**_provenance("c1"), "protocol": {"name": "quick_classifier"}}
  _fake_run(root, "ns_seed0", 0, 300.0, recorded)
  _fake_run(root, "ns_seed1", 1, 310.0, {**recorded, "protocol": {"name": "fid50k_full"}})
  _fake_run(root, "ns_seed2", 2, 320.0, _provenance("c1"))
  text, _ = compare.compare([os.path.join(root, "ns_*")], str(tmp_path / "out"))
  assert "±" not in text
  assert ("evaluated under different protocols (fid50k_full, quick_classifier, unrecorded): "
          "not averaged") in text
  assert "Protocols differ (fid50k_full, quick_classifier, unrecorded)" in text


def test_compare_shows_settings_changed_on_resume_and_the_last_losses(tmp_path):
  """Before: the final gamma only, though most steps ran with another; dashes only for a
  run without evaluation."""
  workdir = str(tmp_path / "r1")
  config = helpers.tiny_config(**{"loss.name": "hinge"})
  os.makedirs(workdir)
  run_history.record_start(workdir, config, 0)
  config.penalty.weight = 1.0
  run_history.record_start(workdir, config, 200)  # Resumed at 200 with another weight.
  with open(os.path.join(workdir, "metrics.jsonl"), "w") as f:
    f.write(json.dumps({"step": 350, "d_loss": 0.5, "g_loss": 1.25, "d_penalty": 0.1}) + "\n")
  other = str(tmp_path / "r2")
  os.makedirs(other)
  config.penalty.weight = 10.0
  run_history.record_start(other, config, 0)
  text, _ = compare.compare([workdir, other], str(tmp_path / "out"))
  assert "| r1 | - |" in text and "| 350 | d_loss 0.5, g_loss 1.25 |" in text
  assert "| 1.0 (10.0 until step 200) |" in text  # penalty.weight differs between the runs.
  assert ("Settings changed on resume (config_history.jsonl):\n- r1: penalty.weight 10.0 until "
          "step 200, then 1.0") in text


def test_kid_spread_is_marked_when_zero_by_construction():
  rng = np.random.default_rng(0)
  real = rng.integers(0, 256, (60, 4, 4, 1)).astype(np.uint8)

  class Pixels:
    has_classes, class_prior, name = False, None, "pixels"

    def __call__(self, images):
      flat = np.asarray(images, np.float64).reshape(len(images), -1)
      return {"features": flat, "probs": np.full((len(images), 2), 0.5)}

  ev = evaluator_lib.Evaluator(Pixels(), real, num_samples=20, kid_subsets=4,
                               kid_subset_size=50)
  assert ev.kid_std_is_zero_by_construction  # 20 samples <= 50 per subset.
  result = ev.evaluate(rng.uniform(-1, 1, (20, 4, 4, 1)))
  assert result["kid_std"] < 1e-12  # Every subset is the whole set (up to rounding).
  row = {"kid": result["kid"], "kid_std": result["kid_std"]}
  assert "± 0 (*)" in evaluate.format_table({"generator": row}, kid_std_zero=True)
  assert "± 0.0000" in evaluate.format_table({"generator": row})


def test_sweep_runs_every_combination_from_any_directory(tmp_path):
  vary = sweep.parse_vary(["seed=0,1", "g_optimizer.learning_rate=1e-4,2e-4"])
  planned = sweep.commands("c.py", "root", vary, ["--config.num_train_steps=5"])
  assert [os.path.basename(w) for w, _ in planned] == [
      "seed=0,g_optimizer.learning_rate=0.0001", "seed=0,g_optimizer.learning_rate=0.0002",
      "seed=1,g_optimizer.learning_rate=0.0001", "seed=1,g_optimizer.learning_rate=0.0002"]
  assert planned[1][1][4:] == ["--workdir=root/seed=0,g_optimizer.learning_rate=0.0002",
                               "--config.seed=0", "--config.g_optimizer.learning_rate=0.0002",
                               "--config.num_train_steps=5"]
  config = f"{ROOT}/configs/dcgan.py"
  done = subprocess.run([sys.executable, "-m", "jaxgan.sweep", f"--config={config}",
                         "--root=runs", "--vary=seed=0,1", "--dry_run"], cwd=str(tmp_path),
                        capture_output=True, text=True, timeout=120)
  assert done.returncode == 0, done.stderr
  assert "[2/2] python -m jaxgan.main" in done.stdout and "--config.seed=1" in done.stdout
  assert not (tmp_path / "runs").exists()  # A dry run writes nothing.
  done = subprocess.run([sys.executable, "-m", "jaxgan.sweep", f"--config={config}",
                         "--root=runs", "--vary=sed=0,1"], cwd=str(tmp_path),
                        capture_output=True, text=True, timeout=120)
  assert done.returncode == 1 and "no field 'sed' (did you mean 'seed'?)" in done.stderr
