"""From a config to the one `Experiment` a run uses, checked before anything is compiled.

Resolved once, in two stages:
  `resolve(config)` (before the data is loaded): every name looked up (architecture, loss,
    optimizers, game, plug-ins), every number range-checked, every `kwargs` sub-config
    checked against the signature of the thing it configures;
  `build(config, image_shape)` (once the data's shape is known): the models built and their
    shapes checked by shape inference, the game constructed.
A typo fails at start-up with the field's name and the valid choices. `train`, `sample`,
`evaluate` and the benchmarks all build through here, so they build the same objects and fail
the same way.
"""
from __future__ import annotations

import contextlib
import functools
from typing import Any, Callable, Dict, Iterator, NamedTuple, Optional, Tuple

import jax
import jax.numpy as jnp
import ml_collections
import optax

from jaxgan import games, losses, models, optimizers
from jaxgan import plugins as plugins_lib
from jaxgan.core import config_checks, random_streams, state
from jaxgan.core.config_checks import ConfigError  # noqa: F401  (builders.ConfigError)
from jaxgan.evaluation import evaluator, reported_metrics
from jaxgan.experiment import learning_rates
from jaxgan.games import protocol
from jaxgan.models import conditional, contract
from jaxgan.runtime import mixed_precision, storage

CRITIC_LOOPS = ("unroll", "scan")
ON_NONFINITE = ("stop", "skip")
UPDATE_ORDERS = ("alternating", "simultaneous")
FEATURE_EXTRACTORS = ("classifier", "inception")

_field = config_checks.field


def check_steps_per_dispatch(config: ml_collections.ConfigDict) -> None:
  """Outputs happen between dispatches only, so every interval must be a multiple of
  config.steps_per_dispatch (the run's start and end need not be: steps up to the next
  multiple, and after the last, run one per dispatch)."""
  k = config.steps_per_dispatch
  intervals = ("log_every_steps", "sample_every_steps", "checkpoint_every_steps",
               "eval.every_steps")
  bad = [f"config.{name}={_field(config, name)}" for name in intervals
         if _field(config, name) % k]
  if bad:
    raise ConfigError(f"config.steps_per_dispatch={k} must divide every output interval; "
                      f"{', '.join(bad)} {'is' if len(bad) == 1 else 'are'} not a multiple of "
                      "it.")


def check_numbers(config: ml_collections.ConfigDict) -> None:
  """Range checks of the run's own scalar fields (each plug-in checks its own section)."""
  config_checks.positive_int(
      config, "num_train_steps", "batch_size", "n_critic", "log_every_steps",
      "sample_every_steps", "checkpoint_every_steps", "keep_checkpoints", "model.latent_dim",
      "num_grid_samples", "steps_per_dispatch")
  check_steps_per_dispatch(config)
  config_checks.non_negative(config, "g_optimizer.clip_grad_norm",
                             "d_optimizer.clip_grad_norm", "dataset.random_crop",
                             "dataset.prefetch")
  for player in ("g_optimizer", "d_optimizer"):
    lr = config[player].learning_rate
    if not lr > 0:
      raise ConfigError(f"config.{player}.learning_rate must be > 0; got {lr!r}.")
  for name, valid in (("on_nonfinite", ON_NONFINITE), ("critic_loop", CRITIC_LOOPS),
                      ("compute_dtype", mixed_precision.COMPUTE_DTYPES)):
    if config[name] not in valid:
      raise ConfigError(f"config.{name} must be one of {valid}; got {config[name]!r}.")
  check_eval(config)


def check_update_order(config: ml_collections.ConfigDict, plugins: Tuple[Any, ...]) -> None:
  """config.update_order's name, and what a simultaneous step cannot do."""
  if config.update_order not in UPDATE_ORDERS:
    raise ConfigError(f"config.update_order must be one of {UPDATE_ORDERS}; got "
                      f"{config.update_order!r}.")
  if config.update_order != "simultaneous":
    return
  # Each of these needs D's update to come before G's, or D passes G's step does not share.
  clashing = (["config.n_critic > 1"] if config.n_critic > 1 else []) + [
      f"config.{plugin.section}" for plugin in plugins if plugin.alternating_only]
  if clashing:
    raise ConfigError(f"config.update_order='simultaneous' cannot be combined with "
                      f"{', '.join(clashing)}; use update_order='alternating'.")


def check_eval(config: ml_collections.ConfigDict) -> None:
  """config.eval: ranges, the extractor's name, and the Inception weights file if needed."""
  ev = config.eval
  if not isinstance(ev.every_steps, int) or ev.every_steps < 0:
    raise ConfigError(f"config.eval.every_steps must be an integer >= 0; got {ev.every_steps!r}.")
  config_checks.positive_int(config, *(f"eval.{name}" for name in (
      "batch_size", "classifier_steps", "kid_subsets", "kid_subset_size", "precision_recall_k",
      "density_coverage_k")))
  min_samples = evaluator.min_samples(ev.precision_recall_k, ev.density_coverage_k)
  if not isinstance(ev.num_samples, int) or ev.num_samples < min_samples:
    raise ConfigError(f"config.eval.num_samples must be an integer >= {min_samples} (k-NN "
                      f"metrics); got {ev.num_samples!r}.")
  if ev.feature_extractor not in FEATURE_EXTRACTORS:
    raise ConfigError(f"config.eval.feature_extractor={ev.feature_extractor!r}; valid: "
                      f"{', '.join(FEATURE_EXTRACTORS)}.")
  if (ev.feature_extractor == "inception" and ev.every_steps
      and not storage.isfile(storage.expand_user(ev.inception_weights))):
    raise ConfigError(
        f"config.eval.feature_extractor='inception' needs config.eval.inception_weights, a "
        f"local .npz (got {ev.inception_weights!r}, not a file). README 'Evaluation' says how "
        "to make it from the standard FID weights (python -m jaxgan.convert_inception); "
        "or use feature_extractor='classifier'.")
  reported_metrics.check(config, is_image_to_image(config), config.model.num_classes)


def get_loss_fn(config: ml_collections.ConfigDict) -> Callable:
  """The loss function with its config kwargs bound, its output checked abstractly."""
  bound = config_checks.bound_function(
      config, "loss", losses.LOSSES, 2, "a loss takes (real_logits, fake_logits, **kwargs) "
      "and returns jaxgan.losses.GanLoss")
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
  """Everything a config names, looked up and checked, before the data is loaded."""
  config: ml_collections.ConfigDict
  model_builder: Callable
  model_kwargs: Dict[str, Any]
  loss_fn: Callable
  optimizers: Dict[str, optax.GradientTransformation]
  plugins: Tuple[Any, ...]
  game_factory: Callable
  game_kwargs: Dict[str, Any]


def resolve(config: ml_collections.ConfigDict) -> Resolved:
  """Everything that can be checked before data is loaded: numbers, names and kwargs."""
  check_numbers(config)
  loss_fn = get_loss_fn(config)
  plugins = plugins_lib.from_config(config)
  check_update_order(config, plugins)
  g_tx, d_tx = get_optimizers(config)
  builder, model_kwargs = _model_builder(config)
  if config.model.num_classes:  # Numbers and mode names; the architecture's fit: build().
    with _conditioning_errors(config):
      conditional.check_modes(config.model.num_classes, config.model.generator_conditioning,
                              config.model.discriminator_conditioning)
  factory, game_kwargs = _game_factory(config)
  return Resolved(config, builder, model_kwargs, loss_fn, {"g": g_tx, "d": d_tx}, plugins,
                  factory, game_kwargs)


def check_config(config: ml_collections.ConfigDict) -> None:
  """`resolve`, for its checks only."""
  resolve(config)


class Experiment(NamedTuple):
  """A config resolved and built once: what train, sample, evaluate and the benchmarks use.

  Attributes:
    config: the config as given (saved with each checkpoint; resuming compares it).
    image_shape: (H, W, C) of the data.
    game: the game (players, step, sampler; jaxgan.games).
    skip_nonfinite: config.on_nonfinite == "skip".
  """
  config: ml_collections.ConfigDict
  image_shape: Tuple[int, int, int]
  game: games.Game
  skip_nonfinite: bool

  @property
  def seed(self) -> int:
    return self.config.seed

  def init_states(self) -> Dict[str, Any]:
    """Fresh states {player: PlayerState, ..., "run": RunState} from config.seed."""
    players = self.game.init_players(random_streams.run_key(self.seed, random_streams.INIT))
    players = {name: player.replace(compute_dtype=self.config.compute_dtype)
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
  return Experiment(config, image_shape, game, config.on_nonfinite == "skip")


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
