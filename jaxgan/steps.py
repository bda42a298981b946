"""The pure training and sampling steps. No I/O and no config in here.

`train_step` runs inside `jax.pmap` (axis `parallel.AXIS_NAME`), one call per generator
update: `n_critic` discriminator updates, each on its own real batch, then one generator
update. Gradients, metrics and model statistics are averaged over the axis, so every device
keeps identical parameters. What the game is (loss, penalty, stabilisers) is a `StepSpec`,
built from the config by `jaxgan.builders.step_spec`.

Losses see D's logits of the *global* batch (all-gathered; the gather is differentiable, and
the pmean of the devices' gradients is then exactly the gradient of the global loss), so a
loss that couples examples is device-layout independent like everything else here.

A class-conditional pair (jaxgan.models.conditional) gets the batch's "label" too: each fake
is made for the class of the real image it is paired with (so fakes follow the data's class
mix, and a penalty's real/fake interpolates share a class), and D judges every image with its
class.

Randomness is derived inside the step from (base key, step, purpose, global example index):
nothing is split on the host, so a resumed run draws exactly what an uninterrupted one draws,
and a given global batch trains identically on any number of devices.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, Dict, Optional, Tuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from jax import lax

from jaxgan import parallel, penalties
from jaxgan.losses import GanLoss
from jaxgan.models import conditional, layers
from jaxgan.state import GanTrainState
from jaxgan.tricks import averaging, constraints, feature_matching
from jaxgan.tricks.instance_noise import InstanceNoise
from jaxgan.tricks.replay import Replay

Metrics = Dict[str, jax.Array]
LossFn = Callable[[jax.Array, jax.Array], GanLoss]

# Purposes of the random streams drawn in one train step (folded into the step's key).
_D_UPDATES, _G_UPDATE = 0, 1
(_NOISE, _DROPOUT_REAL, _DROPOUT_FAKE, _INSTANCE_NOISE_REAL, _INSTANCE_NOISE_FAKE, _PENALTY,
 _PENALTY_DROPOUT, _REPLAY_MIX, _REPLAY_SLOTS) = range(9)


@dataclasses.dataclass(frozen=True)
class Balance:
  """Adaptive D/G balance: skip a D update when D's loss (measured on the update's batch,
  before updating) is below skip_below; then make up to max_repeats extra D updates, each
  only while the last measured D loss is above repeat_above. All inside the compiled step."""
  enabled: bool = False
  skip_below: float = 0.3
  repeat_above: float = 1.5
  max_repeats: int = 2


# d_state.extras entry: how many steps `skip_nonfinite` skipped (int32 scalar).
SKIPPED_STEPS = "skipped_steps"


@dataclasses.dataclass(frozen=True)
class StepSpec:
  """Everything that defines one train step, apart from the states and data.

  Attributes:
    generator, discriminator: the Flax modules (with `axis_name` set inside pmap).
    loss_fn: (real_logits [N], fake_logits [N]) -> GanLoss (see jaxgan.losses).
    latent_dim: size of z.
    axis_name: the pmap axis name (train_step runs inside pmap).
    n_critic: D updates per G update; critic_loop: "unroll" (Python loop, fastest on CPU) or
      "scan" (lax.scan: compile time independent of n_critic).
    update_order: "alternating" (D updates, then G through the updated D) or "simultaneous"
      (both from one forward pass, `simultaneous_update`; n_critic 1, no replay, balance or
      feature matching).
    penalty_fn, penalty_weight: a jaxgan.penalties function and its lambda.
    d_weight_clip: clip D's parameters to [-c, c] after each update (0: off).
    instance_noise: noise on D's inputs.
    feature_matching_weight, feature_matching_only: G's feature-matching term, and whether it
      replaces G's adversarial loss.
    historical_weight, historical_decay: historical averaging for both players.
    replay: D's experience replay.
    ema_decay: EMA of G's weights (0: off).
    balance: adaptive D update skipping/repeating.
    skip_nonfinite: when a step produces a non-finite loss, gradient or parameter, keep both
      states as they were (only the step counters advance) and count it in
      d_state.extras[SKIPPED_STEPS], instead of applying the update.
  """
  generator: nn.Module
  discriminator: nn.Module
  loss_fn: LossFn
  latent_dim: int
  axis_name: Optional[str]
  n_critic: int = 1
  critic_loop: str = "unroll"
  update_order: str = "alternating"
  penalty_fn: Callable = penalties.none
  penalty_weight: float = 0.0
  d_weight_clip: float = 0.0
  instance_noise: InstanceNoise = InstanceNoise()
  feature_matching_weight: float = 0.0
  feature_matching_only: bool = False
  historical_weight: float = 0.0
  historical_decay: float = 0.0
  replay: Replay = Replay()
  ema_decay: float = 0.0
  balance: Balance = Balance()
  skip_nonfinite: bool = False

  @property
  def uses_penalty(self) -> bool:
    return self.penalty_fn is not penalties.none and self.penalty_weight > 0

  @property
  def uses_feature_matching(self) -> bool:
    return self.feature_matching_weight > 0

  @property
  def conditional(self) -> bool:
    return conditional.is_conditional(self.generator)


def latents(key: jax.Array, n: int, latent_dim: int, axis_name: Optional[str]) -> jax.Array:
  """Standard-normal latents [n, latent_dim]; row i depends on (key, its global row index)."""
  keys = layers.per_example_keys(key, n, axis_name)
  return jax.vmap(lambda k: jax.random.normal(k, (latent_dim,)))(keys)


def _apply(module: nn.Module, state: GanTrainState, params: Any, x: jax.Array,
           dropout_key: jax.Array, labels: Optional[jax.Array] = None
           ) -> Tuple[jax.Array, Dict[str, Any]]:
  """Runs `module` in train mode (on classes `labels` [n] if it is conditional); returns
  (output, updated non-parameter collections)."""
  out, new_model_state, _ = _apply_with_features(module, state, params, x, dropout_key, False,
                                                 labels)
  return out, new_model_state


def _apply_with_features(module: nn.Module, state: GanTrainState, params: Any, x: jax.Array,
                         dropout_key: jax.Array, capture: bool,
                         labels: Optional[jax.Array] = None
                         ) -> Tuple[jax.Array, Dict[str, Any], Optional[jax.Array]]:
  """As `_apply`, plus the features D exposes for feature matching when `capture`."""
  variables = {"params": params, **state.model_state}
  mutable = list(state.model_state.keys()) + ([layers.FEATURES_COLLECTION] if capture else [])
  out, collections = module.apply(variables, x, train=True, rngs={"dropout": dropout_key},
                                  mutable=mutable, **conditional.label_kwargs(module, labels))
  collections = dict(collections)
  features = None
  if capture:
    features = layers.find_features(collections.pop(layers.FEATURES_COLLECTION, {}))
  return out, collections, features


def _gather(x: jax.Array, axis_name: Optional[str]) -> jax.Array:
  """This device's rows [n, ...] -> the global batch's [N, ...] (identity outside pmap)."""
  return parallel.device_gather(x, axis_name)


def _select(pred: jax.Array, if_true: Any, if_false: Any) -> Any:
  return jax.tree.map(lambda a, b: jnp.where(pred, a, b), if_true, if_false)


def _mean(x: jax.Array) -> jax.Array:
  return jnp.mean(x.astype(jnp.float32))


def _d_objective(spec: StepSpec, d_state: GanTrainState, real_in: jax.Array,
                 fake_in: jax.Array, key: jax.Array, labels: Optional[jax.Array],
                 fake_labels: Optional[jax.Array], extras: Dict[str, Any], d_params: Any
                 ) -> Tuple[jax.Array, Tuple[Any, ...]]:
  """D's total loss on D's inputs real_in, fake_in [n, H, W, C] (the same for every update
  rule), and (GanLoss, extra terms, real logits, fake logits, D's new collections)."""
  real_logits, model_state = _apply(spec.discriminator, d_state, d_params, real_in,
                                    jax.random.fold_in(key, _DROPOUT_REAL), labels)
  fake_logits, model_state = _apply(spec.discriminator,
                                    d_state.replace(model_state=model_state), d_params,
                                    fake_in, jax.random.fold_in(key, _DROPOUT_FAKE),
                                    fake_labels)
  axis = spec.axis_name
  losses = spec.loss_fn(_gather(real_logits, axis), _gather(fake_logits, axis))
  total, terms = losses.d, {}
  if spec.uses_penalty:
    # Conditional: the critic judges with the real batch's classes (the fakes' own,
    # except replayed ones). The penalty never trains G: its interpolates are constants.
    critic = lambda x: _apply(spec.discriminator, d_state, d_params, x,
                              jax.random.fold_in(key, _PENALTY_DROPOUT), labels)[0]
    keys = layers.per_example_keys(jax.random.fold_in(key, _PENALTY), real_in.shape[0], axis)
    terms["d_penalty"] = jnp.mean(spec.penalty_fn(critic, real_in,
                                                  lax.stop_gradient(fake_in), keys))
    total = total + spec.penalty_weight * terms["d_penalty"]
  if spec.historical_weight > 0:
    terms["d_historical"] = averaging.historical_penalty(
        d_params, extras[averaging.PARAM_AVERAGE])
    total = total + spec.historical_weight * terms["d_historical"]
  return total, (losses, terms, real_logits, fake_logits, model_state)


def _apply_d_gradients(d_state: GanTrainState, grads: Any, aux: Tuple[Any, ...],
                       extras: Dict[str, Any], spec: StepSpec
                       ) -> Tuple[GanTrainState, Metrics]:
  """D's update from this device's gradients and `_d_objective`'s aux; global metrics."""
  losses, terms, real_logits, fake_logits, model_state = aux
  axis = spec.axis_name
  grads = parallel.device_mean(grads, axis)
  model_state = parallel.device_mean(model_state, axis)
  updated = d_state.apply_gradients(grads=grads).replace(model_state=model_state)
  if spec.d_weight_clip > 0:
    updated = updated.replace(params=constraints.clip_weights(updated.params,
                                                              spec.d_weight_clip))
  extras = dict(extras)
  if spec.historical_weight > 0:
    extras[averaging.PARAM_AVERAGE] = averaging.update_param_average(
        extras[averaging.PARAM_AVERAGE], updated.params, updated.step, spec.historical_decay)
  updated = updated.replace(extras=extras)
  metrics = {
      "d_loss": losses.d,
      "d_real_logit": _mean(real_logits),
      "d_fake_logit": _mean(fake_logits),
      "d_real_prob": _mean(jax.nn.sigmoid(real_logits)),
      "d_fake_prob": _mean(jax.nn.sigmoid(fake_logits)),
      **terms,
      **{f"d_{name}": value for name, value in losses.aux.items()},
  }
  metrics = parallel.device_mean(metrics, axis)
  metrics["d_grad_norm"] = optax.tree.norm(grads)
  return updated, metrics


def d_update(g_state: GanTrainState, d_state: GanTrainState, real: jax.Array, key: jax.Array,
             step: jax.Array, spec: StepSpec, labels: Optional[jax.Array] = None
             ) -> Tuple[GanTrainState, Metrics]:
  """One discriminator update on a real batch and as many fresh fakes.

  Args:
    real: this device's real images [n, H, W, C] in [-1, 1].
    labels: their classes int32 [n] (conditional models only; the fakes are made for them).
    key: this D update's key (the same on every device).
    step: the train step (G updates so far): instance-noise schedules read it.

  Returns:
    The updated D state and metrics averaged over the global batch. With balance enabled, an
    update whose pre-update D loss is below balance.skip_below leaves the state unchanged
    (except the replay buffer), and metrics["d_skipped"] is 1.
  """
  n, axis = real.shape[0], spec.axis_name
  z = latents(jax.random.fold_in(key, _NOISE), n, spec.latent_dim, axis)
  # G's BatchNorm statistics from this pass are discarded: G's state changes only in g_update.
  fake, _ = _apply(spec.generator, g_state, g_state.params, z, key, labels)
  fake = lax.stop_gradient(fake)
  fake_labels = labels
  extras = dict(d_state.extras)
  metrics = {}
  if spec.replay.enabled:
    fresh, mix_key = fake, jax.random.fold_in(key, _REPLAY_MIX)
    if labels is None:
      fake = spec.replay.mix(extras, fresh, mix_key, axis)
    else:
      fake, fake_labels = spec.replay.mix_with_labels(extras, fresh, labels, mix_key, axis)
    extras, filled = spec.replay.push(extras, fresh, jax.random.fold_in(key, _REPLAY_SLOTS),
                                      axis, labels)
    metrics["replay_filled"] = filled.astype(jnp.float32)
  # What a skipped update (balance) keeps: the old state with the buffer's fresh fakes.
  skipped = d_state.replace(extras=dict(extras))
  real_in = spec.instance_noise.add(real, jax.random.fold_in(key, _INSTANCE_NOISE_REAL), step,
                                    axis)
  fake_in = spec.instance_noise.add(fake, jax.random.fold_in(key, _INSTANCE_NOISE_FAKE), step,
                                    axis)

  loss_of = functools.partial(_d_objective, spec, d_state, real_in, fake_in, key, labels,
                              fake_labels, extras)
  grads, aux = jax.grad(loss_of, has_aux=True)(d_state.params)
  updated, d_metrics = _apply_d_gradients(d_state, grads, aux, extras, spec)
  metrics.update(d_metrics)
  if spec.balance.enabled:
    skip = metrics["d_loss"] < spec.balance.skip_below
    updated = _select(skip, skipped, updated)
    metrics["d_skipped"] = skip.astype(jnp.float32)
  return updated, metrics


def g_update(g_state: GanTrainState, d_state: GanTrainState, real: jax.Array, key: jax.Array,
             step: jax.Array, spec: StepSpec, labels: Optional[jax.Array] = None
             ) -> Tuple[GanTrainState, Metrics]:
  """One generator update through the current discriminator.

  Args:
    labels: the real images' classes int32 [n] (conditional models: G makes fakes of them).
    real: real images [n, H, W, C]; D's logits on them reach the loss (under stop_gradient)
      for losses whose G term needs them, and its features feed feature matching. When
      neither uses them, XLA removes the D pass over them.
  """
  n, axis = real.shape[0], spec.axis_name
  z = latents(jax.random.fold_in(key, _NOISE), n, spec.latent_dim, axis)
  real_in = spec.instance_noise.add(real, jax.random.fold_in(key, _INSTANCE_NOISE_REAL), step,
                                    axis)
  capture = spec.uses_feature_matching

  def loss_of(g_params):
    fake, g_model_state = _apply(spec.generator, g_state, g_params, z, key, labels)
    fake_in = spec.instance_noise.add(fake, jax.random.fold_in(key, _INSTANCE_NOISE_FAKE),
                                      step, axis)
    # D's own collections are not updated by G's step.
    fake_logits, _, fake_features = _apply_with_features(
        spec.discriminator, d_state, d_state.params, fake_in,
        jax.random.fold_in(key, _DROPOUT_FAKE), capture, labels)
    real_logits, _, real_features = _apply_with_features(
        spec.discriminator, d_state, d_state.params, real_in,
        jax.random.fold_in(key, _DROPOUT_REAL), capture, labels)
    losses = spec.loss_fn(_gather(lax.stop_gradient(real_logits), axis),
                          _gather(fake_logits, axis))
    total, terms = losses.g, {}
    if capture:
      terms["g_feature_matching"] = feature_matching.feature_matching_loss(
          real_features, fake_features, axis)
      fm = spec.feature_matching_weight * terms["g_feature_matching"]
      total = fm if spec.feature_matching_only else total + fm
    if spec.historical_weight > 0:
      terms["g_historical"] = averaging.historical_penalty(
          g_params, g_state.extras[averaging.PARAM_AVERAGE])
      total = total + spec.historical_weight * terms["g_historical"]
    return total, (losses, terms, g_model_state)

  grads, (losses, terms, g_model_state) = jax.grad(loss_of, has_aux=True)(g_state.params)
  return _apply_g_gradients(g_state, grads, losses, terms, g_model_state, spec)


def _apply_g_gradients(g_state: GanTrainState, grads: Any, losses: GanLoss,
                       terms: Metrics, g_model_state: Dict[str, Any], spec: StepSpec
                       ) -> Tuple[GanTrainState, Metrics]:
  """G's update from this device's gradients (averages, EMA); global metrics."""
  axis = spec.axis_name
  grads = parallel.device_mean(grads, axis)
  g_model_state = parallel.device_mean(g_model_state, axis)
  new_g_state = g_state.apply_gradients(grads=grads).replace(model_state=g_model_state)
  extras = dict(new_g_state.extras)
  if spec.historical_weight > 0:
    extras[averaging.PARAM_AVERAGE] = averaging.update_param_average(
        extras[averaging.PARAM_AVERAGE], new_g_state.params, new_g_state.step,
        spec.historical_decay)
  if spec.ema_decay > 0:
    decay = averaging.ema_decay_at(spec.ema_decay, new_g_state.step)
    extras[averaging.EMA_PARAMS] = averaging.update_ema(extras[averaging.EMA_PARAMS],
                                                        new_g_state.params, decay)
  new_g_state = new_g_state.replace(extras=extras)
  metrics = {"g_loss": losses.g, **terms,
             **{f"g_{name}": value for name, value in losses.aux.items()}}
  metrics = parallel.device_mean(metrics, axis)
  metrics["g_grad_norm"] = optax.tree.norm(grads)
  return new_g_state, metrics


def simultaneous_update(g_state: GanTrainState, d_state: GanTrainState, real: jax.Array,
                        key: jax.Array, step: jax.Array, spec: StepSpec,
                        labels: Optional[jax.Array] = None
                        ) -> Tuple[GanTrainState, GanTrainState, Metrics, Metrics]:
  """Both players' updates from ONE forward pass: the TensorFlow DCGAN tutorial's step.

  G makes fakes, D judges real and fake once, and both gradients come from that pass
  (simultaneous gradient descent: G's gradient is taken through the D of *before* this
  step). Equals `g_update(g, d, ...)` and `d_update(g, d, ...)` run on the same states with
  the same key (tested), at about 3/4 of their cost: G's forward pass and D's pass over the
  fakes are shared. (With spectral norm, G sees the fake logits of D's own pass, whose power
  iteration the real pass has already advanced; g_update's D pass starts from the stored
  vectors.)

  Args: as `d_update`. Returns (g_state, d_state, D metrics, G metrics).
  """
  n, axis = real.shape[0], spec.axis_name
  z = latents(jax.random.fold_in(key, _NOISE), n, spec.latent_dim, axis)
  real_in = spec.instance_noise.add(real, jax.random.fold_in(key, _INSTANCE_NOISE_REAL), step,
                                    axis)

  def d_inputs_from(g_params):
    fake, g_model_state = _apply(spec.generator, g_state, g_params, z, key, labels)
    fake_in = spec.instance_noise.add(fake, jax.random.fold_in(key, _INSTANCE_NOISE_FAKE),
                                      step, axis)
    return fake_in, g_model_state

  fake_in, g_pullback, g_model_state = jax.vjp(d_inputs_from, g_state.params, has_aux=True)
  extras = dict(d_state.extras)

  def both_losses(d_params, fake_in):
    d_total, aux = _d_objective(spec, d_state, real_in, fake_in, key, labels, labels, extras,
                                d_params)
    return (d_total, aux[0].g), aux

  (d_total, _), d_pullback, aux = jax.vjp(both_losses, d_state.params, fake_in, has_aux=True)
  one, zero = jnp.ones_like(d_total), jnp.zeros_like(d_total)
  # Two pullbacks of the one pass, each of one loss; XLA drops the half of each that is not
  # used (D's loss -> D's parameters, G's loss -> the fakes).
  d_grads = d_pullback((one, zero))[0]
  g_grads = g_pullback(d_pullback((zero, one))[1])[0]
  d_state, d_metrics = _apply_d_gradients(d_state, d_grads, aux, extras, spec)
  losses, terms = aux[0], {}
  if spec.historical_weight > 0:
    terms["g_historical"], historical_grads = jax.value_and_grad(
        averaging.historical_penalty)(g_state.params, g_state.extras[averaging.PARAM_AVERAGE])
    g_grads = jax.tree.map(lambda g, h: g + spec.historical_weight * h, g_grads,
                           historical_grads)
  g_state, g_metrics = _apply_g_gradients(g_state, g_grads, losses, terms, g_model_state,
                                          spec)
  return g_state, d_state, d_metrics, g_metrics


def _critic_updates(g_state: GanTrainState, d_state: GanTrainState, images: jax.Array,
                    labels: Optional[jax.Array], d_keys: jax.Array, step: jax.Array,
                    spec: StepSpec) -> Tuple[GanTrainState, Metrics]:
  """The n_critic D updates, image batch k (labels k) and key fold_in(d_keys, k) for update k.

  Returns D's state and each metric stacked over the updates, [n_critic].
  """
  update = lambda state, k: d_update(g_state, state, images[k], jax.random.fold_in(d_keys, k),
                                     step, spec, None if labels is None else labels[k])
  if spec.critic_loop == "scan":
    return lax.scan(update, d_state, jnp.arange(spec.n_critic))
  # The default: a Python loop (unrolled at trace time). On XLA:CPU the convolutions inside
  # a compiled loop body run ~15x slower (measured: 7.0 s vs 0.45 s per DCGAN step at batch
  # 256). n_critic is small (1-5), so the unrolled program stays small.
  all_metrics = []
  for k in range(spec.n_critic):
    d_state, metrics = update(d_state, k)
    all_metrics.append(metrics)
  return d_state, jax.tree.map(lambda *values: jnp.stack(values), *all_metrics)


def _extra_critic_updates(g_state: GanTrainState, d_state: GanTrainState, real: jax.Array,
                          labels: Optional[jax.Array], d_keys: jax.Array, step: jax.Array,
                          last_d_loss: jax.Array, spec: StepSpec
                          ) -> Tuple[GanTrainState, jax.Array]:
  """Balance: up to max_repeats more D updates (on the last real batch, fresh fakes), each
  made only while the last D loss exceeds repeat_above. Returns (D state, repeats made)."""
  repeats = jnp.zeros((), jnp.float32)
  update_with = lambda state, key: d_update(g_state, state, real, key, step, spec, labels)
  # Every repeat's metrics have the same shapes: trace them once for the skipped branch.
  metric_shapes = jax.eval_shape(update_with, d_state, d_keys)[1]
  skip_update = lambda state: (state, jax.tree.map(
      lambda s: jnp.zeros(s.shape, s.dtype), metric_shapes))
  for r in range(spec.balance.max_repeats):
    key = jax.random.fold_in(d_keys, spec.n_critic + r)
    # last_d_loss is a pmean: every device takes the same branch.
    go = last_d_loss > spec.balance.repeat_above
    d_state, metrics = lax.cond(go, lambda state: update_with(state, key), skip_update,
                                d_state)
    last_d_loss = jnp.where(go, metrics["d_loss"], last_d_loss)
    repeats = repeats + go.astype(jnp.float32)
  return d_state, repeats


def train_step(g_state: GanTrainState, d_state: GanTrainState, batch: Dict[str, jax.Array],
               base_key: jax.Array, *, spec: StepSpec
               ) -> Tuple[GanTrainState, GanTrainState, Metrics]:
  """`n_critic` D updates, then one G update (or, with spec.update_order "simultaneous",
  both updates from one forward pass). Runs inside pmap.

  Args:
    g_state, d_state: this device's replica of the two states.
    batch: {"image": [n_critic, n, H, W, C] float in [-1, 1], "label": int32 [n_critic, n]
      (read by conditional models only), ...}: one real batch per D update; the G update
      reuses the last.
    base_key: the run's key (from config.seed), identical on every device.

  Returns:
    (g_state, d_state, metrics): metrics are global-batch averages (D metrics averaged over
    the n_critic updates) plus gradient and parameter norms and `all_finite` (1.0 when every
    loss, gradient norm and parameter norm is finite, else 0.0).
  """
  images = batch["image"]
  if images.shape[0] != spec.n_critic:
    raise ValueError(f"batch holds {images.shape[0]} D batches, n_critic is {spec.n_critic}")
  labels = None
  if spec.conditional:
    if "label" not in batch:
      raise ValueError("a conditional model needs the batch's labels (batch['label']).")
    labels = batch["label"].astype(jnp.int32)
  g_before, d_before = g_state, d_state
  step = g_state.step
  step_key = jax.random.fold_in(base_key, step)
  d_keys = jax.random.fold_in(step_key, _D_UPDATES)
  last_labels = None if labels is None else labels[-1]
  if spec.update_order == "simultaneous":
    # One update of each player, with the randomness of the alternating order's D update.
    g_state, d_state, d_metrics, g_metrics = simultaneous_update(
        g_state, d_state, images[-1], jax.random.fold_in(d_keys, 0), step, spec, last_labels)
  else:
    d_state, stacked = _critic_updates(g_state, d_state, images, labels, d_keys, step, spec)
    d_metrics = jax.tree.map(jnp.mean, stacked)
    if spec.balance.enabled:
      d_state, repeats = _extra_critic_updates(g_state, d_state, images[-1], last_labels,
                                               d_keys, step, stacked["d_loss"][-1], spec)
      d_metrics["d_updates"] = spec.n_critic - jnp.sum(stacked["d_skipped"]) + repeats
      del d_metrics["d_skipped"]
    g_state, g_metrics = g_update(g_state, d_state, images[-1],
                                  jax.random.fold_in(step_key, _G_UPDATE), step, spec,
                                  last_labels)
  metrics = {**d_metrics, **g_metrics,
             "g_param_norm": optax.tree.norm(g_state.params),
             "d_param_norm": optax.tree.norm(d_state.params)}
  if spec.instance_noise.enabled:
    metrics["instance_noise_std"] = spec.instance_noise.std_at(step)
  finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(v)) for v in jax.tree.leaves(metrics)]))
  metrics["all_finite"] = finite.astype(jnp.float32)
  if spec.skip_nonfinite:
    g_state, d_state = _skip_unless(finite, g_state, d_state, g_before, d_before)
    metrics[SKIPPED_STEPS] = d_state.extras[SKIPPED_STEPS].astype(jnp.float32)
  return g_state, d_state, metrics


def train_steps(g_state: GanTrainState, d_state: GanTrainState, batches: Dict[str, jax.Array],
                base_key: jax.Array, *, spec: StepSpec
                ) -> Tuple[GanTrainState, GanTrainState, Metrics]:
  """k consecutive `train_step`s in one call (lax.scan), for config.steps_per_dispatch = k.

  Each step draws its randomness from its own step counter, as `train_step` does, so k steps
  here equal k calls of `train_step` (tests/test_steps_per_dispatch.py). Runs inside pmap.

  Args:
    batches: `train_step`'s batch with a leading [k] axis: {"image": [k, n_critic, n, H, W,
      C], ...}, step i's batch at index i.

  Returns:
    (g_state, d_state, metrics): the states after the k steps; the metrics of the last step,
    except `all_finite`, which is 1.0 only if every one of the k steps was finite.
  """
  def one_step(states, batch):
    g, d, metrics = train_step(*states, batch, base_key, spec=spec)
    return (g, d), metrics

  (g_state, d_state), stacked = lax.scan(one_step, (g_state, d_state), batches)
  metrics = jax.tree.map(lambda m: m[-1], stacked)
  metrics["all_finite"] = jnp.min(stacked["all_finite"])
  return g_state, d_state, metrics


def _skip_unless(finite: jax.Array, g_state: GanTrainState, d_state: GanTrainState,
                 g_before: GanTrainState, d_before: GanTrainState
                 ) -> Tuple[GanTrainState, GanTrainState]:
  """The updated states if `finite`, else the states from before the step with the step
  counters advanced (so the next step draws fresh randomness) and the skip counted."""
  g_state = _select(finite, g_state, g_before.replace(step=g_state.step))
  d_kept = d_before.replace(step=d_state.step)
  d_state = _select(finite, d_state, d_kept)
  skipped = d_before.extras[SKIPPED_STEPS] + (1 - finite.astype(jnp.int32))
  return g_state, d_state.replace(extras={**d_state.extras, SKIPPED_STEPS: skipped})


def sample(g_variables: Dict[str, Any], z: jax.Array, labels: Optional[jax.Array] = None, *,
           generator: nn.Module) -> jax.Array:
  """Images [n, H, W, C] in [-1, 1] from latents z [n, latent_dim] (of classes labels [n] for
  a conditional G), G in inference mode."""
  return generator.apply(g_variables, z, train=False,
                         **conditional.label_kwargs(generator, labels))
