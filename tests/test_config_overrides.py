"""Command-line settings for the open kwargs sub-configs."""
import pytest
from absl import app

from jaxgan.experiment import config_overrides
from tests import helpers


def test_split_takes_only_open_section_keys():
  argv = ["prog", "--config=c.py", "--config.loss.kwargs.drift=1e-3", "--config.seed=3",
          "--config.d_optimizer.schedule_kwargs.warmup_steps", "100", "--workdir=w"]
  rest, overrides = config_overrides.split_kwargs_overrides(argv)
  assert rest == ["prog", "--config=c.py", "--config.seed=3", "--workdir=w"]
  assert overrides == [("loss.kwargs.drift", "1e-3"),
                       ("d_optimizer.schedule_kwargs.warmup_steps", "100")]


@pytest.mark.parametrize("raw,value", [("1e-3", 1e-3), ("100", 100), ("true", True),
                                       ("False", False), ("(1, 2)", (1, 2)), ("abc", "abc"),
                                       ("'abc'", "abc")])
def test_values_are_python_literals(raw, value):
  assert config_overrides.parse_value(raw) == value


def test_apply_adds_new_keys_and_checks_the_path():
  config = helpers.tiny_config()
  config_overrides.apply_kwargs_overrides(config, [("loss.kwargs.real_label", "0.9"),
                                                   ("g_optimizer.kwargs.b1", "0.0")])
  assert config.loss.kwargs.real_label == 0.9 and config.g_optimizer.kwargs.b1 == 0.0
  with pytest.raises(app.UsageError, match="config.los does not exist"):
    config_overrides.apply_kwargs_overrides(config, [("los.kwargs.x", "1")])
