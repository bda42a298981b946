"""The research surface from the config: every name selectable, every mistake refused before
compiling, and a researcher's own loss and penalty used from their own file."""
import os
import sys

import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import losses, penalties, train
from jaxgan.experiment import builders
from jaxgan.models import GanPair, tiny
from tests import helpers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE_DIR = os.path.join(ROOT, "experiments", "custom_loss")


@pytest.fixture
def mnist_dir(tmp_path):
  return helpers.write_fake_mnist(str(tmp_path / "mnist"))


@pytest.mark.parametrize("overrides,message", [
    ({"penalty.name": "wgangp"}, "Valid penalty names: dragan, none, r1, r2, wgan_gp"),
    ({"penalty.name": "wgan_gp", "penalty.kwargs.lambda_": 10.0}, "accepts \\['target'\\]"),
    ({"loss.name": "least_squares", "loss.kwargs.real_label": 0.9}, "accepts \\['a', 'b', 'c'\\]"),
    ({"loss.kwargs.real_label": 1.5}, "real_label must be a probability"),
    ({"critic_loop": "while"}, "critic_loop must be one of"),
    ({"penalty.weight": -1.0}, "penalty.weight must be >= 0"),
    ({"d_weight_clip": -0.01}, "d_weight_clip must be >= 0"),
    ({"instance_noise.std": -0.1}, "instance_noise.std must be >= 0"),
    ({"ema.decay": 1.0}, "ema.decay must be in \\[0, 1\\)"),
    ({"replay.buffer_size": 4}, "must hold at least one global batch"),
    ({"replay.fraction": 1.5}, "replay.fraction must be in"),
    ({"balance.enabled": True, "balance.skip_below": 2.0, "balance.repeat_above": 1.0},
     "skip_below must be below"),
    ({"feature_matching.replace_g_loss": True}, "needs config.feature_matching.weight > 0"),
    ({"g_optimizer.schedule": "exponential"}, "Valid learning-rate schedule names"),
    ({"d_optimizer.schedule_kwargs.warmup": 10}, "has no setting\\(s\\) \\['warmup'\\]"),
    ({"d_optimizer.clip_grad_norm": -1.0}, "clip_grad_norm must be >= 0"),
    ({"model.kwargs.spectral_norms": True}, "unknown setting\\(s\\) \\['spectral_norms'\\]"),
    ({"loss.name": "jaxgan.penalties:r1"}, "must return jaxgan.losses.GanLoss|fails on logits"),
    ({"penalty.name": "jaxgan.losses:hinge"}, "a penalty takes \\(critic, real, fake, keys"),
])
def test_bad_research_settings_fail_before_compiling(overrides, message):
  config = helpers.tiny_config(**overrides)
  with pytest.raises(builders.ConfigError, match=message):
    builders.check_config(config)


def _no_features_pair(*, image_shape, latent_dim, axis_name):
  """A user architecture whose D exposes no features (for the feature-matching check)."""
  del latent_dim

  class PlainD(tiny.TinyDiscriminator):
    def __call__(self, x, train):
      return jnp.mean(x.reshape(x.shape[0], -1), axis=1)

  return GanPair(tiny.TinyGenerator(image_shape=tuple(image_shape), axis_name=axis_name),
                 PlainD(axis_name=axis_name))


def test_feature_matching_needs_exposed_features():
  config = helpers.tiny_config(**{"feature_matching.weight": 1.0})
  config.model.name = "tests.test_research_surface:_no_features_pair"
  with pytest.raises(builders.ConfigError, match="exposes 0 feature layers"):
    builders.build(config, (8, 8, 1))


def test_penalty_with_wrong_output_shape_is_refused():
  config = helpers.tiny_config(**{"penalty.name": "tests.test_research_surface:_mean_penalty"})
  with pytest.raises(builders.ConfigError, match="per-example values of shape"):
    builders.build(config, (8, 8, 1))


def _mean_penalty(critic, real, fake, keys):
  return jnp.mean(critic(real))  # Wrong: a scalar, not one value per example.


@pytest.mark.parametrize("name", sorted(losses.LOSSES.names()))
def test_every_loss_trains_two_steps(tmp_path, mnist_dir, name):
  config = helpers.tiny_config(mnist_dir, num_train_steps=2, **{"loss.name": name})
  result = train.train_and_evaluate(config, str(tmp_path / name))
  assert result["step"] == 2


def test_every_penalty_is_selectable():
  for name in penalties.PENALTIES.names():
    config = helpers.tiny_config(**{"penalty.name": name})
    builders.check_config(config)
    builders.build(config, (8, 8, 1)).init_states()


def test_user_loss_and_penalty_from_their_own_file(tmp_path, mnist_dir, monkeypatch):
  monkeypatch.syspath_prepend(EXAMPLE_DIR)
  config = helpers.tiny_config(mnist_dir, num_train_steps=2, n_critic=2, **{
      "loss.name": "my_gan_terms:wasserstein_with_drift", "loss.kwargs.drift": 0.01,
      "penalty.name": "my_gan_terms:lipschitz_penalty", "penalty.weight": 10.0})
  result = train.train_and_evaluate(config, str(tmp_path / "mine"))
  assert result["step"] == 2
  metrics = [line for line in open(tmp_path / "mine" / "metrics.jsonl")]
  assert '"d_penalty"' in metrics[-1] and '"d_wasserstein_estimate"' in metrics[-1]
  # The example penalty's math: zero for a critic of slope <= 1, (slope - 1)^2 above.
  sys.modules.pop("my_gan_terms", None)
  import my_gan_terms  # noqa: E402  (found through the prepended path)
  x = jnp.ones((3, 2, 2, 1))
  for slope, expected in ((0.2, 0.0), (1.0, 0.0)):
    critic = lambda v, s=slope: s * jnp.sum(v, axis=(1, 2, 3)) / 2.0  # ||grad|| = s.
    np.testing.assert_allclose(my_gan_terms.lipschitz_penalty(critic, x, x, None),
                               expected, atol=1e-7)
  critic = lambda v: 3.0 * jnp.sum(v, axis=(1, 2, 3)) / 2.0
  np.testing.assert_allclose(my_gan_terms.lipschitz_penalty(critic, x, x, None), 4.0,
                             rtol=1e-6)
