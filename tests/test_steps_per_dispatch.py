"""config.steps_per_dispatch: k train steps per call (one lax.scan) give the run of k calls."""
import json
import os

import functools

import jax
import numpy as np
import pytest

from jaxgan import train
from jaxgan.core import random_streams
from jaxgan.experiment import builders
from jaxgan.games import common
from jaxgan.runtime import parallel
from tests import helpers


def _assert_close(a, b):
  # The scanned loop body and the single step are compiled apart: XLA may fuse and sum in
  # other orders (float noise), while a wrong batch, key or step counter changes parameters
  # by ~lr = 2e-4 per step.
  jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6), a, b)


def _metrics(workdir):
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [json.loads(line) for line in f]


def test_two_steps_per_call_equal_one(tmp_path, mnist_dir):
  overrides = {"num_train_steps": 6, "n_critic": 2, "replay.buffer_size": 16}
  single = train.train_and_evaluate(helpers.tiny_config(mnist_dir, **overrides),
                                    str(tmp_path / "single"))
  scanned = train.train_and_evaluate(
      helpers.tiny_config(mnist_dir, steps_per_dispatch=2, **overrides), str(tmp_path / "scan"))
  assert scanned["step"] == single["step"] == 6
  _assert_close(helpers.state_dicts(single), helpers.state_dicts(scanned))
  # The same records at the same steps (2, 4, 6), of each logged step, not its dispatch.
  a, b = _metrics(str(tmp_path / "single")), _metrics(str(tmp_path / "scan"))
  assert [r["step"] for r in a] == [r["step"] for r in b] == [2, 4, 6]
  for ra, rb in zip(a, b):
    np.testing.assert_allclose(rb["d_loss"], ra["d_loss"], rtol=1e-5)
    np.testing.assert_allclose(rb["g_loss"], ra["g_loss"], rtol=1e-5)


def test_resume_off_the_dispatch_grid_equals_uninterrupted(tmp_path, mnist_dir):
  # From step 3 with k = 2: step 4 alone, 5-6 in one call, 7 alone (the end is not on the grid).
  straight = train.train_and_evaluate(helpers.tiny_config(mnist_dir, num_train_steps=7),
                                      str(tmp_path / "straight"))
  workdir = str(tmp_path / "resumed")
  train.train_and_evaluate(helpers.tiny_config(mnist_dir, num_train_steps=3), workdir)
  resumed = train.train_and_evaluate(
      helpers.tiny_config(mnist_dir, num_train_steps=7, steps_per_dispatch=2), workdir)
  assert resumed["step"] == 7
  _assert_close(helpers.state_dicts(straight), helpers.state_dicts(resumed))
  assert [r["step"] for r in _metrics(workdir)] == [2, 3, 4, 6, 7]


def test_a_non_finite_step_inside_the_call_is_reported():
  # on_nonfinite="skip": step 1 (NaN images) is skipped, step 2 trains normally; the call's
  # metrics are step 2's, but all_finite must still say that a step in it was not finite.
  config = helpers.tiny_config(on_nonfinite="skip", batch_size=8)
  shape = (8, 8, 1)
  experiment = builders.build(config, shape)
  call = jax.pmap(functools.partial(common.run_steps, game=experiment.game,
                                    skip_nonfinite=experiment.skip_nonfinite),
                  axis_name=parallel.AXIS_NAME, devices=jax.devices()[:1])
  add = lambda tree: jax.tree.map(lambda x: np.asarray(x)[None], tree)
  images = np.random.default_rng(0).uniform(-1, 1, (1, 2, 1, 8, *shape)).astype(np.float32)
  images[0, 0] = np.nan
  states, metrics = call(add(experiment.init_states()), {"image": images},
                         add(random_streams.base_key(0)))
  assert float(metrics["all_finite"][0]) == 0.0
  assert float(metrics[common.SKIPPED_STEPS][0]) == 1.0  # Step 1's, carried to step 2.
  assert np.isfinite(float(metrics["d_loss"][0]))  # Step 2's own loss.
  assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(states["d"].params))


@pytest.mark.parametrize("overrides,message", [
    ({"steps_per_dispatch": 4}, "config.log_every_steps=2, config.sample_every_steps=2, "
                                "config.checkpoint_every_steps=2 are not a multiple"),
    ({"steps_per_dispatch": 2, "eval.every_steps": 3}, "config.eval.every_steps=3 is not"),
    ({"steps_per_dispatch": 0}, "steps_per_dispatch must be a positive integer"),
])
def test_intervals_off_the_dispatch_grid_are_refused(overrides, message):
  with pytest.raises(builders.ConfigError, match=message):
    builders.check_config(helpers.tiny_config(**overrides))
