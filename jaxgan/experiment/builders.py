"""From a config to the one `Experiment` a run uses, checked before anything is compiled.

Resolved once, in two stages:
  `resolve(config)` (before the data is loaded): every name looked up (architecture, loss,
    optimizers, game, plug-ins), every number range-checked (`run_checks`; each plug-in its
    own section), every `kwargs` sub-config checked against the signature of the thing it
    configures; the run's typed settings made (`jaxgan.core.run_settings`), which is what
    everything downstream reads instead of the config;
  `build(config, image_shape)` (once the data's shape is known): the models built and their
    shapes checked by shape inference, the game constructed.
A typo fails at start-up with the field's name and the valid choices. `train`, `sample`,
`evaluate` and the benchmarks all build through here, so they build the same objects and fail
the same way.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
from typing import Any, Callable, Dict, Iterator, NamedTuple, Optional, Tuple

import jax
import jax.numpy as jnp
import ml_collections
import optax

from jaxgan import games, losses, models, optimizers
from jaxgan import plugins as plugins_lib
from jaxgan.core import config_checks, moved_modules, random_streams, run_settings, state
from jaxgan.core.config_checks import ConfigError  # noqa: F401  (builders.ConfigError)
from jaxgan.experiment import learning_rates, run_checks
from jaxgan.games import protocol
from jaxgan.models import conditional, contract

# Names that lived here before the layout by role (issue 44).
__getattr__ = moved_modules.forwarded_attributes(__name__, {
    **{name: f"jaxgan.experiment.run_checks:{name}" for name in (
        "CRITIC_LOOPS", "ON_NONFINITE", "UPDATE_ORDERS", "FEATURE_EXTRACTORS", "check_numbers",
        "check_steps_per_dispatch", "check_update_order")},
    "learning_rate_schedules": "jaxgan.experiment.learning_rates:schedules",
    "saved_config": "jaxgan.experiment.saved_config:saved_config",
})


def get_loss_fn(config: ml_collections.ConfigDict) -> Callable:
  """The loss function with its config kwargs bound, its output checked abstractly."""
  bound = config_checks.bound_function(
      "loss", config.loss.name, config.loss.kwargs.to_dict(), losses.LOSSES, 2,
      "a loss takes (real_logits, fake_logits, **kwargs) and returns jaxgan.losses.GanLoss")
  _check_loss_output(config.loss.name, bound)
  return bound


def _check_loss_output(name: str, loss_fn: Callable) -> None:
  """Calls the loss abstractly (nothing computed) and checks it returns a GanLoss of scalars."""
  logits = jax.ShapeDtypeStruct((4,), jnp.float32)
  try:
    out = jax.eval_shape(loss_fn, logits, logits)
  except (TypeError, ValueError) as e:
    raise ConfigError(f"config.loss ({name!r}) fails on logits of shape [4]: {e}") from e
  if not isinstance(out, losses.GanLoss) or out.d.shape or out.g.shape:
    raise ConfigError(f"config.loss.name={name!r} must return jaxgan.losses.GanLoss(d=scalar, "
                      f"g=scalar, aux={{...}}); it returned {out!r}.")
  check_scalar_metrics(f"config.loss.name={name!r}", "aux", out.aux)


def check_scalar_metrics(owner: str, what: str, values: Any) -> None:
  """Every value of the dict `values` (abstract or concrete) is a scalar: they are logged."""
  if not isinstance(values, dict):
    raise ConfigError(f"{owner}: its {what} must be a dict of scalars; it is a "
                      f"{type(values).__name__}.")
  bad = [f"{k!r} has shape {tuple(jnp.shape(v))}" for k, v in values.items()
         if jnp.shape(v) != ()]
  if bad:
    raise ConfigError(f"{owner}: every value of its {what} is logged as one number, so must "
                      f"be a scalar (e.g. a .mean()); {', '.join(bad)}.")


def _registered(registry, config: ml_collections.ConfigDict, section: str,
                positional: int) -> Tuple[Callable, Dict[str, Any]]:
  """The callable registered under config.<section>.name and config.<section>.kwargs, checked
  against its signature (`positional`: how many leading arguments jaxgan passes itself)."""
  try:
    function = registry.get(config[section].name)
  except ValueError as e:
    raise ConfigError(f"config.{section}.name: {e}") from e
  kwargs = config[section].kwargs.to_dict()
  config_checks.check_kwargs(f"config.{section}.kwargs", function, kwargs, positional=positional)
  return function, kwargs


def _model_builder(config: ml_collections.ConfigDict) -> Tuple[Callable, Dict[str, Any]]:
  """The registered builder named by config.model.name and its checked kwargs."""
  builder, kwargs = _registered(models.MODELS, config, "model", positional=0)
  contract.check_builder_signature(config.model.name, builder)
  reserved = {"image_shape", "latent_dim", "axis_name"} & set(kwargs)
  if reserved:
    raise ConfigError(f"config.model.kwargs may not set {sorted(reserved)}; they come from "
                      "the dataset, config.model.latent_dim and the device layout.")
  return builder, kwargs


def _build_pair(config: ml_collections.ConfigDict, builder: Callable, kwargs: Dict[str, Any],
                image_shape: Tuple[int, int, int], axis_name: Optional[str],
                d_image_shape: Optional[Tuple[int, int, int]] = None) -> models.GanPair:
  """The config's (G, D) for `axis_name`; built for sampling (axis_name None), its contract
  with jaxgan (jaxgan.models.contract) is checked by shape inference, D on images of
  `d_image_shape` (what the plug-ins make of the data's: PacGAN's packs) if given."""
  model = config.model
  try:
    built = builder(image_shape=tuple(image_shape), latent_dim=model.latent_dim,
                    axis_name=axis_name, **kwargs)
  except ValueError as e:
    raise ConfigError(f"config.model: {e}") from e
  if isinstance(built, models.TranslationPair):
    contract.as_pair(model.name, built)
    if model.num_classes:
      raise ConfigError(f"config.model.name={model.name!r} is an image-to-image pair; it has no "
                        f"class conditioning (config.model.num_classes={model.num_classes}).")
    if axis_name is None:
      contract.check_translation_shapes(model.name, *built, tuple(image_shape))
    return built
  pair = models.GanPair(*contract.as_pair(model.name, built))
  if model.num_classes:
    with _conditioning_errors(config):
      pair = models.GanPair(*conditional.condition(
          pair, model.num_classes, model.generator_conditioning,
          model.discriminator_conditioning))
  if axis_name is None:  # With an axis, BatchNorm's statistics need a pmap to trace.
    contract.check_shapes(model.name, *pair, model.latent_dim, tuple(image_shape),
                          conditional.example_kwargs, d_image_shape)
  return pair


def get_models(config: ml_collections.ConfigDict, image_shape: Tuple[int, int, int],
               axis_name: Optional[str]) -> models.GanPair:
  """The (G, D) pair named by config.model, for images of `image_shape`; class-conditional
  (jaxgan.models.conditional) when config.model.num_classes > 0."""
  return _build_pair(config, *_model_builder(config), image_shape, axis_name)


@contextlib.contextmanager
def _conditioning_errors(config: ml_collections.ConfigDict) -> Iterator[None]:
  """Turns a ValueError from jaxgan.models.conditional into a ConfigError naming the fields."""
  model = config.model
  try:
    yield
  except ValueError as e:
    raise ConfigError(f"config.model (name={model.name!r}, num_classes={model.num_classes}, "
                      f"generator_conditioning={model.generator_conditioning!r}, "
                      f"discriminator_conditioning={model.discriminator_conditioning!r}): "
                      f"{e}") from e


def check_labels(config: ml_collections.ConfigDict, num_classes: int,
                 has_labels: bool) -> None:
  """A conditional model needs a labelled dataset whose classes it knows (after loading)."""
  wanted = config.model.num_classes
  if not wanted:
    return
  if not has_labels:
    raise ConfigError(f"config.model.num_classes={wanted} makes a conditional GAN, but "
                      f"dataset {config.dataset.name!r} has no labels.")
  if num_classes != wanted:
    raise ConfigError(f"config.model.num_classes={wanted}, but dataset "
                      f"{config.dataset.name!r} has {num_classes} classes.")


def get_optimizers(config: ml_collections.ConfigDict
                   ) -> Tuple[optax.GradientTransformation, optax.GradientTransformation]:
  """(G optimizer, D optimizer), each from its own config section."""
  out = []
  for player in ("g_optimizer", "d_optimizer"):
    section = config[player]
    try:
      out.append(optimizers.make_optimizer(
          section.name, section.learning_rate, section.kwargs.to_dict(),
          schedule=section.schedule, schedule_kwargs=section.schedule_kwargs.to_dict(),
          total_updates=learning_rates.total_updates(config, player),
          clip_grad_norm=section.clip_grad_norm))
    except ValueError as e:
      raise ConfigError(f"config.{player}: {e}") from e
  return out[0], out[1]


def _game_factory(config: ml_collections.ConfigDict) -> Tuple[Callable, Dict[str, Any]]:
  """config.game.name's factory and config.game.kwargs, checked against its signature."""
  return _registered(games.GAMES, config, "game", positional=1)


class Resolved(NamedTuple):
  """Everything a config names, looked up and checked, before the data is loaded.

  `settings` is what the loop, its outputs, the data and the evaluation read (never the
  config); `config_json`, the config as given, is what a run saves (config.json, its
  history, each checkpoint's meta)."""
  config: ml_collections.ConfigDict
  settings: run_settings.RunSettings
  config_json: str
  description: str
  model_builder: Callable
  model_kwargs: Dict[str, Any]
  loss_fn: Callable
  optimizers: Dict[str, optax.GradientTransformation]
  plugins: Tuple[Any, ...]
  game_factory: Callable
  game_kwargs: Dict[str, Any]


def resolve(config: ml_collections.ConfigDict) -> Resolved:
  """Everything that can be checked before data is loaded: numbers, names and kwargs."""
  run_checks.check_numbers(config)
  check_eval(config)
  loss_fn = get_loss_fn(config)
  plugins = get_plugins(config)
  run_checks.check_update_order(config, plugins)
  g_tx, d_tx = get_optimizers(config)
  builder, model_kwargs = _model_builder(config)
  if config.model.num_classes:  # Numbers and mode names; the architecture's fit: build().
    with _conditioning_errors(config):
      conditional.check_modes(config.model.num_classes, config.model.generator_conditioning,
                              config.model.discriminator_conditioning)
  factory, game_kwargs = _game_factory(config)
  return Resolved(config, settings_of(config), config.to_json(), describe(config), builder,
                  model_kwargs, loss_fn, {"g": g_tx, "d": d_tx}, plugins,
                  factory, game_kwargs)


def settings_of(config: ml_collections.ConfigDict) -> run_settings.RunSettings:
  """The run's typed settings (jaxgan.core.run_settings) from a checked config."""
  return run_settings.of_mapping(run_settings.RunSettings, config)


def describe(config: ml_collections.ConfigDict) -> str:
  """"model, loss loss, seed N": what pictures' titles say of a run."""
  return f"{config.model.name}, {config.loss.name} loss, seed {config.seed}"


def get_plugins(config: ml_collections.ConfigDict) -> Tuple[Any, ...]:
  """The plug-ins the config turns on, each given its own section as keyword arguments."""
  sections = {}
  for cls in plugins_lib.PLUGINS:
    value = config[cls.section]
    sections[cls.section] = (value.to_dict() if isinstance(value, ml_collections.ConfigDict)
                             else value)
  return plugins_lib.from_sections(
      sections, plugins_lib.RunFacts(batch_size=config.batch_size, model_name=config.model.name))


# Architecture settings that group the images D judges on one device: each group (of
# min(group, n) images) must divide that device's n (minibatch stddev: StyleGAN2's
# mbstd_group_size, the other families' minibatch_stddev_group).
BATCH_GROUP_KWARGS = ("mbstd_group_size", "minibatch_stddev_group")


def check_batch_groups(config: ml_collections.ConfigDict, resolved: Resolved,
                       per_device: int) -> None:
  """D's minibatch groups against the images it judges per device (the per-device batch,
  divided by PacGAN's pack size), before any data is read; the progressive game checks each
  phase's batch itself (games/progressive.py)."""
  if config.game.name == "progressive":
    return
  params = inspect.signature(resolved.model_builder).parameters
  packs = config.packing.size if config.packing.size > 1 else 1
  judged = per_device // packs
  for name in BATCH_GROUP_KWARGS:
    if name not in params:
      continue
    group = resolved.model_kwargs.get(name, params[name].default)
    if group and judged and judged % min(group, judged):
      set_by = "set" if name in resolved.model_kwargs else "its default"
      raise ConfigError(
          f"config.model.kwargs.{name}={group} ({set_by}: D's minibatch-stddev groups) must "
          f"divide the {judged} images D judges on each device (config.batch_size="
          f"{config.batch_size} over {config.batch_size // per_device} "
          f"device(s){f', in packs of {packs}' if packs > 1 else ''}). Choose a batch size "
          f"that makes it a multiple, or --config.model.kwargs.{name}=N for an N that "
          "divides it.")


def check_eval(config: ml_collections.ConfigDict) -> None:
  """config.eval's checks (`run_checks.check_eval`), for the config's game."""
  run_checks.check_eval(config, is_image_to_image(config))


def check_config(config: ml_collections.ConfigDict) -> None:
  """`resolve`, for its checks only."""
  resolve(config)


class Experiment(NamedTuple):
  """A config resolved and built once: what train, sample, evaluate and the benchmarks use.

  Attributes:
    settings: the run's typed settings (jaxgan.core.run_settings), what the loop, its
      outputs and the evaluation read.
    config_json: the config as given, as JSON (saved with each checkpoint; resuming
      compares it).
    description: "model, loss loss, seed N" (pictures' titles).
    image_shape: (H, W, C) of the data.
    game: the game (players, step, sampler; jaxgan.games).
  """
  settings: run_settings.RunSettings
  config_json: str
  description: str
  image_shape: Tuple[int, int, int]
  game: games.Game

  @property
  def seed(self) -> int:
    return self.settings.seed

  @property
  def skip_nonfinite(self) -> bool:
    """config.on_nonfinite == "skip"."""
    return self.settings.on_nonfinite == "skip"

  def init_states(self) -> Dict[str, Any]:
    """Fresh states {player: PlayerState, ..., "run": RunState} from config.seed."""
    players = self.game.init_players(random_streams.run_key(self.seed, random_streams.INIT))
    players = {name: player.replace(compute_dtype=self.settings.compute_dtype)
               for name, player in players.items()}
    return {**players, state.RUN: state.RunState.create()}

  def pmapped_step(self, steps_per_call: int = 1, cpu_options: bool = True,
                   devices: Optional[list] = None, program: Any = None) -> Callable:
    """The run's pmapped step (jaxgan.games.common.pmapped) of the game's `program`."""
    from jaxgan.games import common  # pylint: disable=g-import-not-at-top
    game = protocol.growth_of(self.game).for_program(program)
    return common.pmapped(game, self.skip_nonfinite, steps_per_call, cpu_options, devices)


def build(config: ml_collections.ConfigDict, image_shape: Tuple[int, int, int],
          resolved: Optional[Resolved] = None) -> Experiment:
  """The experiment for data of `image_shape` (`resolved`: the config's `resolve`, if done)."""
  resolved = resolved or resolve(config)
  image_shape = tuple(image_shape)
  parts = games.GameParts(
      models=functools.lru_cache(maxsize=None)(functools.partial(
          _build_pair, config, resolved.model_builder, resolved.model_kwargs, image_shape,
          d_image_shape=plugins_lib.d_input_shape(resolved.plugins, image_shape))),
      loss_fn=resolved.loss_fn, optimizers=resolved.optimizers, plugins=resolved.plugins,
      image_shape=image_shape, latent_dim=config.model.latent_dim,
      num_classes=config.model.num_classes, n_critic=config.n_critic,
      critic_loop=config.critic_loop, update_order=config.update_order,
      batch_size=config.batch_size)
  _check_pair_kind(config, resolved.game_factory, parts.models(None))
  game = resolved.game_factory(parts, **resolved.game_kwargs)
  return Experiment(resolved.settings, resolved.config_json, resolved.description, image_shape,
                    game)


def is_image_to_image(config: ml_collections.ConfigDict) -> bool:
  """Whether config.game.name is an image-to-image game (it reads two domains)."""
  return protocol.translates(_game_factory(config)[0])


def _check_pair_kind(config: ml_collections.ConfigDict, factory: Callable, pair: Any) -> None:
  """An image-to-image game (its factory's `image_to_image` is True: cyclegan) needs an
  image-to-image pair (jaxgan.models.TranslationPair), and the other games a latent one."""
  translates = protocol.translates(factory)
  if translates == isinstance(pair, models.TranslationPair):
    return
  image_to_image = [name for name in models.MODELS.names()
                    if name.startswith("cyclegan_")]
  if translates:
    raise ConfigError(f"config.game.name={config.game.name!r} translates images, so it needs an "
                      f"image-to-image architecture ({', '.join(image_to_image)}); "
                      f"config.model.name={config.model.name!r} makes images from latents.")
  raise ConfigError(f"config.model.name={config.model.name!r} is an image-to-image pair: train "
                    f"it with config.game.name='cyclegan' (config.game.name is "
                    f"{config.game.name!r}, a game of latents).")
