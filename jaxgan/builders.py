"""From a config to the objects a run needs, checked before anything is compiled.

Every name in the config is resolved here, every number range-checked, and every `kwargs`
sub-config checked against the signature of the thing it configures, so that a typo fails at
start-up with the field's name and the valid choices.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import os
from typing import Any, Callable, Dict, Iterator, Optional, Tuple

import jax
import jax.numpy as jnp
import ml_collections
import optax

from jaxgan import losses, models, optimizers, penalties, state, steps
from jaxgan.evaluation import evaluator
from jaxgan.models import conditional, layers
from jaxgan.tricks import averaging
from jaxgan.tricks.instance_noise import InstanceNoise
from jaxgan.tricks.replay import Replay

CRITIC_LOOPS = ("unroll", "scan")
ON_NONFINITE = ("stop", "skip")
UPDATE_ORDERS = ("alternating", "simultaneous")


class ConfigError(ValueError):
  """A config field has an invalid value; the message names the field."""


def _kwargs(sub: ml_collections.ConfigDict) -> Dict[str, Any]:
  return sub.to_dict()


def _check_kwargs(field: str, fn: Callable, kwargs: Dict[str, Any], positional: int) -> None:
  """Fails when `kwargs` names a parameter `fn` does not take (beyond `positional` ones)."""
  params = list(inspect.signature(fn).parameters.values())
  if any(p.kind is p.VAR_KEYWORD for p in params):
    return
  accepted = [p.name for p in params[positional:] if p.kind is not p.VAR_POSITIONAL]
  unknown = sorted(set(kwargs) - set(accepted))
  if unknown:
    raise ConfigError(f"{field} has unknown setting(s) {unknown}; "
                      f"{getattr(fn, '__name__', fn)} accepts {accepted or 'none'}.")


def _field(config: ml_collections.ConfigDict, field: str) -> Any:
  return functools.reduce(getattr, field.split("."), config)


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
  """Range checks of the scalar fields."""
  positive = ["num_train_steps", "batch_size", "n_critic", "log_every_steps",
              "sample_every_steps", "checkpoint_every_steps", "keep_checkpoints",
              "model.latent_dim", "num_grid_samples", "steps_per_dispatch"]
  for field in positive:
    value = _field(config, field)
    if not isinstance(value, int) or value < 1:
      raise ConfigError(f"config.{field} must be a positive integer; got {value!r}.")
  check_steps_per_dispatch(config)
  non_negative = ["penalty.weight", "d_weight_clip", "instance_noise.std",
                  "instance_noise.decay_steps", "feature_matching.weight",
                  "historical_averaging.weight", "replay.buffer_size", "balance.max_repeats",
                  "g_optimizer.clip_grad_norm", "d_optimizer.clip_grad_norm"]
  for field in non_negative:
    value = _field(config, field)
    if not value >= 0:
      raise ConfigError(f"config.{field} must be >= 0; got {value!r}.")
  fractions = {"replay.fraction": "[0, 1]", "ema.decay": "[0, 1)",
               "historical_averaging.decay": "[0, 1)"}
  for field, interval in fractions.items():
    value = _field(config, field)
    if not (0 <= value <= 1 if interval == "[0, 1]" else 0 <= value < 1):
      raise ConfigError(f"config.{field} must be in {interval}; got {value!r}.")
  for player in ("g_optimizer", "d_optimizer"):
    lr = config[player].learning_rate
    if not lr > 0:
      raise ConfigError(f"config.{player}.learning_rate must be > 0; got {lr!r}.")
  if config.on_nonfinite not in ON_NONFINITE:
    raise ConfigError(f"config.on_nonfinite must be one of {ON_NONFINITE}; got "
                      f"{config.on_nonfinite!r}.")
  if config.critic_loop not in CRITIC_LOOPS:
    raise ConfigError(f"config.critic_loop must be one of {CRITIC_LOOPS}; got "
                      f"{config.critic_loop!r}.")
  check_update_order(config)
  if config.replay.buffer_size and config.replay.buffer_size < config.batch_size:
    raise ConfigError(f"config.replay.buffer_size={config.replay.buffer_size} must hold at "
                      f"least one global batch (config.batch_size={config.batch_size}).")
  if config.balance.enabled and not config.balance.skip_below < config.balance.repeat_above:
    raise ConfigError("config.balance.skip_below must be below config.balance.repeat_above; "
                      f"got {config.balance.skip_below} and {config.balance.repeat_above}.")
  check_eval(config)
  if config.feature_matching.replace_g_loss and not config.feature_matching.weight > 0:
    raise ConfigError("config.feature_matching.replace_g_loss needs "
                      "config.feature_matching.weight > 0 (it would leave G no loss).")


def check_update_order(config: ml_collections.ConfigDict) -> None:
  """config.update_order's name, and what a simultaneous step cannot do."""
  if config.update_order not in UPDATE_ORDERS:
    raise ConfigError(f"config.update_order must be one of {UPDATE_ORDERS}; got "
                      f"{config.update_order!r}.")
  if config.update_order != "simultaneous":
    return
  # Each of these needs D's update to come before G's, or D passes G's step does not share.
  conflicts = {"config.n_critic > 1": config.n_critic > 1,
               "config.replay": config.replay.buffer_size > 0,
               "config.balance": config.balance.enabled,
               "config.feature_matching": config.feature_matching.weight > 0}
  clashing = [name for name, on in conflicts.items() if on]
  if clashing:
    raise ConfigError(f"config.update_order='simultaneous' cannot be combined with "
                      f"{', '.join(clashing)}; use update_order='alternating'.")


FEATURE_EXTRACTORS = ("classifier", "inception")


def check_eval(config: ml_collections.ConfigDict) -> None:
  """config.eval: ranges, the extractor's name, and the Inception weights file if needed."""
  ev = config.eval
  if not isinstance(ev.every_steps, int) or ev.every_steps < 0:
    raise ConfigError(f"config.eval.every_steps must be an integer >= 0; got {ev.every_steps!r}.")
  for field in ("batch_size", "classifier_steps", "kid_subsets", "kid_subset_size",
                "precision_recall_k", "density_coverage_k"):
    if not isinstance(ev[field], int) or ev[field] < 1:
      raise ConfigError(f"config.eval.{field} must be a positive integer; got {ev[field]!r}.")
  min_samples = evaluator.min_samples(ev.precision_recall_k, ev.density_coverage_k)
  if not isinstance(ev.num_samples, int) or ev.num_samples < min_samples:
    raise ConfigError(f"config.eval.num_samples must be an integer >= {min_samples} (k-NN "
                      f"metrics); got {ev.num_samples!r}.")
  if ev.feature_extractor not in FEATURE_EXTRACTORS:
    raise ConfigError(f"config.eval.feature_extractor={ev.feature_extractor!r}; valid: "
                      f"{', '.join(FEATURE_EXTRACTORS)}.")
  if (ev.feature_extractor == "inception" and ev.every_steps
      and not os.path.isfile(os.path.expanduser(ev.inception_weights))):
    raise ConfigError(
        f"config.eval.feature_extractor='inception' needs config.eval.inception_weights, a "
        f"local .npz (got {ev.inception_weights!r}, not a file). README 'Evaluation' says how "
        "to make it from the standard FID weights (python -m jaxgan.evaluation."
        "convert_inception); or use feature_extractor='classifier'.")


def _bound_function(section: str, registry, positional: int, contract: str) -> Callable:
  """Resolves config.<section>.name in `registry` and binds config.<section>.kwargs.

  Args:
    section: "loss" or "penalty".
    positional: how many positional arguments the function must take before its kwargs.
    contract: the calling convention, for the error message.
  """
  def _get(config: ml_collections.ConfigDict) -> Callable:
    name = config[section].name
    try:
      fn = registry.get(name)
    except ValueError as e:
      raise ConfigError(f"config.{section}.name: {e}") from e
    if not callable(fn):
      raise ConfigError(f"config.{section}.name={name!r} is not a function.")
    params = [p for p in inspect.signature(fn).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(params) < positional:
      raise ConfigError(f"config.{section}.name={name!r}: {contract}; "
                        f"{fn.__name__}{inspect.signature(fn)} takes fewer arguments.")
    kwargs = _kwargs(config[section].kwargs)
    _check_kwargs(f"config.{section}.kwargs", fn, kwargs, positional=positional)
    return functools.partial(fn, **kwargs) if kwargs else fn
  return _get


_get_loss = _bound_function(
    "loss", losses.LOSSES, 2, "a loss takes (real_logits, fake_logits, **kwargs) and returns "
    "jaxgan.losses.GanLoss")
_get_penalty = _bound_function(
    "penalty", penalties.PENALTIES, 4, "a penalty takes (critic, real, fake, keys, **kwargs) "
    "and returns per-example values [n]")


def get_loss_fn(config: ml_collections.ConfigDict) -> Callable:
  """The loss function with its config kwargs bound, its output checked abstractly."""
  bound = _get_loss(config)
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


def get_penalty_fn(config: ml_collections.ConfigDict) -> Callable:
  """The penalty function with its config kwargs bound (its output is checked in
  init_states, which knows the image shape)."""
  return _get_penalty(config)


def check_penalty_output(name: str, penalty_fn: Callable,
                         image_shape: Tuple[int, int, int]) -> None:
  """Calls the penalty abstractly on a linear critic; it must return one value per example."""
  if penalty_fn is penalties.none:
    return
  n = 2
  images = jax.ShapeDtypeStruct((n, *image_shape), jnp.float32)
  keys = jax.ShapeDtypeStruct((n, *base_key(0).shape), base_key(0).dtype)
  critic = lambda x: jnp.sum(x.reshape(x.shape[0], -1), axis=1)
  try:
    out = jax.eval_shape(lambda r, f, k: penalty_fn(critic, r, f, k), images, images, keys)
  except (TypeError, ValueError) as e:
    raise ConfigError(f"config.penalty ({name!r}) fails on images {tuple(images.shape)}: "
                      f"{e}") from e
  if getattr(out, "shape", None) != (n,):
    raise ConfigError(f"config.penalty.name={name!r} must return per-example values of shape "
                      f"[n] = ({n},); it returned {out!r}.")


def _model_builder(config: ml_collections.ConfigDict) -> Tuple[Callable, Dict[str, Any]]:
  """The registered builder named by config.model.name and its checked kwargs."""
  try:
    builder = models.MODELS.get(config.model.name)
  except ValueError as e:
    raise ConfigError(f"config.model.name: {e}") from e
  kwargs = _kwargs(config.model.kwargs)
  _check_kwargs("config.model.kwargs", builder, kwargs, positional=0)
  reserved = {"image_shape", "latent_dim", "axis_name"} & set(kwargs)
  if reserved:
    raise ConfigError(f"config.model.kwargs may not set {sorted(reserved)}; they come from "
                      "the dataset, config.model.latent_dim and the device layout.")
  return builder, kwargs


def check_config(config: ml_collections.ConfigDict) -> None:
  """Everything that can be checked before data is loaded: numbers, names and kwargs."""
  check_numbers(config)
  get_loss_fn(config)
  get_penalty_fn(config)
  get_optimizers(config)
  _model_builder(config)
  if config.model.num_classes:  # Numbers and mode names; the architecture's fit: get_models.
    with _conditioning_errors(config):
      conditional.check_modes(config.model.num_classes, config.model.generator_conditioning,
                              config.model.discriminator_conditioning)


def get_models(config: ml_collections.ConfigDict, image_shape: Tuple[int, int, int],
               axis_name: Optional[str]) -> models.GanPair:
  """The (G, D) pair named by config.model, for images of `image_shape`; class-conditional
  (jaxgan.models.conditional) when config.model.num_classes > 0."""
  builder, kwargs = _model_builder(config)
  try:
    pair = builder(image_shape=tuple(image_shape), latent_dim=config.model.latent_dim,
                   axis_name=axis_name, **kwargs)
  except ValueError as e:
    raise ConfigError(f"config.model: {e}") from e
  model = config.model
  if model.num_classes:
    with _conditioning_errors(config):
      pair = models.GanPair(*conditional.condition(
          pair, model.num_classes, model.generator_conditioning,
          model.discriminator_conditioning))
  return pair


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


def check_generator_output(pair: models.GanPair, latent_dim: int,
                           image_shape: Tuple[int, int, int]) -> None:
  """Fails (shape inference only, nothing compiled) if G's images do not match the data's."""
  def init_and_apply():
    labels = conditional.example_kwargs(pair.generator, 2)
    variables = pair.generator.init(jax.random.key(0), jnp.zeros((2, latent_dim)),
                                    train=False, **labels)
    return pair.generator.apply(variables, jnp.zeros((2, latent_dim)), train=False, **labels)

  out = jax.eval_shape(init_and_apply)
  if tuple(out.shape[1:]) != tuple(image_shape):
    raise ConfigError(f"config.model.name={pair.generator.__class__.__name__}: the generator "
                      f"makes images of shape {tuple(out.shape[1:])} but the dataset's are "
                      f"{tuple(image_shape)}.")


def get_optimizers(config: ml_collections.ConfigDict
                   ) -> Tuple[optax.GradientTransformation, optax.GradientTransformation]:
  """(G optimizer, D optimizer), each from its own config section."""
  out = []
  # D makes n_critic updates per train step (more with balance repeats; schedules then end
  # early, which is harmless).
  updates = {"g_optimizer": config.num_train_steps,
             "d_optimizer": config.num_train_steps * config.n_critic}
  for player in ("g_optimizer", "d_optimizer"):
    section = config[player]
    try:
      out.append(optimizers.make_optimizer(
          section.name, section.learning_rate, _kwargs(section.kwargs),
          schedule=section.schedule, schedule_kwargs=_kwargs(section.schedule_kwargs),
          total_updates=updates[player], clip_grad_norm=section.clip_grad_norm))
    except ValueError as e:
      raise ConfigError(f"config.{player}: {e}") from e
  return out[0], out[1]


def check_feature_matching(config: ml_collections.ConfigDict, pair: models.GanPair,
                           image_shape: Tuple[int, int, int]) -> None:
  """With feature matching on, D must expose its features (checked by shape inference)."""
  if not config.feature_matching.weight > 0:
    return

  def features():
    x = jnp.zeros((2, *image_shape))
    labels = conditional.example_kwargs(pair.discriminator, 2)
    variables = pair.discriminator.init(jax.random.key(0), x, train=False, **labels)
    _, collections = pair.discriminator.apply(variables, x, train=False,
                                              mutable=[layers.FEATURES_COLLECTION], **labels)
    return layers.find_features(collections.get(layers.FEATURES_COLLECTION, {}))

  try:
    jax.eval_shape(features)
  except (ValueError, KeyError) as e:
    raise ConfigError(f"config.feature_matching needs a discriminator that exposes features; "
                      f"config.model.name={config.model.name!r}: {e}") from e


def step_spec(config: ml_collections.ConfigDict, image_shape: Tuple[int, int, int],
              axis_name: Optional[str]) -> steps.StepSpec:
  """The train step's definition (models, loss, penalty, stabilisers) for this config."""
  pair = get_models(config, image_shape, axis_name)
  return steps.StepSpec(
      generator=pair.generator, discriminator=pair.discriminator,
      loss_fn=get_loss_fn(config), latent_dim=config.model.latent_dim, axis_name=axis_name,
      n_critic=config.n_critic, critic_loop=config.critic_loop,
      update_order=config.update_order,
      penalty_fn=get_penalty_fn(config), penalty_weight=float(config.penalty.weight),
      d_weight_clip=float(config.d_weight_clip),
      instance_noise=InstanceNoise(float(config.instance_noise.std),
                                   int(config.instance_noise.decay_steps)),
      feature_matching_weight=float(config.feature_matching.weight),
      feature_matching_only=bool(config.feature_matching.replace_g_loss),
      historical_weight=float(config.historical_averaging.weight),
      historical_decay=float(config.historical_averaging.decay),
      replay=Replay(int(config.replay.buffer_size), float(config.replay.fraction)),
      ema_decay=float(config.ema.decay),
      balance=steps.Balance(bool(config.balance.enabled), float(config.balance.skip_below),
                            float(config.balance.repeat_above),
                            int(config.balance.max_repeats)),
      skip_nonfinite=config.on_nonfinite == "skip")


def saved_config(saved: Dict[str, Any]) -> ml_collections.ConfigDict:
  """The config a run saved (config.json / checkpoint meta), completed with today's defaults.

  Fields added to configs/default.py after the run was made take their default values (so
  the run's game is unchanged: every addition is off by default), which lets tools load
  checkpoints written by older versions. Needs the repository root on sys.path (run from
  there); otherwise the saved config is used as it is.
  """
  try:
    from configs import default  # The repository's configs/, not an installed package.
  except ImportError:
    return ml_collections.ConfigDict(saved)
  config = default.get_config()
  # Locked sections are jaxgan's fields: fill them in. Open ones (the kwargs of a loss,
  # optimizer, ...) belong to the saved run whole: the defaults' kwargs are for the default
  # choices (Adam's b1/b2 would break a saved RMSprop). Recorded before unlocking, which
  # unlocks every section.
  open_sections = set()

  def find_open(section: ml_collections.ConfigDict) -> None:
    for value in section.values():
      if isinstance(value, ml_collections.ConfigDict):
        if not value.is_locked:
          open_sections.add(id(value))
        find_open(value)

  find_open(config)

  def merge(target: ml_collections.ConfigDict, values: Dict[str, Any]) -> None:
    with target.unlocked():
      for key, value in values.items():
        sub = target.get(key)
        if (isinstance(value, dict) and isinstance(sub, ml_collections.ConfigDict)
            and id(sub) not in open_sections):
          merge(sub, value)
        else:
          target[key] = value

  merge(config, saved)
  return config


def base_key(seed: int) -> jax.Array:
  """The run's root PRNG key; every random number of the run derives from it."""
  return jax.random.PRNGKey(seed)


def fixed_latents(seed: int, n: int, latent_dim: int) -> jax.Array:
  """The latent batch [n, latent_dim] of the periodic sample grid: fixed for the whole run."""
  return jax.random.normal(jax.random.fold_in(base_key(seed), 2**31 - 1), (n, latent_dim))


def init_states(config: ml_collections.ConfigDict, image_shape: Tuple[int, int, int]
                ) -> Tuple[models.GanPair, state.GanTrainState, state.GanTrainState]:
  """The inference-mode (G, D) pair and fresh states, initialised from config.seed.

  The modules carry no pmap axis name: use them outside pmap (sampling, evaluation).
  """
  pair = get_models(config, image_shape, axis_name=None)
  check_generator_output(pair, config.model.latent_dim, image_shape)
  check_feature_matching(config, pair, image_shape)
  check_penalty_output(config.penalty.name, get_penalty_fn(config), image_shape)
  g_tx, d_tx = get_optimizers(config)
  init_key = jax.random.fold_in(base_key(config.seed), 2**31 - 2)
  g_state, d_state = state.create_states(pair, init_key, config.model.latent_dim,
                                         tuple(image_shape), g_tx, d_tx)
  g_extras, d_extras = {}, {}
  if config.ema.decay > 0:
    g_extras[averaging.EMA_PARAMS] = g_state.params
  if config.historical_averaging.weight > 0:
    g_extras[averaging.PARAM_AVERAGE] = g_state.params
    d_extras[averaging.PARAM_AVERAGE] = d_state.params
  if config.replay.buffer_size > 0:
    d_extras.update(Replay(config.replay.buffer_size).init(
        image_shape, with_labels=config.model.num_classes > 0))
  if config.on_nonfinite == "skip":
    d_extras[steps.SKIPPED_STEPS] = jnp.zeros((), jnp.int32)
  return pair, g_state.replace(extras=g_extras), d_state.replace(extras=d_extras)
