"""What a game is: the small protocol every GAN family implements.

A game owns everything between the data and the metrics: its named players and how their
states are made, one pure per-device train step, which compiled program a step needs, and how
samples are made. Everything around it is shared and knows nothing of the family:

  * `jaxgan.train` runs the loop (resume, log, sample grids, evaluation, checkpoints) on the
    states dict {player name: PlayerState, ..., "run": RunState};
  * `jaxgan.games.common` wraps `train_step` with the run's counters, finiteness checks,
    skip-on-non-finite and k steps per dispatch, and pmaps it;
  * `jaxgan.sample`, `jaxgan.evaluate` and the benchmarks sample through `sample_inputs` and
    `generate`.

A game is built from `GameParts` (everything the config names, resolved and checked once by
`jaxgan.experiment.builders`) plus its own settings from config.game.kwargs, checked against the
factory's signature. Register a factory in `jaxgan.games.GAMES`, or name one as
"module:attribute" in config.game.name.
"""
from __future__ import annotations

import abc
from typing import Any, Callable, Dict, Hashable, NamedTuple, Optional, Tuple

import jax
import numpy as np
import optax

Metrics = Dict[str, jax.Array]
Players = Dict[str, Any]  # player name -> PlayerState


class GameParts(NamedTuple):
  """What the config names, resolved once (jaxgan.experiment.builders) and handed to a game's
  factory.

  Attributes:
    models: (axis_name) -> the config's (G, D) pair (jaxgan.models.GanPair), built for the
      data's image shape; axis_name is the pmap axis (training) or None (sampling).
    loss_fn: (real_logits [N], fake_logits [N]) -> jaxgan.losses.GanLoss.
    optimizers: {"g": tx, "d": tx} (config.g_optimizer, config.d_optimizer).
    plugins: the stabilisers the config turns on, in jaxgan.plugins.PLUGINS order.
    image_shape: (H, W, C) of the data.
    latent_dim: config.model.latent_dim.
    num_classes: config.model.num_classes (0: unconditional).
    n_critic, critic_loop, update_order: the config's D-update settings.
    batch_size: config.batch_size, the global batch of one D update.
  """
  models: Callable[[Optional[str]], Any]
  loss_fn: Callable
  optimizers: Dict[str, optax.GradientTransformation]
  plugins: Tuple[Any, ...]
  image_shape: Tuple[int, int, int]
  latent_dim: int
  num_classes: int
  n_critic: int
  critic_loop: str
  update_order: str
  batch_size: int


class Game(abc.ABC):
  """A GAN family's players, step and sampler.

  Attributes:
    players: the players' names, e.g. ("g", "d"); their states are checkpointed under them.
    sampler: the player whose sampling variables `generate` takes (e.g. "g").
    num_classes: classes a sample can be asked for (0: unconditional).
    real_batches_per_step: how many real batches one train step consumes (the batch's
      leading axis; the standard game's n_critic).
    latent_dim: the size of a sample's latent vector {"z": [n, latent_dim]}, for a game
      whose samples come from one (interpolation pictures); None otherwise.
    sampling_options: the keywords `generate` takes besides its inputs (e.g. StyleGAN2's
      truncation_psi, truncation_cutoff, noise_mode): Python values fixed at compile time,
      asked for by `python -m jaxgan.sample`; () for most games.
  """
  players: Tuple[str, ...] = ("g", "d")
  sampler: str = "g"
  num_classes: int = 0
  real_batches_per_step: int = 1
  latent_dim: Optional[int] = None
  sampling_options: Tuple[str, ...] = ()
  # An image-to-image game (cyclegan): its inputs are real images, so the loop makes its
  # sample grid with `grid_inputs` and `grid` (not `sample_inputs`) and scores translations
  # (jaxgan.evaluation.translation); its factory says so with `image_to_image = True`.
  translates: bool = False

  @abc.abstractmethod
  def init_players(self, key: jax.Array) -> Players:
    """Fresh states of every player (host arrays), from the run's INIT key."""

  @abc.abstractmethod
  def train_step(self, players: Players, batch: Dict[str, jax.Array], key: jax.Array,
                 step: jax.Array) -> Tuple[Players, Metrics]:
    """One train step on this device's share, inside pmap (axis jaxgan.runtime.parallel.AXIS_NAME).

    Args:
      players: this device's replica of every player's state.
      batch: {"image": [real_batches_per_step, n, H, W, C] in [-1, 1], "label": int32
        [real_batches_per_step, n] if the data has labels}.
      key: the step's key (`random_streams.step_key`), the same on every device.
      step: the train step (int32 scalar), for schedules.

    Returns:
      The players' new states (each `step` counting its own updates) and metrics averaged
      over the global batch (floats, scalars). The common wrapper adds each player's
      parameter norm, `all_finite` and the run's counters.
    """

  def program(self, step: int) -> Hashable:
    """Which compiled train step `step` needs: a key, constant for most games (a progressive
    game's resolution phase). The loop compiles one program per key, from
    `for_program(key)`."""
    return None

  def for_program(self, program: Hashable) -> "Game":
    """The game whose `train_step` the program `program` runs (e.g. the models of one
    resolution phase); `self` for a game with one program."""
    return self

  def batch_at(self, step: int) -> Optional[Tuple[int, int]]:
    """(real examples before step `step` in the data stream, its global batch of one D
    update), for a game whose batch changes during the run (the progressive game's
    per-resolution batches); None (the default): config.batch_size throughout."""
    return None

  def milestones(self, num_train_steps: int) -> Dict[int, str]:
    """{steps done: label}: where the loop keeps a picture of the fixed grid latents (e.g. the
    end of each resolution of a growing game), drawn side by side in WORKDIR/milestones.png
    at the end. {} for most games."""
    return {}

  def grid_inputs(self, examples: Dict[str, np.ndarray], n: int) -> Dict[str, np.ndarray]:
    """A translating game's fixed grid inputs from held-out real images {"a": [m, H, W, C],
    "b": ...} in [-1, 1], for a grid of about `n` images."""
    raise NotImplementedError(f"{type(self).__name__} does not translate images.")

  def grid(self, variables: Any, inputs: Dict[str, np.ndarray]) -> Tuple[np.ndarray, int]:
    """A translating game's sample grid from `grid_inputs`: (images [n, H, W, C] in [-1, 1],
    columns per row)."""
    raise NotImplementedError(f"{type(self).__name__} does not translate images.")

  @abc.abstractmethod
  def sample_inputs(self, key: jax.Array, n: int,
                    labels: Optional[np.ndarray] = None) -> Dict[str, jax.Array]:
    """The inputs of `n` samples (e.g. {"z": latents [n, latent_dim]}), from `key`; `labels`
    int32 [n]: the classes asked for (conditional games only)."""

  @abc.abstractmethod
  def generate(self, variables: Any, inputs: Dict[str, jax.Array], **options) -> jax.Array:
    """Images [n, H, W, C] in [-1, 1] from `sample_inputs`, in inference mode; `variables`
    are the sampler's `sampling_variables()`; `options`: some of `sampling_options` (none
    unless asked for). Pure: jaxgan jits it, with the options fixed."""
