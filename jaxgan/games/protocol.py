"""What a game is: the small protocol every GAN family implements.

A game owns everything between the data and the metrics: its named players and how their
states are made, one pure per-device train step, and how samples are made. Everything around
it is shared and knows nothing of the family:

  * `jaxgan.train` runs the loop (resume, log, sample grids, evaluation, checkpoints) on the
    states dict {player name: PlayerState, ..., "run": RunState};
  * `jaxgan.games.common` wraps `train_step` with the run's counters, finiteness checks,
    skip-on-non-finite and k steps per dispatch, and pmaps it;
  * `jaxgan.sample`, `jaxgan.evaluate` and the benchmarks sample through `sample_inputs` and
    `generate`.

What only one kind of family needs lives in a protocol of its own, which that family's game
also implements, and a caller asks one question of it:

  * `GrowingGame` (progressive growing): a compiled step, a batch and pictures that change
    during the run. The loop asks `growth_of(game)`, which for a game that does not grow is
    one program, config.batch_size throughout and no milestones.
  * `TranslatingGame` (cyclegan): real images in, so its grid is made from held-out images
    and its evaluation scores translations. Callers ask `isinstance(game, TranslatingGame)`;
    before the game is built (which data to load), `translates(factory)`.

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


class GrowingGame(Game):
  """A game whose compiled step, batch or pictures change during the run (ProGAN's growing:
  one program per resolution phase, per-resolution batches, a picture at the end of each
  resolution). The loop reads these through `growth_of(game)`, which also honours them on a
  plain `Game` that defines them (games written before this protocol, e.g.
  tests/two_critics_game.py's two programs)."""

  @abc.abstractmethod
  def program(self, step: int) -> Hashable:
    """Which compiled train step `step` needs: a key (a progressive game's resolution
    phase). The loop compiles one program per key, from `for_program(key)`, and a dispatch
    of k steps never crosses from one program to the next."""

  @abc.abstractmethod
  def for_program(self, program: Hashable) -> Game:
    """The game whose `train_step` the program `program` runs (e.g. the models of one
    resolution phase); None: the game's default program (a benchmark's)."""

  def batch_at(self, step: int) -> Optional[Tuple[int, int]]:
    """(real examples before step `step` in the data stream, its global batch of one D
    update), for a game whose batch changes during the run (the progressive game's
    per-resolution batches); None: config.batch_size throughout."""
    return None

  def milestones(self, num_train_steps: int) -> Dict[int, str]:
    """{steps done: label}: where the loop keeps a picture of the fixed grid latents (e.g. the
    end of each resolution of a growing game), drawn side by side in WORKDIR/milestones.png
    at the end."""
    return {}


class _Growth(NamedTuple):
  """A game's growth as the loop reads it: the game's own `program`, `for_program`,
  `batch_at` and `milestones` where it has them (a `GrowingGame`, or a game written before
  that protocol that defines some), else one program, the configured batch, no milestones."""
  game: Game

  def _own(self, name: str) -> Optional[Callable]:
    return getattr(self.game, name, None)

  def program(self, step: int) -> Hashable:
    own = self._own("program")
    return own(step) if own else None

  def for_program(self, program: Hashable) -> Game:
    own = self._own("for_program")
    return own(program) if own else self.game

  def batch_at(self, step: int) -> Optional[Tuple[int, int]]:
    own = self._own("batch_at")
    return own(step) if own else None

  def milestones(self, num_train_steps: int) -> Dict[int, str]:
    own = self._own("milestones")
    return own(num_train_steps) if own else {}


def growth_of(game: Game) -> _Growth:
  """What the loop asks about a game's programs, batches and milestones (`program`,
  `for_program`, `batch_at`, `milestones`): the game's own answers (a `GrowingGame`'s), else
  one program, the configured batch and no milestones."""
  return _Growth(game)


class TranslatingGame(Game):
  """An image-to-image game (cyclegan): its inputs are real images, so the loop makes its
  sample grid with `grid_inputs` and `grid` (not `sample_inputs`) from held-out images of the
  two domains and scores translations (jaxgan.evaluation.translation); `generate(variables,
  {"a": images})` translates. Its factory says so with `image_to_image = True` (read by
  `translates`), so that the right data is loaded before the game is built."""

  @abc.abstractmethod
  def grid_inputs(self, examples: Dict[str, np.ndarray], n: int) -> Dict[str, np.ndarray]:
    """A translating game's fixed grid inputs from held-out real images {"a": [m, H, W, C],
    "b": ...} in [-1, 1], for a grid of about `n` images."""

  @abc.abstractmethod
  def grid(self, variables: Any, inputs: Dict[str, np.ndarray]) -> Tuple[np.ndarray, int]:
    """A translating game's sample grid from `grid_inputs`: (images [n, H, W, C] in [-1, 1],
    columns per row)."""


def translates(factory: Callable[..., Game]) -> bool:
  """Whether a game factory builds a `TranslatingGame` (its `image_to_image` flag: True for
  cyclegan's), asked before the game is built: it decides which data is loaded."""
  return bool(getattr(factory, "image_to_image", False))
