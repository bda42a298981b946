"""Progressive growing (config.game.name="progressive"; Karras et al., 2018, ICLR).

The standard game's players, losses, penalties and plug-ins, on networks that grow from a
low resolution to the data's (model.name="progan"; jaxgan.models.progan) by the schedule of
`jaxgan.games.growth`. Each growth phase (stage, fading) is one compiled program: the loop
asks `program(step)` and compiles `for_program(key)` once per phase. Inside a phase's step:

  * G and D run the phase's stage; while fading in, with alpha = the share of the fade's
    images shown so far (from the step: a resumed run continues at the same alpha);
  * the real images are brought to the stage's resolution and blended like G's output (the
    official `process_reals`): x_s = average down to 4 * 2^s; while fading,
    x_s = alpha * x_s + (1 - alpha) * upsample(average 2x of x_s); then repeated back to
    full size, so D sees real and fake images made the same way;
  * with reset_optimizer (the official reset_opt_for_new_lod), both players' optimizer state
    is fresh at the first step of each phase but the first (the official resets whenever the
    level of detail's floor or ceiling changes: at each fade's start and end);
  * batch_sizes {resolution: global batch} give the phases at that resolution their own
    batch (the official minibatch_dict; a fade-in uses its new resolution's): the real
    stream is addressed by the images shown before a step (`batch_at`), so the batch of a
    step stays a pure function of (seed, step);
  * learning_rate_scales {resolution: factor} multiply both players' update in the phases at
    that resolution (the official G_lrate_dict / D_lrate_dict, as factors of the configured
    rates; exact for every optimizer whose last step is the learning-rate scaling).

G's model state keeps "growth" {"stage", "alpha"} of the last step run, so samples, grids,
`jaxgan.sample` and `jaxgan.evaluate` show the resolution the networks are at (shown at full
size, each pixel repeated); the metrics carry "resolution" and "fade_alpha".
"""
from __future__ import annotations

import copy
from typing import Any, Dict, Optional

import jax
import jax.numpy as jnp
import optax
from absl import logging
from jax import lax

from jaxgan.core.config_checks import ConfigError
from jaxgan.core.state import PlayerState
from jaxgan.games import common, growth, standard
from jaxgan.games.protocol import GameParts, GrowingGame
from jaxgan.models import progan, resampling

GROWTH = "growth"  # G's model-state collection: {"stage": f32, "alpha": f32}.


def real_images_at(images: jax.Array, stage: int, last_stage: int,
                   alpha: Optional[jax.Array]) -> jax.Array:
  """Real images [..., side, side, C] as D sees them at `stage` (see the module docstring);
  `alpha` None: a stable phase."""
  factor = 2 ** (last_stage - stage)
  x = resampling.downscale(images, factor)
  if alpha is not None and stage > 0:
    x = progan.lerp(resampling.upscale(resampling.downscale(x, 2), 2), x, alpha)
  return resampling.upscale(x, factor)


def scaled_updates(tx: optax.GradientTransformation, factor: float
                   ) -> optax.GradientTransformation:
  """`tx` with its updates multiplied by `factor`, keeping `tx`'s state layout (a checkpoint
  restores into either)."""
  if factor == 1.0:
    return tx

  def update(updates, opt_state, params=None):
    updates, opt_state = tx.update(updates, opt_state, params)
    return jax.tree.map(lambda u: u * factor, updates), opt_state

  return optax.GradientTransformation(tx.init, update)


class ProgressiveGame(standard.StandardGame, GrowingGame):
  """See the module docstring. `phase` is set on the game of one program (`for_program`);
  the game itself (phase None) trains like the last phase."""
  sampling_options = ()  # Its generate takes none (ProGAN's generator has none).

  def __init__(self, parts: GameParts, stable_kimg: float, fade_kimg: float,
               initial_resolution: int, reset_optimizer: bool,
               learning_rate_scales: Dict[int, float], batch_sizes: Dict[int, int]):
    super().__init__(parts)
    if self.num_classes:
      raise ConfigError("config.game.name='progressive' is unconditional here; set "
                        "config.model.num_classes=0.")
    if not progan.is_growing(self.sampling_pair.generator) or not progan.is_growing(
        self.sampling_pair.discriminator):
      raise ConfigError("config.game.name='progressive' grows its networks, so it needs a "
                        "growing architecture: config.model.name='progan' (got "
                        f"{type(self.sampling_pair.generator).__name__} / "
                        f"{type(self.sampling_pair.discriminator).__name__}).")
    self.last_stage = progan.last_stage(self.image_shape[0])
    valid = [progan.resolution(s) for s in range(self.last_stage + 1)]
    side = f"{self.image_shape[0]}x{self.image_shape[0]}"
    first = progan.last_stage(initial_resolution)
    if first is None or first > self.last_stage:
      raise ConfigError(f"config.game.kwargs.initial_resolution={initial_resolution}: valid "
                        f"for {side} images: {valid}.")
    for name, table in (("learning_rate_scales", learning_rate_scales),
                        ("batch_sizes", batch_sizes)):
      outside = sorted(set(table) - set(valid))
      if outside:
        raise ConfigError(f"config.game.kwargs.{name}: {outside} are not resolutions of "
                          f"{side} images; valid: {valid}.")
    stage_batches = {s: batch_sizes.get(progan.resolution(s), parts.batch_size)
                     for s in range(first, self.last_stage + 1)}
    group = getattr(self.sampling_pair.discriminator, "minibatch_stddev_group", 0)
    for stage, batch in stage_batches.items():
      _check_batch(progan.resolution(stage), batch, group)
    self.schedule = growth.GrowthSchedule(
        first, self.last_stage, round(stable_kimg * 1000), round(fade_kimg * 1000),
        stage_batches, parts.n_critic)
    self.reset_optimizer = reset_optimizer
    self.learning_rate_scales = learning_rate_scales
    self.phase: Optional[growth.Phase] = None
    logging.info("Growth: %s.", self.schedule.describe())

  # --- Programs --------------------------------------------------------------------------

  def program(self, step):
    return self.schedule.phase_at(step).key

  def for_program(self, program):
    if program is None:
      return self
    game = copy.copy(self)
    game.phase = self.schedule.phase(program)
    return game

  def milestones(self, num_train_steps):
    return self.schedule.milestones(num_train_steps)

  def batch_at(self, step):
    phase = self.schedule.phase_at(step)
    return phase.images_before(step), phase.batch_size

  # --- States and sampling -----------------------------------------------------------------

  def init_players(self, key):
    players = super().init_players(key)
    g = players["g"]
    start = {"stage": jnp.asarray(self.schedule.first_stage, jnp.float32),
             "alpha": jnp.ones((), jnp.float32)}
    players["g"] = g.replace(model_state={**g.model_state, GROWTH: start})
    return players

  def generate(self, variables, inputs):
    """Samples at the stage and alpha in `variables["growth"]` (the full resolution when
    absent), clipped to [-1, 1] (G's output is linear)."""
    variables = dict(variables)
    grown = variables.pop(GROWTH, None)
    generator = self.sampling_pair.generator
    if grown is None:
      out = generator.apply(variables, inputs["z"], train=False)
    else:
      def at_stage(stage, alpha):
        g = generator.clone(stage=stage, alpha=alpha if stage > 0 else None)
        return g.apply(variables, inputs["z"], train=False)

      branches = [lambda a, s=s: at_stage(s, a) for s in range(self.last_stage + 1)]
      out = lax.switch(grown["stage"].astype(jnp.int32), branches, grown["alpha"])
    return jnp.clip(out, -1.0, 1.0)

  # --- The train step ----------------------------------------------------------------------

  def train_step(self, players, batch, key, step):
    # The loop runs for_program(program(step)); without a phase (a benchmark of the game's
    # default program), the last: the full-resolution networks.
    phase = self.phase or self.schedule.phases[-1]
    alpha = phase.alpha(step) if phase.fading else None
    at_stage = copy.copy(self)  # The standard step, on this phase's networks.
    at_stage.generator = self.generator.clone(stage=phase.stage, alpha=alpha)
    at_stage.discriminator = self.discriminator.clone(stage=phase.stage, alpha=alpha)
    players = dict(players)
    optimizers = {name: players[name].tx for name in ("g", "d")}
    scale = float(self.learning_rate_scales.get(phase.resolution, 1.0))
    for name in ("g", "d"):
      state = players[name]
      if self.reset_optimizer and phase.first_step > 0:
        fresh = state.tx.init(state.params)
        state = state.replace(opt_state=common.select(step == phase.first_step, fresh,
                                                      state.opt_state))
      players[name] = state.replace(tx=scaled_updates(state.tx, scale))
    images = real_images_at(batch["image"], phase.stage, self.last_stage, alpha)
    new, metrics = standard.StandardGame.train_step(at_stage, players, {**batch,
                                                                        "image": images},
                                                    key, step)
    new = {name: new[name].replace(tx=optimizers[name]) for name in new}
    alpha_value = jnp.ones((), jnp.float32) if alpha is None else alpha
    g: PlayerState = new["g"]
    new["g"] = g.replace(model_state={**g.model_state, GROWTH: {
        "stage": jnp.asarray(phase.stage, jnp.float32), "alpha": alpha_value}})
    metrics = {**metrics, "resolution": jnp.asarray(phase.resolution, jnp.float32),
               "fade_alpha": alpha_value}
    return new, metrics


def _per_resolution(name: str, table: Any, kind: type, example: str) -> Dict[int, Any]:
  """{resolution: value > 0} from config.game.kwargs.<name> (keys may be strings: `{"64":
  1.5}` from a command line); the game checks the resolutions are the data's."""
  try:
    out = {int(res): kind(value) for res, value in dict(table or {}).items()}
  except (TypeError, ValueError) as e:
    raise ConfigError(f"config.game.kwargs.{name} must map resolutions to {kind.__name__}s, "
                      f"e.g. {example}; got {table!r}.") from e
  bad = {res: value for res, value in out.items() if value <= 0}
  if bad:
    raise ConfigError(f"config.game.kwargs.{name}: every value must be > 0; got {bad}.")
  return out


def _check_batch(resolution: int, batch: int, group: int) -> None:
  """A phase's global batch splits evenly over the devices, and D's minibatch-stddev group
  divides each device's share (checked before compiling)."""
  devices = jax.device_count()
  if batch % devices:
    raise ConfigError(f"The {resolution}x{resolution} phases' batch {batch} (config.batch_size "
                      "or config.game.kwargs.batch_sizes) must be a multiple of the "
                      f"{devices} devices.")
  per_device = batch // devices
  if group and per_device % min(group, per_device):
    raise ConfigError(f"The {resolution}x{resolution} phases' batch {batch} leaves "
                      f"{per_device} images per device, which D's minibatch_stddev_group "
                      f"{group} does not divide; choose a batch that makes it a multiple.")


def build(parts: GameParts, stable_kimg: float = 600.0, fade_kimg: float = 600.0,
          initial_resolution: int = 4, reset_optimizer: bool = True,
          learning_rate_scales: Optional[dict] = None,
          batch_sizes: Optional[dict] = None) -> ProgressiveGame:
  """The progressive game's factory (config.game.kwargs); the defaults are the official
  code's (lod_training_kimg = lod_transition_kimg = 600, lod_initial_resolution 4,
  reset_opt_for_new_lod True).

  stable_kimg / fade_kimg: thousands of real images per stabilisation / fade-in phase.
  initial_resolution: the first stage's side (the data's side: no growing).
  learning_rate_scales: {resolution: factor} of both players' updates, e.g. {128: 1.5}.
  batch_sizes: {resolution: global batch} of its phases (config.batch_size elsewhere), e.g.
    {4: 128, 8: 128, 16: 128, 32: 64} (the official minibatch_dict).
  """
  for name, value in (("stable_kimg", stable_kimg), ("fade_kimg", fade_kimg)):
    if not value >= 0:
      raise ConfigError(f"config.game.kwargs.{name} must be >= 0; got {value!r}.")
  return ProgressiveGame(
      parts, float(stable_kimg), float(fade_kimg), int(initial_resolution),
      bool(reset_optimizer),
      _per_resolution("learning_rate_scales", learning_rate_scales, float, "{64: 1.5}"),
      _per_resolution("batch_sizes", batch_sizes, int, "{4: 128, 32: 64}"))
