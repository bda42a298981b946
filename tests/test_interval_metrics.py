"""Logged numbers summarise their logging interval (jaxgan.core.interval_metrics): means by
hand, the kinds that are not means, lazy terms over the updates on which they ran, and the
whole loop's records against the means of its every-step records."""
import os

import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import train
from jaxgan.core import interval_metrics as im
from jaxgan.experiment import builders
from jaxgan.games import common
from jaxgan.runtime import visualize
from jaxgan.workdir import metric_logging
from tests import helpers

KINDS = {"p": im.LAST, "all_finite": im.MIN, "skipped_steps": im.MAX}


def _step(loss, p, finite=1.0, skipped=0.0, penalty=None):
  metrics = {"loss": jnp.float32(loss), "p": jnp.float32(p),
             "all_finite": jnp.float32(finite), "skipped_steps": jnp.float32(skipped)}
  if penalty is not None:  # (value, ran)
    metrics["penalty"] = im.Occasional(jnp.float32(penalty[0]), jnp.float32(penalty[1]))
  return metrics


def _summarise(steps, counted):
  summary = im.of_step(steps[0], counted[0], KINDS)
  for metrics, count in zip(steps[1:], counted[1:]):
    summary = im.merge(summary, im.of_step(metrics, count, KINDS), KINDS)
  return summary


def test_each_kind_summarises_the_interval_as_computed_by_hand():
  steps = [_step(1.0, 0.1, penalty=(2.0, 1.0)), _step(2.0, 0.2, penalty=(0.0, 0.0)),
           _step(6.0, 0.3, penalty=(4.0, 1.0))]
  record = im.record(_summarise(steps, [1, 1, 1]), KINDS)
  assert record == pytest.approx({"loss": 3.0, "p": 0.3, "all_finite": 1.0,
                                  "skipped_steps": 0.0, "penalty": 3.0, "penalty_count": 2.0})
  # Stacked k steps (a call of k steps) give the same record.
  stacked = {name: (im.Occasional(*(jnp.stack([s[name][i] for s in steps]) for i in (0, 1)))
                    if name == "penalty" else jnp.stack([s[name] for s in steps]))
             for name in steps[0]}
  assert im.record(im.of_steps(stacked, jnp.ones(3), KINDS), KINDS) == pytest.approx(record)


def test_a_skipped_step_is_left_out_of_the_means_but_counted_and_not_finite():
  steps = [_step(1.0, 0.1, penalty=(2.0, 1.0)),
           _step(np.nan, np.nan, finite=0.0, skipped=1.0, penalty=(np.nan, 1.0)),
           _step(6.0, 0.3, skipped=1.0, penalty=(0.0, 0.0)),
           _step(np.nan, np.nan, finite=0.0, skipped=2.0, penalty=(np.nan, 0.0))]
  counted = [1, 0, 1, 0]
  record = im.record(_summarise(steps, counted), KINDS)
  # p: the last applied step's; the penalty ran on one applied update.
  assert record == {"loss": 3.5, "p": pytest.approx(0.3), "all_finite": 0.0,
                    "skipped_steps": 2.0, "penalty": 2.0, "penalty_count": 1.0}


def test_a_lazy_term_that_never_ran_is_left_out_and_one_step_is_logged_exactly():
  record = im.record(_summarise([_step(-0.0, 0.5, penalty=(0.0, 0.0))], [1]), KINDS)
  assert "penalty" not in record and "penalty_count" not in record
  assert str(record["loss"]) == "-0.0"  # Not 0 + -0.0: an interval of one step is that step.


def test_different_metrics_in_one_interval_are_refused():
  with pytest.raises(ValueError, match="report different metrics"):
    im.merge(im.of_step({"a": jnp.float32(1)}, 1, {}), im.of_step({"b": jnp.float32(1)}, 1, {}),
             {})


# R1 on every 16th D update, instance noise that decays (a state: logged as of the interval's
# end), skipping on (the count is logged); 200 steps logged every 100, or every step.
LAZY = {"penalty.name": "r1", "penalty.weight": 1.0, "penalty.every": 16,
        "instance_noise.std": 0.5, "instance_noise.decay_steps": 300, "on_nonfinite": "skip",
        "sample_every_steps": 200, "checkpoint_every_steps": 50, "num_train_steps": 200}


def _records(workdir):
  return [r for r in metric_logging.read_metrics(workdir) if "d_loss" in r]


def _expected(every_step, first, last):
  """The interval (first..last)'s record by hand from the every-step records."""
  steps = [r for r in every_step if first <= r["step"] <= last]
  mean = lambda name: np.mean([r[name] for r in steps if name in r])
  ran = [r["step"] for r in steps if "d_penalty" in r]
  return {"d_loss": mean("d_loss"), "g_loss": mean("g_loss"), "d_real_prob": mean("d_real_prob"),
          "d_grad_norm": mean("d_grad_norm"), "g_param_norm": mean("g_param_norm"),
          "d_penalty": mean("d_penalty"), "d_penalty_count": float(len(ran)),
          "instance_noise_std": steps[-1]["instance_noise_std"], "all_finite": 1.0,
          "skipped_steps": 0.0}, ran


def test_the_loop_logs_each_intervals_means_and_a_resume_starts_a_new_interval(tmp_path,
                                                                             mnist_dir):
  every = str(tmp_path / "every_step")
  train.train_and_evaluate(helpers.tiny_config(mnist_dir, log_every_steps=1, **LAZY), every)
  every_step = _records(every)
  assert len(every_step) == 200
  # Each step's record is that step's: R1 on D updates 0, 16, 32, ... (steps 1, 17, 33, ...).
  assert [r["step"] for r in every_step if "d_penalty" in r] == list(range(1, 201, 16))
  assert {r["d_penalty_count"] for r in every_step if "d_penalty" in r} == {1.0}

  logged = str(tmp_path / "every_100")
  train.train_and_evaluate(helpers.tiny_config(mnist_dir, log_every_steps=100,
                                               **{**LAZY, "num_train_steps": 150}), logged)
  # Resumed from step 150's checkpoint: the interval 151..200, not 101..200 (not kept).
  train.train_and_evaluate(helpers.tiny_config(mnist_dir, log_every_steps=100, **LAZY),
                           logged)
  records = _records(logged)
  assert [r["step"] for r in records] == [100, 150, 200]
  for record, (first, last), runs in zip(records, [(1, 100), (101, 150), (151, 200)],
                                         [7, 3, 3]):
    expected, ran = _expected(every_step, first, last)
    assert len(ran) == runs, ran
    assert set(expected) <= set(record)
    for name, value in expected.items():
      assert record[name] == pytest.approx(value, rel=2e-6, abs=1e-7), (last, name)
  # Every number the curves draw is in the records; a count gets no panel of its own.
  panels = visualize.curve_panels(records)
  assert ["d_penalty"] in panels and ["instance_noise_std"] in panels
  assert not any(name.endswith("_count") for names in panels for name in names)
  assert os.path.exists(os.path.join(logged, "curves.png"))


def test_the_plugins_states_are_logged_as_of_the_intervals_end():
  config = helpers.tiny_config(**LAZY, **{"replay.buffer_size": 16, "augment.name": "ada"})
  kinds = common.metric_kinds(builders.build(config, (8, 8, 1)).game)
  im.check_kinds(kinds)
  assert {name for name, kind in kinds.items() if kind == im.LAST} == {
      "replay_filled", "augment_p", "instance_noise_std"}
