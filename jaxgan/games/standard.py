"""The standard GAN: latents in, images out; players "g" and "d" (config.game.name="standard").

One train step is `n_critic` D updates, each on its own real batch and fresh fakes, then one
G update through the updated D ("alternating", jaxgan's default); or, with
config.update_order="simultaneous", both updates from one forward pass through the step's
starting states (the TensorFlow DCGAN tutorial's step). The config's plug-ins
(jaxgan.plugins) act on the D update's fakes and inputs, add terms to either player's loss
and act after each update; balance decides which D updates happen, and unrolling
(config.unrolled) has G's update judged by D after k simulated updates of its own.

Losses see D's logits of the *global* batch (all-gathered; the gather is differentiable and
the pmean of the devices' gradients is then exactly the gradient of the global loss), so a
loss that couples examples is device-layout independent like everything else.

A class-conditional pair (jaxgan.models.conditional) gets the batch's "label" too: each fake
is made for the class of the real image it is paired with (so fakes follow the data's class
mix, and a penalty's real/fake interpolates share a class), and D judges every image with its
class.

G's BatchNorm statistics change only in G's update: the D update runs G in train mode to
make fakes but discards G's updated statistics, so n_critic does not change how fast they move.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, Dict, NamedTuple, Optional, Tuple

import jax
import jax.numpy as jnp
import optax
from jax import lax

from jaxgan.core import random_streams
from jaxgan.core.state import create_player, PlayerState
from jaxgan.games import common
from jaxgan.games.protocol import Game, GameParts, Metrics
from jaxgan.losses import GanLoss
from jaxgan.models import conditional, sampling_options
from jaxgan.plugins import Balance, d_input_shape, find, loss_terms, Unrolled
from jaxgan.plugins.protocol import add_terms, UpdateContext
from jaxgan.runtime import parallel

AXIS = parallel.AXIS_NAME


def init_variables(pair: Any, rng: jax.Array, latent_dim: int,
                   image_shape: Tuple[int, int, int],
                   d_image_shape: Optional[Tuple[int, int, int]] = None) -> Tuple[Dict, Dict]:
  """Initial variables of G and D (an example batch of one, in eval mode: no rng needed);
  D's example has `d_image_shape` (what D sees after the plug-ins' d_input) if given."""
  g_key, d_key = jax.random.split(rng)
  g_vars = pair.generator.init(g_key, jnp.zeros((1, latent_dim), jnp.float32), train=False,
                               **conditional.example_kwargs(pair.generator, 1))
  d_shape = image_shape if d_image_shape is None else d_image_shape
  d_vars = pair.discriminator.init(d_key, jnp.zeros((1, *d_shape), jnp.float32),
                                   train=False,
                                   **conditional.example_kwargs(pair.discriminator, 1))
  return g_vars, d_vars


class _DAux(NamedTuple):
  """What a D objective returns beside its total (for the update and its metrics)."""
  losses: GanLoss
  terms: Metrics
  real_logits: jax.Array
  fake_logits: jax.Array
  model_state: Dict[str, Any]


class StandardGame(Game):
  """See the module docstring. Built from `GameParts`; no settings of its own."""

  def __init__(self, parts: GameParts):
    self.parts = parts
    self.sampling_pair = parts.models(None)
    self.generator, self.discriminator = parts.models(AXIS)
    self.latent_dim, self.image_shape = parts.latent_dim, tuple(parts.image_shape)
    self.num_classes = parts.num_classes
    self.n_critic = parts.n_critic
    self.real_batches_per_step = parts.n_critic
    self.plugins = parts.plugins
    self.balance = find(parts.plugins, Balance)
    self.unrolled = find(parts.plugins, Unrolled)
    self.d_image_shape = d_input_shape(parts.plugins, self.image_shape)
    self.d_terms, self.g_terms = loss_terms(parts.plugins, "d"), loss_terms(parts.plugins, "g")
    self.capture_features = any(p.uses_features for p in parts.plugins)
    self.conditional = conditional.is_conditional(self.generator)
    for plugin in parts.plugins:
      plugin.check_build(self.sampling_pair, self.image_shape)

  # --- States and sampling -------------------------------------------------------------

  def init_players(self, key: jax.Array) -> Dict[str, PlayerState]:
    g_vars, d_vars = init_variables(self.sampling_pair, key, self.latent_dim, self.image_shape,
                                    self.d_image_shape)
    players = {"g": create_player(self.sampling_pair.generator, g_vars, self.parts.optimizers["g"]),
               "d": create_player(self.sampling_pair.discriminator, d_vars,
                                  self.parts.optimizers["d"])}
    for name, state in players.items():
      extras = {}
      for plugin in self.plugins:
        extras.update(plugin.init_extras(name, state, self.image_shape, self.num_classes > 0))
      players[name] = state.replace(extras=extras)
    return players

  def sample_inputs(self, key, n, labels=None):
    inputs = {"z": jax.random.normal(key, (n, self.latent_dim))}
    if self.num_classes:
      inputs["labels"] = labels
    return inputs

  @property
  def sampling_options(self) -> Tuple[str, ...]:
    return sampling_options.of(self.sampling_pair.generator)

  def generate(self, variables, inputs, **options):
    generator = self.sampling_pair.generator
    return generator.apply(variables, inputs["z"], train=False,
                           **conditional.label_kwargs(generator, inputs.get("labels")),
                           **options)

  # --- The train step ------------------------------------------------------------------

  def train_step(self, players, batch, key, step):
    g_state, d_state = players["g"], players["d"]
    images = batch["image"]
    if images.shape[0] != self.n_critic:
      raise ValueError(f"batch holds {images.shape[0]} D batches, n_critic is {self.n_critic}")
    labels = None
    if self.conditional:
      if "label" not in batch:
        raise ValueError("a conditional model needs the batch's labels (batch['label']).")
      labels = batch["label"].astype(jnp.int32)
    d_keys = random_streams.of(key, random_streams.D_UPDATES)
    last_labels = None if labels is None else labels[-1]
    if self.parts.update_order == "simultaneous":
      # One update of each player, with the randomness of the alternating order's D update.
      g_state, d_state, d_metrics, g_metrics = self.simultaneous_update(
          g_state, d_state, images[-1], jax.random.fold_in(d_keys, 0), step, last_labels)
    else:
      d_state, stacked = self._critic_updates(g_state, d_state, images, labels, d_keys, step)
      d_metrics = jax.tree.map(jnp.mean, stacked)
      if self.balance is not None:
        update = lambda state, k: self.d_update(g_state, state, images[-1], k, step,
                                                last_labels)
        d_state, repeats = self.balance.extra_updates(update, d_state, d_keys, self.n_critic,
                                                      stacked["d_loss"][-1])
        d_metrics["d_updates"] = self.n_critic - jnp.sum(stacked["d_skipped"]) + repeats
        del d_metrics["d_skipped"]
      g_key = random_streams.of(key, random_streams.G_UPDATE)
      g_state, g_metrics = self.g_update(g_state, d_state, images[-1], g_key, step,
                                         last_labels)
    metrics = {**d_metrics, **g_metrics}
    for plugin in self.plugins:
      metrics.update(plugin.step_metrics(step))
    return {"g": g_state, "d": d_state}, metrics

  def _critic_updates(self, g_state, d_state, images, labels, d_keys, step
                      ) -> Tuple[PlayerState, Metrics]:
    """The n_critic D updates, image batch k (labels k) and key fold_in(d_keys, k) for update
    k. Returns D's state and each metric stacked over the updates, [n_critic]."""
    update = lambda state, k: self.d_update(g_state, state, images[k],
                                            jax.random.fold_in(d_keys, k), step,
                                            None if labels is None else labels[k])
    if self.parts.critic_loop == "scan":
      return lax.scan(update, d_state, jnp.arange(self.n_critic))
    # The default: a Python loop (unrolled at trace time). On XLA:CPU the convolutions inside
    # a compiled loop body run ~15x slower (measured: 7.0 s vs 0.45 s per DCGAN step at batch
    # 256). n_critic is small (1-5), so the unrolled program stays small.
    all_metrics = []
    for k in range(self.n_critic):
      d_state, metrics = update(d_state, k)
      all_metrics.append(metrics)
    return d_state, jax.tree.map(lambda *values: jnp.stack(values), *all_metrics)

  def _d_input(self, images: jax.Array, real: bool, key: jax.Array, step: jax.Array,
               d_extras: Dict[str, Any]) -> jax.Array:
    for plugin in self.plugins:
      images = plugin.d_input(images, real, key, step, AXIS, d_extras)
    return images

  def d_update(self, g_state: PlayerState, d_state: PlayerState, real: jax.Array,
               key: jax.Array, step: jax.Array, labels: Optional[jax.Array] = None
               ) -> Tuple[PlayerState, Metrics]:
    """One discriminator update on a real batch and as many fresh fakes.

    Args:
      real: this device's real images [n, H, W, C] in [-1, 1].
      key: this D update's key (the same on every device).
      step: the train step (schedules read it).
      labels: their classes int32 [n] (conditional models only; the fakes are made for them).

    Returns:
      The updated D state and metrics averaged over the global batch. With balance, an
      update whose pre-update D loss is below balance.skip_below leaves the state unchanged
      (except the replay buffer), and metrics["d_skipped"] is 1.
    """
    n = real.shape[0]
    z = common.latents(random_streams.of(key, random_streams.NOISE), n, self.latent_dim, AXIS)
    # G's BatchNorm statistics from this pass are discarded: G's state changes only in
    # g_update.
    fake = lax.stop_gradient(common.apply(self.generator, g_state, g_state.params, z, key,
                                          labels)[0])
    fake_labels, extras, metrics = labels, dict(d_state.extras), {}
    for plugin in self.plugins:
      fake, fake_labels, extras, plugin_metrics = plugin.d_fakes(extras, fake, fake_labels,
                                                                 key, AXIS)
      metrics.update(plugin_metrics)
    # What a skipped update (balance) keeps: the old state with the buffer's fresh fakes.
    skipped = d_state.replace(extras=dict(extras))
    real_in = self._d_input(real, True, key, step, extras)
    fake_in = self._d_input(fake, False, key, step, extras)
    loss_of = functools.partial(self._d_objective, d_state, real_in, fake_in, key, step, labels,
                                fake_labels, extras)
    grads, aux = jax.grad(loss_of, has_aux=True)(d_state.params)
    updated, d_metrics = self._apply_d_gradients(d_state, grads, aux, extras)
    metrics.update(d_metrics)
    if self.balance is not None:
      skip = self.balance.skip(metrics["d_loss"])
      updated = common.select(skip, skipped, updated)
      metrics["d_skipped"] = skip.astype(jnp.float32)
    return updated, metrics

  def _d_objective(self, d_state, real_in, fake_in, key, step, labels, fake_labels, extras,
                   d_params) -> Tuple[jax.Array, _DAux]:
    """D's total loss on its inputs real_in, fake_in [n, H, W, C] (the same for both update
    orders), and what the update needs beside it."""
    real_logits, model_state, _ = common.apply(
        self.discriminator, d_state, d_params, real_in,
        random_streams.of(key, random_streams.DROPOUT_REAL), labels)
    fake_logits, model_state, _ = common.apply(
        self.discriminator, d_state.replace(model_state=model_state), d_params, fake_in,
        random_streams.of(key, random_streams.DROPOUT_FAKE), fake_labels)
    losses = self.parts.loss_fn(parallel.device_gather(real_logits, AXIS),
                                parallel.device_gather(fake_logits, AXIS))
    critic = lambda dropout_key: lambda x: common.apply(
        self.discriminator, d_state, d_params, x, dropout_key, labels)[0]
    ctx = UpdateContext(params=d_params, extras=extras, key=key, step=step, axis_name=AXIS,
                        real_in=real_in, fake_in=fake_in, critic=critic)
    total, terms = add_terms(losses.d, self.d_terms, ctx, d_state.step)
    return total, _DAux(losses, terms, real_logits, fake_logits, model_state)

  def _apply_d_gradients(self, d_state, grads, aux: _DAux, extras
                         ) -> Tuple[PlayerState, Metrics]:
    """D's update from this device's gradients and `_d_objective`'s aux; global metrics."""
    updated, grads = common.apply_update(d_state, grads, aux.model_state, AXIS, extras)
    plugin_metrics = {}
    for plugin in self.plugins:
      extras, observed = plugin.d_statistics(extras, aux.real_logits, AXIS)
      plugin_metrics.update(observed)
    updated = updated.replace(extras=extras)
    for plugin in self.plugins:
      updated = plugin.after_update("d", updated)
    metrics = {
        "d_loss": aux.losses.d,
        "d_real_logit": common.mean(aux.real_logits),
        "d_fake_logit": common.mean(aux.fake_logits),
        "d_real_prob": common.mean(jax.nn.sigmoid(aux.real_logits)),
        "d_fake_prob": common.mean(jax.nn.sigmoid(aux.fake_logits)),
        **aux.terms,
        **{f"d_{name}": value for name, value in aux.losses.aux.items()},
    }
    metrics = {**common.global_mean(metrics, AXIS), **plugin_metrics}
    metrics["d_grad_norm"] = optax.tree.norm(grads)
    return updated, metrics

  def g_update(self, g_state: PlayerState, d_state: PlayerState, real: jax.Array,
               key: jax.Array, step: jax.Array, labels: Optional[jax.Array] = None
               ) -> Tuple[PlayerState, Metrics]:
    """One generator update through the current discriminator.

    Args:
      real: real images [n, H, W, C]; D's logits on them reach the loss (under
        stop_gradient) for losses whose G term needs them, and its features feed feature
        matching. When neither uses them, XLA removes the D pass over them.
      labels: the real images' classes int32 [n] (conditional models: G makes fakes of them).
    """
    n = real.shape[0]
    z = common.latents(random_streams.of(key, random_streams.NOISE), n, self.latent_dim, AXIS)
    real_in = self._d_input(real, True, key, step, d_state.extras)
    capture = self.capture_features

    def loss_of(g_params):
      fake, g_model_state, _ = common.apply(self.generator, g_state, g_params, z, key, labels)
      fake_in = self._d_input(fake, False, key, step, d_state.extras)
      d_params = d_state.params
      if self.unrolled is not None:
        d_params = self._unrolled_critic(d_state, real_in, fake_in, key, step, labels)
      # D's own collections are not updated by G's step.
      fake_logits, _, fake_features = common.apply(
          self.discriminator, d_state, d_params, fake_in,
          random_streams.of(key, random_streams.DROPOUT_FAKE), labels, capture)
      real_logits, _, real_features = common.apply(
          self.discriminator, d_state, d_params, real_in,
          random_streams.of(key, random_streams.DROPOUT_REAL), labels, capture)
      losses = self.parts.loss_fn(parallel.device_gather(lax.stop_gradient(real_logits), AXIS),
                                  parallel.device_gather(fake_logits, AXIS))
      ctx = UpdateContext(params=g_params, extras=g_state.extras, key=key, step=step,
                          axis_name=AXIS, real_features=real_features,
                          fake_features=fake_features)
      total, terms = add_terms(losses.g, self.g_terms, ctx, g_state.step)
      return total, (losses, terms, g_model_state)

    grads, (losses, terms, g_model_state) = jax.grad(loss_of, has_aux=True)(g_state.params)
    return self._apply_g_gradients(g_state, grads, losses, terms, g_model_state)

  def _unrolled_critic(self, d_state: PlayerState, real_in: jax.Array, fake_in: jax.Array,
                       key: jax.Array, step: jax.Array, labels: Optional[jax.Array]) -> Any:
    """D's parameters after config.unrolled.steps simulated updates of D's objective on
    (real_in, fake_in) (jaxgan.plugins.unrolled), as a function of the fakes: G's update
    differentiates through it. Simulated update i draws from fold_in(key's UNROLL stream, i)."""

    def objective(d_params, collections, update_key):
      total, aux = self._d_objective(d_state.replace(model_state=collections), real_in,
                                     fake_in, update_key, step, labels, labels,
                                     d_state.extras, d_params)
      return total, aux.model_state

    return self.unrolled.critic_params(d_state, objective,
                                       random_streams.of(key, random_streams.UNROLL), AXIS)

  def _apply_g_gradients(self, g_state, grads, losses: GanLoss, terms: Metrics,
                         g_model_state) -> Tuple[PlayerState, Metrics]:
    """G's update from this device's gradients (then the plug-ins'); global metrics."""
    updated, grads = common.apply_update(g_state, grads, g_model_state, AXIS)
    for plugin in self.plugins:
      updated = plugin.after_update("g", updated)
    metrics = {"g_loss": losses.g, **terms,
               **{f"g_{name}": value for name, value in losses.aux.items()}}
    metrics = common.global_mean(metrics, AXIS)
    metrics["g_grad_norm"] = optax.tree.norm(grads)
    return updated, metrics

  def simultaneous_update(self, g_state: PlayerState, d_state: PlayerState, real: jax.Array,
                          key: jax.Array, step: jax.Array, labels: Optional[jax.Array] = None
                          ) -> Tuple[PlayerState, PlayerState, Metrics, Metrics]:
    """Both players' updates from ONE forward pass: the TensorFlow DCGAN tutorial's step.

    G makes fakes, D judges real and fake once, and both gradients come from that pass
    (simultaneous gradient descent: G's gradient is taken through the D of *before* this
    step). Equals `g_update(g, d, ...)` and `d_update(g, d, ...)` run on the same states with
    the same key (tested), at about 3/4 of their cost: G's forward pass and D's pass over the
    fakes are shared. (With spectral norm, G sees the fake logits of D's own pass, whose
    power iteration the real pass has already advanced; g_update's D pass starts from the
    stored vectors.) G's own loss terms (historical averaging) add their gradients.

    Args: as `d_update`. Returns (g_state, d_state, D metrics, G metrics).
    """
    n = real.shape[0]
    z = common.latents(random_streams.of(key, random_streams.NOISE), n, self.latent_dim, AXIS)
    real_in = self._d_input(real, True, key, step, d_state.extras)

    def d_inputs_from(g_params):
      fake, g_model_state, _ = common.apply(self.generator, g_state, g_params, z, key, labels)
      return self._d_input(fake, False, key, step, d_state.extras), g_model_state

    fake_in, g_pullback, g_model_state = jax.vjp(d_inputs_from, g_state.params, has_aux=True)
    extras = dict(d_state.extras)

    def both_losses(d_params, fake_in):
      d_total, aux = self._d_objective(d_state, real_in, fake_in, key, step, labels, labels,
                                       extras, d_params)
      return (d_total, aux.losses.g), aux

    (d_total, _), d_pullback, aux = jax.vjp(both_losses, d_state.params, fake_in,
                                            has_aux=True)
    one, zero = jnp.ones_like(d_total), jnp.zeros_like(d_total)
    # Two pullbacks of the one pass, each of one loss; XLA drops the half of each that is not
    # used (D's loss -> D's parameters, G's loss -> the fakes).
    d_grads = d_pullback((one, zero))[0]
    g_grads = g_pullback(d_pullback((zero, one))[1])[0]
    d_state, d_metrics = self._apply_d_gradients(d_state, d_grads, aux, extras)
    ctx = UpdateContext(params=g_state.params, extras=g_state.extras, key=key, step=step,
                        axis_name=AXIS)
    terms = {}
    for term in self.g_terms:  # None replaces G's loss: builders refuses those here.
      value_of = lambda params, term=term: term.value(dataclasses.replace(ctx, params=params),
                                                      g_state.step)
      terms[term.metric], term_grads = jax.value_and_grad(value_of)(g_state.params)
      g_grads = jax.tree.map(lambda g, h, w=term.effective_weight: g + w * h, g_grads,
                             term_grads)
    g_state, g_metrics = self._apply_g_gradients(g_state, g_grads, aux.losses, terms,
                                                 g_model_state)
    return g_state, d_state, d_metrics, g_metrics


def build(parts: GameParts) -> StandardGame:
  """The standard game's factory (config.game.name="standard"; no config.game.kwargs)."""
  return StandardGame(parts)
