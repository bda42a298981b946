"""The game protocol: a second game (tests/two_critics_game.py, written only against it)
trains, checkpoints, resumes, samples and evaluates through the shared loop; game names and
settings are checked like every other; lazy regularisation's schedule; and a workdir written
before games existed still resumes, bit for bit."""
import os
import shutil

import flax
import jax
import numpy as np
import pytest

from jaxgan import evaluate, sample, train
from jaxgan.experiment import builders
from jaxgan.workdir import checkpointing, metric_logging, saved_run
from tests import helpers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TWO_CRITICS = {"game.name": "tests.two_critics_game:build", "game.kwargs.first_weight": 0.7,
               "eval.every_steps": 0}


def _assert_trees_equal(a, b):
  jax.tree.map(np.testing.assert_array_equal, a, b)


def test_a_second_game_trains_resumes_samples_and_evaluates(tmp_path, mnist_dir):
  config = lambda steps: helpers.tiny_config(mnist_dir, num_train_steps=steps, **TWO_CRITICS)
  straight = train.train_and_evaluate(config(4), str(tmp_path / "straight"))
  assert sorted(straight["states"]) == ["d1", "d2", "g", "run"]
  assert int(straight["states"]["run"].step) == 4
  # Two critics, initialised apart, both trained (one update per step each).
  d1, d2 = straight["d1_state"], straight["d2_state"]
  assert int(d1.step) == int(d2.step) == 4
  assert not any(np.allclose(a, b) for a, b in zip(jax.tree.leaves(d1.params),
                                                    jax.tree.leaves(d2.params)))

  workdir = str(tmp_path / "resumed")
  train.train_and_evaluate(config(2), workdir)
  resumed = train.train_and_evaluate(config(4), workdir)
  as_dicts = lambda result: flax.serialization.to_state_dict(result["states"])
  _assert_trees_equal(as_dicts(straight), as_dicts(resumed))
  records = metric_logging.read_metrics(workdir)
  assert [r["step"] for r in records] == [2, 4]
  assert {"d1_loss", "d2_loss", "g_loss", "d1_param_norm", "all_finite"} <= set(records[-1])

  run = saved_run.load_run(workdir)
  assert run.step == 4 and sorted(run.states) == ["d1", "d2", "g", "run"]
  grid = os.path.join(workdir, "grid.png")  # An unconditional model's grid: its samples.
  images, classes = sample.generate(workdir, num_samples=5, batch_size=4, grid_path=grid)
  assert images.shape == (5, 28, 28, 1) and classes is None and os.path.isfile(grid)
  report = evaluate.evaluate_workdir(workdir, overrides={
      "num_samples": 24, "classifier_steps": 2, "batch_size": 8, "kid_subset_size": 12})
  assert np.isfinite(report["generator"]["fid"])
  assert os.path.exists(os.path.join(workdir, "samples", "step_0000004.png"))


@pytest.mark.parametrize("overrides,message", [
    ({"game.name": "gman"}, "Unknown game 'gman'. Valid game names: cyclegan, progressive, standard"),
    ({**TWO_CRITICS, "game.kwargs.first_wieght": 0.5},
     r"accepts \['first_weight', 'swap_weights_from'\]"),
    ({"game.kwargs.n_critics": 2}, r"config.game.kwargs has unknown setting\(s\) "
                                   r"\['n_critics'\]"),
    ({"penalty.every": 0}, "config.penalty.every must be a positive integer"),
])
def test_bad_game_settings_fail_before_compiling(overrides, message):
  with pytest.raises(builders.ConfigError, match=message):
    builders.check_config(helpers.tiny_config(**overrides))


def test_a_game_with_two_programs_compiles_each_once_and_resumes_across_them(
    tmp_path, mnist_dir, monkeypatch):
  compiled = []
  pmapped_step = builders.Experiment.pmapped_step
  monkeypatch.setattr(builders.Experiment, "pmapped_step", lambda self, **kw: (
      compiled.append(kw["program"]), pmapped_step(self, **kw))[1])
  config = lambda steps, **kw: helpers.tiny_config(mnist_dir, num_train_steps=steps, **{
      **TWO_CRITICS, "game.kwargs.swap_weights_from": 3, **kw})
  straight = train.train_and_evaluate(config(4), str(tmp_path / "straight"))
  assert compiled == ["first", "swapped"]  # Steps 1-3 (counters 0-2), then step 4.
  one_program = train.train_and_evaluate(config(4, **{"game.kwargs.swap_weights_from": 0}),
                                         str(tmp_path / "one"))
  g = lambda result: flax.serialization.to_state_dict(result["states"]["g"])["params"]
  with pytest.raises(AssertionError):  # The second program is another step.
    _assert_trees_equal(g(straight), g(one_program))
  workdir = str(tmp_path / "resumed")
  train.train_and_evaluate(config(3), workdir)
  compiled.clear()
  resumed = train.train_and_evaluate(config(4), workdir)
  assert compiled == ["swapped"]
  _assert_trees_equal(flax.serialization.to_state_dict(straight["states"]),
                      flax.serialization.to_state_dict(resumed["states"]))


def test_a_game_refuses_what_it_cannot_do():
  config = helpers.tiny_config(**{**TWO_CRITICS, "ema.decay": 0.9})
  with pytest.raises(builders.ConfigError, match="takes no stabilisers"):
    builders.build(config, (8, 8, 1))


def test_lazy_penalty_runs_every_k_d_updates_with_k_times_the_weight():
  """penalty.every=2: D's first update (0 before it) is penalised with weight 2 * lambda,
  as every=1 with 2 * lambda; the second is not penalised at all. (Two programs: the lazy
  term is computed inside lax.cond, so equal to float rounding, not bit for bit.)"""
  wgan_gp = {"loss.name": "wasserstein", "penalty.name": "wgan_gp"}
  (_, lazy_d), lazy, _ = helpers.run_pmapped_steps(
      1, num_steps=2, n_critic=1, **wgan_gp, **{"penalty.weight": 1.0, "penalty.every": 2})
  (_, eager_d), eager, _ = helpers.run_pmapped_steps(
      1, num_steps=1, n_critic=1, **wgan_gp, **{"penalty.weight": 2.0})
  assert lazy[0]["d_penalty"] == pytest.approx(eager[0]["d_penalty"], rel=1e-5)
  assert eager[0]["d_penalty"] > 0
  assert lazy[1]["d_penalty"] == 0.0
  (_, lazy_d1), _, _ = helpers.run_pmapped_steps(
      1, num_steps=1, n_critic=1, **wgan_gp, **{"penalty.weight": 1.0, "penalty.every": 2})
  helpers.assert_states_close(lazy_d1.params, eager_d.params)
  assert int(lazy_d.step) == 2


STABILISERS = {"ema.decay": 0.9, "historical_averaging.weight": 0.01, "replay.buffer_size": 16,
               "on_nonfinite": "skip", "n_critic": 2}


def test_a_workdir_written_before_games_resumes(tmp_path, mnist_dir):
  """The old layout is read into today's states, and resuming it is resuming those states:
  bit for bit the same as a today's-layout checkpoint of the same values. Against a run
  never interrupted (steps 1-2 recomputed here) it agrees to float noise: the fixture's first
  steps were computed by another build of jax and XLA, possibly on another CPU; a wrong step
  counter or lost stabiliser state would move parameters by ~lr = 2e-4."""
  old = str(tmp_path / "old")
  shutil.copytree(os.path.join(ROOT, "tests", "data", "workdir_before_games"), old)
  run = saved_run.load_run(old)  # The tools read it as it is...
  assert run.step == 2 and int(run.states["run"].step) == 2
  assert int(run.states["run"].skipped_steps) == 0
  assert "skipped_steps" not in run.states["d"].extras
  assert int(run.states["d"].extras["replay_filled"]) == 16

  today = str(tmp_path / "today")  # The same values, written in today's layout.
  checkpointer = checkpointing.Checkpointer(today, keep=3)
  checkpointer.save(2, run.states, run.config.to_json(), run.image_shape)
  checkpointer.close()
  config = helpers.tiny_config(mnist_dir, num_train_steps=4, **STABILISERS)
  resumed = train.train_and_evaluate(config, old)  # ...and training continues it.
  assert int(resumed["states"]["run"].step) == 4
  _assert_trees_equal(helpers.state_dicts(train.train_and_evaluate(config, today)),
                      helpers.state_dicts(resumed))
  assert saved_run.load_run(old).step == 4  # Now written in today's layout.
  straight = train.train_and_evaluate(config, str(tmp_path / "straight"))
  straight, resumed = helpers.state_dicts(straight), helpers.state_dicts(resumed)
  # The replay buffer holds fakes of the first two steps, whose latents jax 0.12.1 draws
  # differently: the same random bits, but a new inverse error function in
  # jax.random.normal, up to 87 ulps (2.1e-5) away from 0.12.0's for |z| in [3, 4) (1e5
  # draws compared). One fake of the 16 (row 10) moves by up to 7.9e-6 through G (measured
  # against 0.12.0.1 on the same machine; every parameter within 1.2e-7). Hence 2e-5 for the
  # buffer, 10x below lr.
  buffer = lambda states: states["d_state"]["extras"].pop("replay_buffer")
  np.testing.assert_allclose(buffer(straight), buffer(resumed), rtol=1e-4, atol=2e-5)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6),
               straight, resumed)


def test_the_shared_protocol_holds_only_what_every_game_uses():
  """Growing and translating are protocols of their own: a plain game's growth is one
  program, the configured batch and no milestones, asked through `growth_of`."""
  from jaxgan.games import protocol  # pylint: disable=g-import-not-at-top
  shared = {name for name in dir(protocol.Game) if not name.startswith("_")}
  assert shared == {"players", "sampler", "num_classes", "real_batches_per_step", "latent_dim",
                    "sampling_options", "init_players", "train_step", "sample_inputs",
                    "generate"}
  assert set(dir(protocol.GrowingGame)) - set(dir(protocol.Game)) == {
      "program", "for_program", "batch_at", "milestones"}
  assert set(dir(protocol.TranslatingGame)) - set(dir(protocol.Game)) == {"grid_inputs", "grid"}
  game = builders.build(helpers.tiny_config(), (8, 8, 1)).game
  growth = protocol.growth_of(game)
  assert (growth.program(5), growth.for_program(None), growth.batch_at(5),
          growth.milestones(10)) == (None, game, None, {})
