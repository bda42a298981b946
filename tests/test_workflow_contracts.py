"""A researcher's own pieces: every plug-in contract checked at start-up (by shape inference,
nothing compiled), misspelt fields as one line, and the listing of what a config can name."""
import os
import subprocess
import sys

import flax.linen as nn
import jax.numpy as jnp
import pytest

from jaxgan import games, losses, models, optimizers, penalties, plugins
from jaxgan.evaluation import protocols
from jaxgan.experiment import builders, config_overrides, listing
from jaxgan.losses import GanLoss
from jaxgan.models import GanPair, tiny
from tests import helpers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = "tests.test_workflow_contracts"
SHAPE = (8, 8, 1)


class _ColumnD(nn.Module):
  """D returning [n, 1] (the classic mistake: a Dense(1) without the reshape)."""
  axis_name: object = None

  @nn.compact
  def __call__(self, x, train):
    return nn.Dense(1)(x.reshape(x.shape[0], -1))


class _ScalarD(nn.Module):
  """D returning one number for the whole batch."""
  axis_name: object = None

  @nn.compact
  def __call__(self, x, train):
    return jnp.mean(nn.Dense(1)(x.reshape(x.shape[0], -1)))


class _NoTrainG(nn.Module):
  @nn.compact
  def __call__(self, z):
    return jnp.tanh(nn.Dense(64)(z)).reshape(z.shape[0], *SHAPE)


def _g(image_shape, axis_name):
  return tiny.TinyGenerator(image_shape=tuple(image_shape), axis_name=axis_name)


def column_d(*, image_shape, latent_dim, axis_name):
  return GanPair(_g(image_shape, axis_name), _ColumnD())


def scalar_d(*, image_shape, latent_dim, axis_name):
  return GanPair(_g(image_shape, axis_name), _ScalarD())


def as_dict(*, image_shape, latent_dim, axis_name):
  return {"generator": _g(image_shape, axis_name), "discriminator": _ColumnD()}


def plain_tuple(*, image_shape, latent_dim, axis_name):
  return (_g(image_shape, axis_name), tiny.TinyDiscriminator(axis_name=axis_name))


def no_axis_name(*, image_shape, latent_dim):
  return GanPair(_g(image_shape, None), tiny.TinyDiscriminator())


def g_without_train(*, image_shape, latent_dim, axis_name):
  return GanPair(_NoTrainG(), tiny.TinyDiscriminator(axis_name=axis_name))


def wrong_image_size(*, image_shape, latent_dim, axis_name):
  return GanPair(_g((4, 4, 1), axis_name), tiny.TinyDiscriminator(axis_name=axis_name))


def per_example_aux_loss(real_logits, fake_logits):
  base = losses.non_saturating(real_logits, fake_logits)
  return GanLoss(base.d, base.g, {"margin": real_logits - fake_logits})  # Not a scalar.


def weighted_loss(real_logits, fake_logits, logit_weight: float = 1.0):
  return losses.non_saturating(logit_weight * real_logits, logit_weight * fake_logits)


@pytest.mark.parametrize("builder,message", [
    ("column_d", r"must return one logit per image, shape \[n\].*returns \(2, 1\)"),
    ("scalar_d", r"must return one logit per image.*returns \(\)"),
    ("as_dict", r"must return jaxgan.models.GanPair\(generator, discriminator\); it returned "
                r"dict"),
    ("no_axis_name", r"must take the keyword arguments image_shape, latent_dim, axis_name.*"
                     r"lacks axis_name"),
    ("g_without_train", r"the generator _NoTrainG.__call__\(self, z\) must take a keyword "
                        r"argument `train`"),
    ("wrong_image_size", r"generator makes images of shape \(4, 4, 1\).*dataset's images are "
                         r"\(8, 8, 1\)"),
])
def test_a_broken_architecture_is_refused_naming_the_builder(builder, message):
  """Each case used to train silently (D [n, 1] or a scalar: the loss broadcast it) or fail
  with a raw traceback; now a ConfigError naming "module:builder" as the user wrote it."""
  config = helpers.tiny_config(**{"model.name": f"{HERE}:{builder}"})
  with pytest.raises(builders.ConfigError, match=message) as error:
    builders.build(config, SHAPE)
  assert f"config.model.name='{HERE}:{builder}'" in str(error.value)


def test_a_plain_tuple_of_modules_is_a_pair():
  config = helpers.tiny_config(**{"model.name": f"{HERE}:plain_tuple"})
  assert len(builders.build(config, SHAPE).game.init_players(
      jnp.zeros((2,), jnp.uint32))) == 2


def test_a_loss_whose_aux_is_not_scalar_is_refused_at_start_up():
  """It used to pass the check and crash at the first log step (metric_logging)."""
  config = helpers.tiny_config(**{"loss.name": f"{HERE}:per_example_aux_loss"})
  with pytest.raises(builders.ConfigError, match=r"aux.*'margin' has shape \(4,\)"):
    builders.check_config(config)


@pytest.mark.parametrize("overrides,message", [
    ({"loss.name": f"{HERE}:weighted_loss", "loss.kwargs.logit_weight": "abc"},
     r"config.loss.kwargs.logit_weight='abc': weighted_loss takes a float"),
    ({"model.name": "dcgan_tutorial", "model.kwargs.leaky_relu_slope": "abc"},
     r"leaky_relu_slope='abc'.*takes a float"),
    ({"model.kwargs.spectral_norm": 1.0}, r"spectral_norm=1.0.*takes a bool"),
    ({"g_optimizer.kwargs.eps": "x"}, r"config.g_optimizer: Optimizer 'adam' setting.eps='x'"),
    ({"d_optimizer.schedule": "linear", "d_optimizer.schedule_kwargs.warmup_steps": 2.5},
     r"warmup_steps=2.5: linear takes an int"),
    ({"penalty.name": "wgan_gp", "penalty.weight": 1.0, "penalty.kwargs.target": "1"},
     r"config.penalty.kwargs.target='1': wgan_gp takes a float"),
])
def test_a_setting_of_the_wrong_type_is_refused_naming_it(overrides, message):
  """A command-line value that is not a literal arrives as a string; it used to fail later
  with a message about shapes or a deep JAX TypeError."""
  with pytest.raises(builders.ConfigError, match=message):
    builders.check_config(helpers.tiny_config(**overrides))


def test_an_int_is_a_valid_float_setting():
  config = helpers.tiny_config(**{"loss.name": f"{HERE}:weighted_loss",
                                  "loss.kwargs.logit_weight": 2})
  builders.check_config(config)


def test_unknown_field_names_the_closest_valid_one():
  config = helpers.tiny_config()
  assert config_overrides.unknown_field(config, "loss.name") is None
  message = config_overrides.unknown_field(config, "loss.nme")
  assert message.startswith("--config.loss.nme: config.loss has no field 'nme' (did you mean "
                            "'name'?); its fields: kwargs, name.")
  assert "did you mean 'loss'" in config_overrides.unknown_field(config, "los.name")
  assert "config.eval has no field" in config_overrides.unknown_field(config, "eval.fid_k")


def _run_cli(args, cwd):
  return subprocess.run([sys.executable, "-m", "jaxgan.main", *args], cwd=cwd,
                        capture_output=True, text=True, timeout=300)


def test_cli_misspelt_field_is_one_line_and_configs_load_from_any_directory(tmp_path):
  """From another working directory (the config file imports configs.default): the one-line
  ConfigError, no traceback, status 1, no workdir created."""
  workdir = tmp_path / "run"
  done = _run_cli([f"--config={ROOT}/configs/dcgan.py", f"--workdir={workdir}",
                   "--config.loss.nme=hinge"], cwd=str(tmp_path))
  assert done.returncode == 1
  assert "Traceback" not in done.stderr
  assert ("ConfigError: --config.loss.nme: config.loss has no field 'nme' (did you mean "
          "'name'?)") in done.stderr
  assert not workdir.exists()


def test_a_missing_config_file_is_one_line(tmp_path, monkeypatch, capsys):
  """Before: ml_collections' ~40-line traceback when the config was first read. run() checks
  the file before absl parses the flags."""
  monkeypatch.chdir(tmp_path)
  monkeypatch.setattr(sys, "argv", ["jaxgan.main", "--config=configs/dcgan.py",
                                    "--workdir=w"])
  with pytest.raises(SystemExit) as exit_:
    config_overrides.run(lambda argv: None)
  assert exit_.value.code == 1
  err = capsys.readouterr().err
  assert err.count("\n") == 1 and err.startswith(
      f"ConfigError: --config=configs/dcgan.py: cannot read 'configs/dcgan.py' "
      f"({tmp_path}/configs/dcgan.py): No such file or directory. The recipes are in the "
      "repository's configs/ folder: run from the repository's root")


def test_listing_names_every_registered_piece():
  text = listing.describe()
  for registry in (models.MODELS, losses.LOSSES, penalties.PENALTIES, optimizers.OPTIMIZERS,
                   optimizers.SCHEDULES, games.GAMES):
    for name in registry.names():
      assert f"\n  {name} " in text, name
  for plugin in plugins.PLUGINS:
    assert f"config.{plugin.section} " in text
  for protocol in protocols.PRESETS:  # config.eval.protocol's presets.
    assert f"\n  {protocol} " in text, protocol
  assert listing.first_line(losses.non_saturating) in text  # Each entry's first sentence.
  assert listing.first_line(losses.non_saturating).startswith("The standard GAN loss")


def test_cli_list_needs_no_config(tmp_path):
  done = _run_cli(["--list"], cwd=str(tmp_path))
  assert done.returncode == 0, done.stderr
  assert done.stdout.startswith("Architectures (config.model.name):")
  assert "wgan_gp" in done.stdout and "config.ema" in done.stdout


def test_the_readme_architecture_example_meets_the_contract(monkeypatch):
  monkeypatch.syspath_prepend(os.path.join(ROOT, "experiments", "custom_architecture"))
  config = helpers.tiny_config(**{"model.name": "my_models:build_pair",
                                  "model.kwargs.width": 16})
  experiment = builders.build(config, SHAPE)
  assert set(experiment.game.init_players(jnp.zeros((2,), jnp.uint32))) == {"g", "d"}
  config = helpers.tiny_config(**{"model.name": "my_models:build_pair",
                                  "model.kwargs.width": "wide"})
  with pytest.raises(builders.ConfigError, match="width='wide': build_pair takes an int"):
    builders.check_config(config)


def test_distributed_without_a_cluster_stops_with_what_to_pass(tmp_path):
  env = {k: v for k, v in os.environ.items()
         if not k.startswith(("SLURM_", "OMPI_", "TPU_", "JAX_COORDINATOR", "KUBERNETES_"))}
  done = subprocess.run([sys.executable, "-m", "jaxgan.main", "--distributed",
                         f"--config={ROOT}/configs/dcgan.py", f"--workdir={tmp_path / 'run'}"],
                        cwd=str(tmp_path), capture_output=True, text=True, timeout=300, env=env)
  assert done.returncode != 0
  assert "--distributed found no cluster to join" in done.stderr
  assert "--coordinator_address=HOST0:PORT --num_processes=N --process_id=I" in done.stderr
  assert not (tmp_path / "run").exists()


def test_cli_trains_from_another_directory(tmp_path):
  """The README's command with the recipe named by an absolute path, run elsewhere: the
  recipe's `from configs import default` resolves to its own repository."""
  from tests import helpers
  data = helpers.write_fake_mnist(str(tmp_path / "data"), n=16)
  done = _run_cli([f"--config={ROOT}/configs/dcgan.py", f"--workdir={tmp_path / 'run'}",
                   f"--config.dataset.local_dir={data}", "--config.dataset.split=test",
                   "--config.model.name=tiny", "--config.model.latent_dim=8",
                   "--config.batch_size=8", "--config.num_train_steps=1",
                   "--config.eval.every_steps=0", "--config.num_grid_samples=4"],
                  cwd=str(tmp_path))
  assert done.returncode == 0, done.stderr[-2000:]
  assert (tmp_path / "run" / "checkpoints" / "1").is_dir()
