"""The plug-in protocol: what a stabiliser or regulariser may do to a game's updates.

A plug-in is one file in jaxgan/plugins/ with one `Plugin` subclass. It owns:

  from_section(run, **section)  its config section's check (ConfigError naming the field),
                             and the plug-in built from it, or None when the section turns
                             it off; it receives the section's fields as keyword arguments
                             (never the config: jaxgan.experiment reads that);
  check_build(pair, shape)   checks that need the models and the image shape (abstractly);
  init_extras(player, ...)   the extra state it keeps in a player's `extras`;
  d_fakes(...)               what it does to the fakes D is shown (replay);
  d_input(...)               what it does to every image D sees, real or fake (noise,
                             augmentation, packing);
  d_input_shape(shape)       the shape of the images D then sees (packing changes it);
  d_statistics(...)          what it records from D's logits on real images in D's update
                             (ADA's overfitting heuristic);
  loss_terms()               what it adds to a player's loss (`LossTerm`s: penalties,
                             feature matching, historical averaging), how often, how weighted;
  after_update(player, st)   what it does to a player's state after its optimizer update
                             (weight clipping, parameter averages);
  step_metrics(step)         metrics of its own, once per train step.

Every hook defaults to "nothing". The game applies the plug-ins in the order of
`jaxgan.plugins.PLUGINS`, like a chain of optax transformations: each hook sees what the ones
before it made. Hooks run inside pmap and draw their randomness from the update's key with a
stream of their own (`jaxgan.core.random_streams`), per example (`layers.per_example_keys`),
so that a plug-in behaves the same on any device layout.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, ClassVar, Dict, Optional, Tuple

import jax
import jax.numpy as jnp

from jaxgan.runtime import xla_cpu

Metrics = Dict[str, jax.Array]


@dataclasses.dataclass(frozen=True)
class RunFacts:
  """What a plug-in's checks may need beyond its own config section.

  Attributes:
    batch_size: config.batch_size, the global batch of one D update.
    model_name: config.model.name, as the user wrote it (for messages).
  """
  batch_size: int
  model_name: str


@dataclasses.dataclass(frozen=True)
class UpdateContext:
  """What a loss term sees in one player's update (one device's share, inside pmap).

  Attributes:
    params: the player's parameters, the variable being differentiated.
    extras: the player's `extras` in this update (after the `d_fakes` hooks).
    key: the update's PRNG key (the same on every device).
    step: the train step (G updates so far).
    axis_name: the pmap axis, or None.
    real_in, fake_in: the images D sees in this update, after the input hooks [n, H, W, C]
      (D updates only).
    critic: D updates only: dropout_key -> (images [m, H, W, C] -> logits [m]), D with
      `params`, judging with the real batch's classes.
    real_features, fake_features: G updates only, when a plug-in `uses_features`: the
      features D exposes (`layers.expose_features`) on real images and on G's fakes.
  """
  params: Any
  extras: Dict[str, Any]
  key: jax.Array
  step: jax.Array
  axis_name: Optional[str]
  real_in: Optional[jax.Array] = None
  fake_in: Optional[jax.Array] = None
  critic: Optional[Callable[[jax.Array], Callable[[jax.Array], jax.Array]]] = None
  real_features: Optional[jax.Array] = None
  fake_features: Optional[jax.Array] = None


@dataclasses.dataclass(frozen=True)
class LossTerm:
  """A term `weight * fn(ctx)` added to one player's loss, logged as `metric`.

  Attributes:
    player: "g" or "d".
    metric: its name in the metrics (e.g. "d_penalty"): the unweighted value.
    weight: its coefficient.
    fn: UpdateContext -> scalar (a global-batch mean where it depends on the batch).
    every: lazy regularisation (Karras et al., 2020, StyleGAN2 sec. 3.1): computed only on
      the player's updates whose index (updates made before this one) is a multiple of
      `every`, with weight `weight * every` so that its average strength is unchanged; on the
      other updates it is 0 (and skipped, except on XLA:CPU: jaxgan.runtime.xla_cpu.cond).
      1: every update.
    replaces_loss: the term replaces the player's adversarial loss instead of adding to it
      (feature matching with replace_g_loss).
  """
  player: str
  metric: str
  weight: float
  fn: Callable[[UpdateContext], jax.Array]
  every: int = 1
  replaces_loss: bool = False

  def value(self, ctx: UpdateContext, updates_before: jax.Array) -> jax.Array:
    """The unweighted value in an update preceded by `updates_before` of the player's."""
    if self.every == 1:
      return self.fn(ctx)
    due = updates_before % self.every == 0  # The same on every device: a replicated count.
    return xla_cpu.cond(due, lambda: jnp.asarray(self.fn(ctx), jnp.float32),
                        lambda: jnp.zeros((), jnp.float32))

  @property
  def effective_weight(self) -> float:
    return self.weight * self.every if self.every > 1 else self.weight


def add_terms(total: jax.Array, terms: Tuple[LossTerm, ...], ctx: UpdateContext,
              updates_before: jax.Array) -> Tuple[jax.Array, Metrics]:
  """`total` (a player's adversarial loss) with every term added (or substituted), in order;
  and the terms' unweighted values by metric name."""
  values = {}
  for term in terms:
    values[term.metric] = term.value(ctx, updates_before)
    contribution = term.effective_weight * values[term.metric]
    total = contribution if term.replaces_loss else total + contribution
  return total, values


class Plugin:
  """A stabiliser or regulariser of the standard game; every hook does nothing by default.

  Class attributes:
    section: the config field it owns: a section, whose fields are `from_section`'s keyword
      arguments, or one value (config.d_weight_clip), passed as the keyword of its name.
    alternating_only: it needs D's update to come before G's (refused with
      config.update_order="simultaneous").
    uses_features: G's D passes must expose D's features (UpdateContext.*_features).
  """
  section: ClassVar[str] = ""
  alternating_only: ClassVar[bool] = False
  uses_features: ClassVar[bool] = False

  @classmethod
  def from_section(cls, run: RunFacts, **section: Any) -> Optional["Plugin"]:
    """Checks the fields of the plug-in's config section (ConfigError naming the field); the
    plug-in, or None when the section leaves it off."""
    raise NotImplementedError

  @classmethod
  def field(cls, name: str) -> str:
    """The dotted config name of the section's field `name` (for checks and messages)."""
    return f"{cls.section}.{name}"

  def check_build(self, pair: Any, image_shape: Tuple[int, int, int]) -> None:
    """Checks that need the (G, D) modules or the image shape (shape inference only)."""

  def init_extras(self, player: str, state: Any, image_shape: Tuple[int, int, int],
                  with_labels: bool) -> Dict[str, Any]:
    """Extra state this plug-in keeps in `player`'s extras (given its fresh state)."""
    return {}

  def d_fakes(self, extras: Dict[str, Any], fake: jax.Array, labels: Optional[jax.Array],
              key: jax.Array, axis_name: Optional[str]
              ) -> Tuple[jax.Array, Optional[jax.Array], Dict[str, Any], Metrics]:
    """In a D update: (the fakes [n, H, W, C] D is shown and their classes, D's extras,
    metrics), from G's fresh fakes; `key` is the update's."""
    return fake, labels, extras, {}

  def d_input(self, images: jax.Array, real: bool, key: jax.Array, step: jax.Array,
              axis_name: Optional[str], extras: Dict[str, Any]) -> jax.Array:
    """Every image batch D sees, in D's and in G's updates (`real`: real images or fakes;
    `extras`: D's, as of this update)."""
    return images

  def d_input_shape(self, image_shape: Tuple[int, int, int]) -> Tuple[int, int, int]:
    """The (H, W, C) of what `d_input` returns for images of `image_shape` (D is built and
    checked for it)."""
    return image_shape

  def d_statistics(self, extras: Dict[str, Any], real_logits: jax.Array,
                   axis_name: Optional[str]) -> Tuple[Dict[str, Any], Metrics]:
    """After D's update: D's extras and metrics, given this device's real logits [n] of the
    update (before it)."""
    return extras, {}

  def loss_terms(self) -> Tuple[LossTerm, ...]:
    return ()

  def after_update(self, player: str, state: Any) -> Any:
    """`player`'s state after its optimizer update (its `step` already counts it)."""
    return state

  def step_metrics(self, step: jax.Array) -> Metrics:
    return {}
