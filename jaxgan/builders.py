"""From a config to the objects a run needs, checked before anything is compiled.

Every name in the config is resolved here, every number range-checked, and every `kwargs`
sub-config checked against the signature of the thing it configures, so that a typo fails at
start-up with the field's name and the valid choices.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Dict, Optional, Tuple

import jax
import jax.numpy as jnp
import ml_collections
import optax

from jaxgan import losses, models, state


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


def check_numbers(config: ml_collections.ConfigDict) -> None:
  """Range checks of the scalar fields."""
  positive = ["num_train_steps", "batch_size", "n_critic", "log_every_steps",
              "sample_every_steps", "checkpoint_every_steps", "keep_checkpoints",
              "model.latent_dim", "num_grid_samples"]
  for field in positive:
    value = functools.reduce(getattr, field.split("."), config)
    if not isinstance(value, int) or value < 1:
      raise ConfigError(f"config.{field} must be a positive integer; got {value!r}.")
  for player in ("g_optimizer", "d_optimizer"):
    lr = config[player].learning_rate
    if not lr > 0:
      raise ConfigError(f"config.{player}.learning_rate must be > 0; got {lr!r}.")


def get_loss_fn(config: ml_collections.ConfigDict) -> Callable:
  """The loss function with its config kwargs bound."""
  try:
    fn = losses.LOSSES.get(config.loss.name)
  except ValueError as e:
    raise ConfigError(f"config.loss.name: {e}") from e
  if not callable(fn):
    raise ConfigError(f"config.loss.name={config.loss.name!r} is not a function.")
  params = [p for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
  if len(params) < 2:
    raise ConfigError(f"config.loss.name={config.loss.name!r}: a loss takes (real_logits, "
                      "fake_logits, **kwargs) and returns jaxgan.losses.GanLoss; "
                      f"{fn.__name__}{inspect.signature(fn)} takes fewer arguments.")
  kwargs = _kwargs(config.loss.kwargs)
  _check_kwargs("config.loss.kwargs", fn, kwargs, positional=2)
  return functools.partial(fn, **kwargs) if kwargs else fn


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
  get_optimizers(config)
  _model_builder(config)


def get_models(config: ml_collections.ConfigDict, image_shape: Tuple[int, int, int],
               axis_name: Optional[str]) -> models.GanPair:
  """The (G, D) pair named by config.model, for images of `image_shape`."""
  builder, kwargs = _model_builder(config)
  try:
    return builder(image_shape=tuple(image_shape), latent_dim=config.model.latent_dim,
                   axis_name=axis_name, **kwargs)
  except ValueError as e:
    raise ConfigError(f"config.model: {e}") from e


def check_generator_output(pair: models.GanPair, latent_dim: int,
                           image_shape: Tuple[int, int, int]) -> None:
  """Fails (shape inference only, nothing compiled) if G's images do not match the data's."""
  def init_and_apply():
    variables = pair.generator.init(jax.random.key(0), jnp.zeros((2, latent_dim)),
                                    train=False)
    return pair.generator.apply(variables, jnp.zeros((2, latent_dim)), train=False)

  out = jax.eval_shape(init_and_apply)
  if tuple(out.shape[1:]) != tuple(image_shape):
    raise ConfigError(f"config.model.name={pair.generator.__class__.__name__}: the generator "
                      f"makes images of shape {tuple(out.shape[1:])} but the dataset's are "
                      f"{tuple(image_shape)}.")


def get_optimizers(config: ml_collections.ConfigDict
                   ) -> Tuple[optax.GradientTransformation, optax.GradientTransformation]:
  """(G optimizer, D optimizer), each from its own config section."""
  out = []
  for player in ("g_optimizer", "d_optimizer"):
    section = config[player]
    try:
      out.append(state.make_optimizer(section.name, section.learning_rate,
                                      _kwargs(section.kwargs)))
    except ValueError as e:
      raise ConfigError(f"config.{player}: {e}") from e
  return out[0], out[1]


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
  g_tx, d_tx = get_optimizers(config)
  init_key = jax.random.fold_in(base_key(config.seed), 2**31 - 2)
  g_state, d_state = state.create_states(pair, init_key, config.model.latent_dim,
                                         tuple(image_shape), g_tx, d_tx)
  return pair, g_state, d_state
