"""A second game, written only against jaxgan's game protocol: one G against two critics.

config.game.name = "tests.two_critics_game:build". The players are "g", "d1" and "d2": two
discriminators of the config's architecture, initialised apart, each trained on its own real
batch against the config's loss; G minimises `first_weight * L_G(D1) + (1 - first_weight) *
L_G(D2)` (GMAN's weighted mean of critics, Durugkar et al., 2017, with fixed weights). It
uses jaxgan.games.common's utilities and nothing of the standard game, and takes no
plug-ins: it exists to prove that a family with other players trains, checkpoints, resumes,
samples and evaluates through the shared loop (tests/test_games.py). With
`swap_weights_from` = k > 0 it has two programs, as a progressive game has phases: from step
k on, the critics' weights in G's loss are swapped.
"""
from __future__ import annotations

from typing import Any, Dict

import jax
import jax.numpy as jnp
import optax
from jax import lax

from jaxgan.core import config_checks, random_streams
from jaxgan.core.state import create_player
from jaxgan.games import common
from jaxgan.games.protocol import Game, GameParts
from jaxgan.runtime import parallel

AXIS = parallel.AXIS_NAME
CRITICS = ("d1", "d2")


class TwoCriticsGame(Game):
  players = ("g", *CRITICS)
  real_batches_per_step = 2  # One real batch per critic.

  def __init__(self, parts: GameParts, first_weight: float, swap_weights_from: int = 0):
    if parts.plugins or parts.num_classes or parts.update_order != "alternating":
      raise config_checks.ConfigError(
          "the two-critics game takes no stabilisers, classes or update order; got "
          f"{[type(p).__name__ for p in parts.plugins]}, num_classes={parts.num_classes}.")
    if not 0 <= first_weight <= 1:
      raise config_checks.ConfigError(f"config.game.kwargs.first_weight must be in [0, 1]; "
                                      f"got {first_weight!r}.")
    self.parts, self.first_weight = parts, first_weight
    self.swap_weights_from = swap_weights_from
    self.latent_dim = parts.latent_dim
    self.pair, self.sampling_pair = parts.models(AXIS), parts.models(None)

  def init_players(self, key):
    g_key, *critic_keys = jax.random.split(key, 3)
    z = jnp.zeros((1, self.latent_dim))
    x = jnp.zeros((1, *self.parts.image_shape))
    generator, critic = self.sampling_pair
    players = {"g": create_player(generator, generator.init(g_key, z, train=False),
                                  self.parts.optimizers["g"])}
    for name, critic_key in zip(CRITICS, critic_keys):
      players[name] = create_player(critic, critic.init(critic_key, x, train=False),
                                    self.parts.optimizers["d"])
    return players

  def _fakes(self, g_state, params, key, n):
    z = common.latents(random_streams.of(key, random_streams.NOISE), n, self.latent_dim, AXIS)
    return common.apply(self.pair.generator, g_state, params, z, key)

  def _logits(self, d_state, params, images, key, purpose):
    return common.apply(self.pair.discriminator, d_state, params, images,
                        random_streams.of(key, purpose))

  def train_step(self, players, batch, key, step):
    del step  # No schedules.
    images, metrics, new = batch["image"], {}, dict(players)
    for k, name in enumerate(CRITICS):
      d_key = jax.random.fold_in(random_streams.of(key, random_streams.D_UPDATES), k)
      fake = lax.stop_gradient(self._fakes(players["g"], players["g"].params, d_key,
                                           images.shape[1])[0])

      def d_loss(params, d_state=players[name], real=images[k], d_key=d_key, fake=fake):
        real_logits, model_state, _ = self._logits(d_state, params, real, d_key,
                                                   random_streams.DROPOUT_REAL)
        fake_logits, model_state, _ = self._logits(d_state.replace(model_state=model_state),
                                                   params, fake, d_key, random_streams.DROPOUT_FAKE)
        losses = self.parts.loss_fn(parallel.device_gather(real_logits, AXIS),
                                    parallel.device_gather(fake_logits, AXIS))
        return losses.d, model_state

      (loss, model_state), grads = jax.value_and_grad(d_loss, has_aux=True)(players[name].params)
      new[name], grads = common.apply_update(players[name], grads, model_state, AXIS)
      metrics[f"{name}_loss"] = common.global_mean(loss, AXIS)
      metrics[f"{name}_grad_norm"] = optax.tree.norm(grads)

    g_key = random_streams.of(key, random_streams.G_UPDATE)

    def g_loss(params):
      fake, g_model_state, _ = self._fakes(players["g"], params, g_key, images.shape[1])
      total = 0.0
      for k, (weight, name) in enumerate(((self.first_weight, "d1"),
                                          (1 - self.first_weight, "d2"))):
        critic = new[name]
        fake_logits = self._logits(critic, critic.params, fake, g_key,
                                   random_streams.DROPOUT_FAKE)[0]
        real_logits = self._logits(critic, critic.params, images[k], g_key,
                                   random_streams.DROPOUT_REAL)[0]
        losses = self.parts.loss_fn(
            parallel.device_gather(lax.stop_gradient(real_logits), AXIS),
            parallel.device_gather(fake_logits, AXIS))
        total = total + weight * losses.g
      return total, g_model_state

    (loss, g_model_state), grads = jax.value_and_grad(g_loss, has_aux=True)(players["g"].params)
    new["g"], grads = common.apply_update(players["g"], grads, g_model_state, AXIS)
    metrics["g_loss"] = common.global_mean(loss, AXIS)
    metrics["d_loss"] = (metrics["d1_loss"] + metrics["d2_loss"]) / 2
    metrics["g_grad_norm"] = optax.tree.norm(grads)
    return new, metrics

  def program(self, step):
    return "swapped" if self.swap_weights_from and step >= self.swap_weights_from else "first"

  def for_program(self, program):
    if program == "first":
      return self
    return TwoCriticsGame(self.parts, 1 - self.first_weight)

  def sample_inputs(self, key, n, labels=None):
    return {"z": jax.random.normal(key, (n, self.latent_dim))}

  def generate(self, variables: Any, inputs: Dict[str, jax.Array]) -> jax.Array:
    return self.sampling_pair.generator.apply(variables, inputs["z"], train=False)


def build(parts: GameParts, first_weight: float = 0.5,
          swap_weights_from: int = 0) -> TwoCriticsGame:
  """The factory config.game.name names; config.game.kwargs.first_weight sets D1's weight,
  .swap_weights_from the step of the second program (0: none)."""
  return TwoCriticsGame(parts, first_weight, swap_weights_from)
