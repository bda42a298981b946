"""End to end: train_and_evaluate, resume equality, checkpoint safety, the CLIs."""
import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest
import tensorflow_datasets as tfds

from jaxgan import sample, train
from jaxgan.experiment import builders
from jaxgan.workdir import checkpointing
from tests import helpers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _assert_trees_equal(a, b):
  jax.tree.map(np.testing.assert_array_equal, a, b)


def test_outputs_and_resume_equals_uninterrupted(tmp_path, mnist_dir):
  config = helpers.tiny_config(mnist_dir, num_train_steps=6, n_critic=2)
  straight = train.train_and_evaluate(config, str(tmp_path / "straight"))

  workdir = str(tmp_path / "resumed")
  half = helpers.tiny_config(mnist_dir, num_train_steps=3, n_critic=2)
  half.checkpoint_every_steps = 3
  train.train_and_evaluate(half, workdir)
  resumed = train.train_and_evaluate(config, workdir)  # Same workdir, longer run.
  assert resumed["step"] == straight["step"] == 6
  _assert_trees_equal(helpers.state_dicts(straight), helpers.state_dicts(resumed))

  # What a researcher looks at.
  names = set(os.listdir(workdir))
  assert {"checkpoints", "samples", "metrics.jsonl", "tensorboard", "curves.png",
          "config.json"} <= names
  assert os.listdir(os.path.join(workdir, "tensorboard"))
  assert "step_0000006.png" in os.listdir(os.path.join(workdir, "samples"))
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    records = [json.loads(line) for line in f]
  assert [r["step"] for r in records] == [2, 3, 4, 6]
  assert all(np.isfinite(r["d_loss"]) and np.isfinite(r["g_loss"]) for r in records)
  # keep_checkpoints=3 of the saves at 2, 3, 4, 6.
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == ["3", "4", "6"]


def test_resume_with_stateful_stabilisers_equals_uninterrupted(tmp_path, mnist_dir):
  """EMA, historical averages, the replay buffer and spectral-norm vectors are checkpointed."""
  extras = {"ema.decay": 0.99, "historical_averaging.weight": 0.01, "replay.buffer_size": 24,
            "model.kwargs.spectral_norm": True, "instance_noise.std": 0.1,
            "instance_noise.decay_steps": 4}
  config = helpers.tiny_config(mnist_dir, num_train_steps=4, **extras)
  straight = train.train_and_evaluate(config, str(tmp_path / "straight"))
  workdir = str(tmp_path / "resumed")
  train.train_and_evaluate(helpers.tiny_config(mnist_dir, num_train_steps=2, **extras), workdir)
  resumed = train.train_and_evaluate(config, workdir)
  _assert_trees_equal(helpers.state_dicts(straight), helpers.state_dicts(resumed))
  assert set(resumed["g_state"].extras) == {"ema_params", "param_average"}
  assert int(resumed["d_state"].extras["replay_filled"]) == 24
  # Turning a stabiliser off changes the experiment: refused, naming the field; allowing
  # changes cannot help, as the state layout differs: refused, naming the state.
  with pytest.raises(checkpointing.IncompatibleCheckpointError,
                     match="ema.decay: checkpoint 0.99, this config 0.0"):
    train.train_and_evaluate(helpers.tiny_config(mnist_dir, num_train_steps=6, **{
        **extras, "ema.decay": 0.0}), workdir)
  with pytest.raises(checkpointing.IncompatibleCheckpointError, match="ema_params"):
    train.train_and_evaluate(helpers.tiny_config(mnist_dir, num_train_steps=6, **{
        **extras, "ema.decay": 0.0, "allow_changes_on_resume": True}), workdir)


def test_incompatible_checkpoint_is_refused_and_kept(tmp_path, mnist_dir):
  workdir = str(tmp_path / "w")
  train.train_and_evaluate(helpers.tiny_config(mnist_dir, num_train_steps=2), workdir)
  ckpt = os.path.join(workdir, "checkpoints")
  before = {f: os.path.getmtime(os.path.join(ckpt, f)) for f in os.listdir(ckpt)}
  other = helpers.tiny_config(mnist_dir, num_train_steps=4)
  other.model.kwargs.hidden = 32
  with pytest.raises(checkpointing.IncompatibleCheckpointError, match="Nothing was overwritten"):
    train.train_and_evaluate(other, workdir)
  other.allow_changes_on_resume = True
  with pytest.raises(checkpointing.IncompatibleCheckpointError,
                     match="different model or optimizer"):
    train.train_and_evaluate(other, workdir)
  after = {f: os.path.getmtime(os.path.join(ckpt, f)) for f in os.listdir(ckpt)}
  assert before == after


def test_resume_refuses_a_changed_experiment_and_allows_run_control_changes(tmp_path,
                                                                            mnist_dir):
  workdir = str(tmp_path / "w")
  train.train_and_evaluate(helpers.tiny_config(mnist_dir, num_train_steps=2), workdir)
  changed = {"loss.name": "hinge", "d_optimizer.learning_rate": 1e-4, "seed": 3,
             "model.kwargs.hidden": 32}
  with pytest.raises(checkpointing.IncompatibleCheckpointError) as refused:
    train.train_and_evaluate(helpers.tiny_config(mnist_dir, num_train_steps=4, **changed),
                             workdir)
  message = str(refused.value)
  for line in ("d_optimizer.learning_rate: checkpoint 0.0002, this config 0.0001",
               "model.kwargs.hidden: checkpoint '(absent)', this config 32",
               "loss.name: checkpoint 'non_saturating', this config 'hinge'",
               "seed: checkpoint 0, this config 3"):
    assert line in message
  assert "num_train_steps" not in message
  assert checkpointing.Checkpointer(workdir, 3).all_steps() == [2]

  # Run length, intervals, evaluation and the NaN policy may change; so may anything, on
  # purpose, with allow_changes_on_resume.
  control = {"num_train_steps": 4, "log_every_steps": 1, "sample_every_steps": 4,
             "checkpoint_every_steps": 4, "keep_checkpoints": 1, "on_nonfinite": "skip",
             "critic_loop": "scan", "eval.num_samples": 100}
  assert train.train_and_evaluate(helpers.tiny_config(mnist_dir, **control), workdir)[
      "step"] == 4
  result = train.train_and_evaluate(helpers.tiny_config(
      mnist_dir, num_train_steps=6, allow_changes_on_resume=True,
      **{"d_optimizer.learning_rate": 1e-4}), workdir)
  assert result["step"] == 6


def test_same_seed_same_run_other_seed_other_run(tmp_path, mnist_dir):
  a = train.train_and_evaluate(helpers.tiny_config(mnist_dir), str(tmp_path / "a"))
  b = train.train_and_evaluate(helpers.tiny_config(mnist_dir), str(tmp_path / "b"))
  c = train.train_and_evaluate(helpers.tiny_config(mnist_dir, seed=1), str(tmp_path / "c"))
  _assert_trees_equal(helpers.state_dicts(a), helpers.state_dicts(b))
  assert not np.allclose(a["g_state"].params["Dense_1"]["kernel"],
                         c["g_state"].params["Dense_1"]["kernel"])


def test_train_from_tfds_with_mock_data(tmp_path):
  config = helpers.tiny_config("", num_train_steps=2)
  config.dataset.split = "train"
  with tfds.testing.mock_data(num_examples=16):
    result = train.train_and_evaluate(config, str(tmp_path / "w"))
  assert result["step"] == 2


def test_bad_inputs_fail_before_training(tmp_path, mnist_dir):
  cases = [({"batch_size": 6}, "multiple of the global device count"),
           ({"n_critic": 0}, "config.n_critic must be a positive integer"),
           ({"g_optimizer.learning_rate": -1e-3}, "learning_rate must be > 0"),
           ({"loss.name": "nonsaturating"}, "Valid loss names"),
           ({"g_optimizer.name": "adamw2"}, "Valid optimizer names"),
           ({"model.name": "dcgan"}, "Valid architecture names"),
           ({"on_nonfinite": "ignore"}, r"on_nonfinite must be one of \('stop', 'skip'\)")]
  for overrides, message in cases:
    config = helpers.tiny_config(mnist_dir, **overrides)
    with pytest.raises(ValueError, match=message):
      train.train_and_evaluate(config, str(tmp_path / "w"))
  assert not os.path.exists(os.path.join(tmp_path, "w", "checkpoints"))


def test_user_loss_from_module_path(tmp_path, mnist_dir):
  config = helpers.tiny_config(mnist_dir, num_train_steps=1)
  config.loss.name = "jaxgan.losses:minimax"
  assert train.train_and_evaluate(config, str(tmp_path / "w"))["step"] == 1
  config.loss.name = "jaxgan.losses:nope"
  with pytest.raises(builders.ConfigError, match="no attribute 'nope'"):
    builders.check_config(config)


def test_config_is_locked():
  config = helpers.tiny_config()
  with pytest.raises(AttributeError):
    config.batchsize = 3


def _run_cli(args, tmp_path):
  env = dict(os.environ, PYTHONPATH=ROOT)
  return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True,
                        text=True, timeout=300)


def test_cli_train_then_sample(tmp_path, mnist_dir):
  workdir = str(tmp_path / "cli")
  out = _run_cli(["jaxgan.main", "--config=configs/dcgan.py", f"--workdir={workdir}",
                  f"--config.dataset.local_dir={mnist_dir}", "--config.dataset.split=test",
                  "--config.model.name=tiny", "--config.model.latent_dim=8",
                  "--config.batch_size=8", "--config.num_train_steps=3",
                  "--config.log_every_steps=1", "--config.num_grid_samples=4",
                  # New keys of the open kwargs sections work from the command line too.
                  "--config.loss.kwargs.real_label=0.9", "--config.ema.decay=0.9",
                  "--config.model.kwargs.spectral_norm=true",
                  # The recipe's evaluation, made small.
                  "--config.eval.num_samples=24", "--config.eval.classifier_steps=3",
                  "--config.eval.batch_size=8", "--config.eval.kid_subset_size=12"], tmp_path)
  assert out.returncode == 0, out.stderr[-3000:]
  assert "step 3/3" in out.stderr and "eval step 3 | FID" in out.stderr
  # The terminal: jaxgan's short header and progress lines, not the libraries' banners.
  for noise in ("oneDNN", "absl::InitializeLog", "Unable to initialize backend", "/orbax/",
                "Config:\n"):
    assert noise not in out.stderr, noise
  assert len(out.stderr.strip().splitlines()) <= 20, out.stderr
  with open(os.path.join(workdir, "config.json")) as f:
    saved = json.load(f)
  assert saved["loss"]["kwargs"] == {"real_label": 0.9}
  assert saved["model"]["kwargs"] == {"spectral_norm": True}
  assert sorted(os.listdir(os.path.join(workdir, "samples"))) == ["real.png",
                                                                   "step_0000003.png"]
  assert os.listdir(os.path.join(workdir, "checkpoints")) == ["3"]

  npz = str(tmp_path / "s.npz")
  out = _run_cli(["jaxgan.sample", f"--workdir={workdir}", "--num_samples=10",
                  f"--output={npz}", "--batch_size=4"], tmp_path)
  assert out.returncode == 0, out.stderr[-3000:]
  images = np.load(npz)["images"]
  assert images.shape == (10, 28, 28, 1) and images.dtype == np.uint8
  assert images.min() < images.max()

  # Settings under their config names, as jaxgan.main spells them.
  out = _run_cli(["jaxgan.evaluate", f"--workdir={workdir}", "--baselines",
                  "--config.eval.kid_subsets=2"], tmp_path)
  assert out.returncode == 0, out.stderr[-3000:]
  assert "| generator (step 3) |" in out.stdout and "(floor)" in out.stdout
  assert "Feature space: classifier " in out.stdout and "3 steps" in out.stdout
  assert os.path.exists(os.path.join(workdir, "eval", "step_0000003.json"))


def test_cli_reports_bad_config_without_traceback(tmp_path, mnist_dir):
  out = _run_cli(["jaxgan.main", "--config=configs/dcgan.py", f"--workdir={tmp_path}/w",
                  f"--config.dataset.local_dir={mnist_dir}", "--config.dataset.split=test",
                  "--config.batch_size=10"], tmp_path)
  assert out.returncode == 1
  assert "multiple of the global device count (4 devices" in out.stderr
  assert "Traceback" not in out.stderr
  # The sampler on a workdir without a checkpoint: the same one-line report.
  out = _run_cli(["jaxgan.sample", f"--workdir={tmp_path}/empty", f"--output={tmp_path}/s.npz"],
                 tmp_path)
  assert out.returncode == 1
  assert "MissingFileError: No checkpoint under" in out.stderr
  assert "Traceback" not in out.stderr
  assert not (tmp_path / "empty").exists()  # nothing created by looking
  # A sampling option out of range: named before the workdir is read.
  out = _run_cli(["jaxgan.sample", f"--workdir={tmp_path}/empty", f"--output={tmp_path}/s.npz",
                  "--truncation_cutoff=0"], tmp_path)
  assert out.returncode == 1
  assert "InvalidInputError: truncation_cutoff must be >= 1" in out.stderr
  assert "Traceback" not in out.stderr


def test_sample_generate_matches_training_generator(tmp_path, mnist_dir):
  workdir = str(tmp_path / "w")
  result = train.train_and_evaluate(helpers.tiny_config(mnist_dir, num_train_steps=2), workdir)
  images, classes = sample.generate(workdir, num_samples=5, seed=0, batch_size=5)
  assert classes is None  # Not a conditional run.
  with pytest.raises(ValueError, match="model 'tiny' takes no sampling option truncation_psi "
                     r"\(its sampling options: none; stylegan2's"):
    sample.generate(workdir, num_samples=5, options={"truncation_psi": 0.5})
  assert images.shape == (5, 28, 28, 1) and images.dtype == np.uint8
  config = helpers.tiny_config(mnist_dir)
  pair = builders.get_models(config, (28, 28, 1), axis_name=None)
  z = jax.random.normal(jax.random.fold_in(jax.random.PRNGKey(0), 0), (5, 8))
  expected = pair.generator.apply(result["g_state"].variables(), z, train=False)
  expected = np.clip(np.round((np.asarray(expected) + 1) * 127.5), 0, 255)
  # The sampler is compiled, this apply runs op by op: two programs, equal to float rounding,
  # which can carry a value across a rounding boundary of the uint8 grid (one level).
  difference = np.abs(images.astype(np.int32) - expected.astype(np.int32))
  assert difference.max() <= 1 and np.mean(difference == 0) > 0.999, np.mean(difference == 0)


def test_nonfinite_stops_naming_step_and_keeps_finite_checkpoints(tmp_path, mnist_dir):
  workdir = str(tmp_path / "w")
  train.train_and_evaluate(helpers.tiny_config(mnist_dir, num_train_steps=2), workdir)
  # Resume with a learning rate that blows the parameters up.
  config = helpers.tiny_config(mnist_dir, num_train_steps=6, allow_changes_on_resume=True)
  config.g_optimizer.learning_rate = config.d_optimizer.learning_rate = 1e30
  with pytest.raises(train.NonFiniteError, match=r"at step 4 .*param_norm.*on_nonfinite"):
    train.train_and_evaluate(config, workdir)
  checkpointer = checkpointing.Checkpointer(workdir, keep=10)
  assert checkpointer.all_steps() == [2]  # Step 4's state was never written.
  checkpointer.close()

  # Resuming that workdir with skipping on (the counter is not in its checkpoint) works.
  resumed = helpers.tiny_config(mnist_dir, num_train_steps=4, on_nonfinite="skip")
  assert train.train_and_evaluate(resumed, workdir)["step"] == 4
  # And back: a checkpoint with the counter resumes with skipping off.
  assert train.train_and_evaluate(helpers.tiny_config(mnist_dir, num_train_steps=6),
                                  workdir)["step"] == 6

  config.on_nonfinite = "skip"  # Every step skipped: stopped, not spinning.
  with pytest.raises(train.NonFiniteError, match="Every step from 1 to 2 .* skipped"):
    train.train_and_evaluate(config, str(tmp_path / "skip"))
  assert not os.path.exists(os.path.join(tmp_path, "skip", "checkpoints", "2"))
