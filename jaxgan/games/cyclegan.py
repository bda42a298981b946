"""CycleGAN (Zhu et al., 2017): unpaired translation between domains A and B
(config.game.name="cyclegan"), after junyanz/pytorch-CycleGAN-and-pix2pix
`models/cycle_gan_model.py`.

Players: "g" holds both generators' parameters {"ab": G: A -> B, "ba": F: B -> A} and "d"
both discriminators' {"a": D_A judges domain A, "b": D_B judges domain B}: one optimizer per
role, as the reference's optimizer_G over chain(netG_A, netG_B) and optimizer_D over
(netD_A, netD_B) (Adam is per parameter, so one Adam over both equals one each). The
reference's netG_A is "ab" and its netD_A, which judges G_A's outputs, is D_B here: named by
the domain a D judges.

One train step, the reference's `optimize_parameters` (batch {"a": [1, n, H, W, C], "b": ...}
from two unpaired streams):
  1. G's update through the current Ds, on
       adversarial_weight * (L_G(D_B(G(a))) + L_G(D_A(F(b))))
       + lambda_a |F(G(a)) - a|_1 + lambda_b |G(F(b)) - b|_1                     (cycle)
       + lambda_identity * (lambda_b |G(b) - b|_1 + lambda_a |F(a) - a|_1)         (identity)
     with L_G the config loss's G term and |.|_1 the mean absolute error;
  2. D's update on L_D(D_B(b), D_B(pool_B(G(a)))) + L_D(D_A(a), D_A(pool_A(F(b)))), the
     fakes those of step 1's forward pass (before G's update), each through its D's image
     pool (jaxgan.games.image_pool, D's extras).
Patch logits [n, h, w] enter the loss as [n h w] values (the reference's MSELoss averages over
every patch). jaxgan's `least_squares` has d = 1/2 E(D(x)-1)^2 + 1/2 E D(G)^2, the
reference's D loss with its halving, and g = 1/2 E(D(G)-1)^2, half the reference's G term:
configs/cyclegan_digits.py sets adversarial_weight=2 to make the objective the reference's.

Sampling: `generate` translates {"a": images} to B, or {"b": images} to A, with G's sampling
variables; the grid shows A | G(A) | F(G(A)) | B | F(B) | G(F(B)) rows (`grid`).
"""
from __future__ import annotations

from typing import Any, Dict, Tuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from jaxgan.core import config_checks, random_streams
from jaxgan.core.state import create_player
from jaxgan.games import common, image_pool
from jaxgan.games.protocol import GameParts, TranslatingGame
from jaxgan.runtime import parallel

AXIS = parallel.AXIS_NAME
GENERATORS = ("ab", "ba")  # G: A -> B, F: B -> A
CRITICS = ("a", "b")       # D_A judges domain A, D_B domain B
POOLS = {"a": "pool_a", "b": "pool_b"}  # D's extras


def l1(x: jax.Array, y: jax.Array) -> jax.Array:
  """Mean absolute error (torch.nn.L1Loss), over this device's rows."""
  return jnp.mean(jnp.abs(x.astype(jnp.float32) - y.astype(jnp.float32)))


def flat_logits(logits: jax.Array) -> jax.Array:
  """Patch logits [n, h, w] (or [n]) -> [n h w]: every patch is one term of the loss."""
  return logits.reshape(-1)


class CycleGanGame(TranslatingGame):
  """See the module docstring."""
  players = ("g", "d")
  sampler = "g"

  def __init__(self, parts: GameParts, lambda_a: float, lambda_b: float,
               lambda_identity: float, pool_size: int, adversarial_weight: float):
    clashing = ([f"stabilisers {[p.section for p in parts.plugins]}"] if parts.plugins else []
                ) + ([f"config.n_critic={parts.n_critic}"] if parts.n_critic != 1 else []) + (
                    [f"config.update_order={parts.update_order!r}"]
                    if parts.update_order != "alternating" else [])
    if clashing:
      raise config_checks.ConfigError(
          "the cyclegan game has its own update order (G, then D through the image pools) and "
          f"takes no stabilisers; remove {', '.join(clashing)}.")
    for name, value in (("lambda_a", lambda_a), ("lambda_b", lambda_b),
                        ("lambda_identity", lambda_identity),
                        ("adversarial_weight", adversarial_weight)):
      if not (isinstance(value, (int, float)) and value >= 0):
        raise config_checks.ConfigError(f"config.game.kwargs.{name} must be a number >= 0; "
                                        f"got {value!r}.")
    if not isinstance(pool_size, int) or pool_size < 0:
      raise config_checks.ConfigError(f"config.game.kwargs.pool_size must be an integer >= 0 "
                                      f"(0: no pool); got {pool_size!r}.")
    self.parts = parts
    self.image_shape = tuple(parts.image_shape)
    self.lambda_a, self.lambda_b = float(lambda_a), float(lambda_b)
    self.lambda_identity, self.pool_size = float(lambda_identity), pool_size
    self.adversarial_weight = float(adversarial_weight)
    self.generator, self.discriminator = parts.models(AXIS)
    self.sampling_pair = parts.models(None)

  # --- States and sampling -------------------------------------------------------------

  def init_players(self, key):
    keys = dict(zip(GENERATORS + CRITICS, jax.random.split(key, 4)))
    x = jnp.zeros((1, *self.image_shape), jnp.float32)
    generator, critic = self.sampling_pair

    def both(module, names):
      variables = {name: module.init(keys[name], x, train=False) for name in names}
      collections = {c for v in variables.values() for c in v if c != "params"}
      if collections:
        raise config_checks.ConfigError(
            f"the cyclegan game's networks may hold parameters only; "
            f"{type(module).__name__} has collections {sorted(collections)}.")
      return {"params": {name: v["params"] for name, v in variables.items()}}

    players = {"g": create_player(generator, both(generator, GENERATORS),
                                  self.parts.optimizers["g"]),
               "d": create_player(critic, both(critic, CRITICS), self.parts.optimizers["d"])}
    if self.pool_size:
      players["d"] = players["d"].replace(extras={
          pool: image_pool.init(self.pool_size, self.image_shape) for pool in POOLS.values()})
    return players

  def sample_inputs(self, key, n, labels=None):
    raise NotImplementedError(
        "a cyclegan game translates images: call generate with {'a': images} or "
        "{'b': images} (python -m jaxgan.translate), not with sampled latents.")

  def generate(self, variables, inputs):
    (domain, images), = inputs.items()
    direction = {"a": "ab", "b": "ba"}[domain]
    params = variables["params"][direction]
    return self.sampling_pair.generator.apply({"params": params}, images, train=False)

  def grid_inputs(self, examples: Dict[str, np.ndarray], n: int) -> Dict[str, np.ndarray]:
    rows = max(1, n // 6)
    return {domain: images[:rows] for domain, images in examples.items()}

  def grid(self, variables: Any, inputs: Dict[str, Any]) -> Tuple[np.ndarray, int]:
    """Rows A | G(A) | F(G(A)) | B | F(B) | G(F(B)): ([rows * 6, H, W, C], 6 columns)."""
    translate = lambda domain, x: np.asarray(self.generate(variables, {domain: x}))
    a, b = np.asarray(inputs["a"]), np.asarray(inputs["b"])
    rows = min(len(a), len(b))
    a, b = a[:rows], b[:rows]
    a2b, b2a = translate("a", a), translate("b", b)
    columns = [a, a2b, translate("b", a2b), b, b2a, translate("a", b2a)]
    return np.stack(columns, axis=1).reshape(rows * 6, *a.shape[1:]), 6

  # --- The train step ------------------------------------------------------------------

  def _translate(self, g_state, params, direction, images, key):
    return common.apply(self.generator, g_state, params[direction], images, key)[0]

  def _judge(self, d_state, params, domain, images, key):
    return flat_logits(common.apply(self.discriminator, d_state, params[domain], images,
                                    key)[0])

  def g_objective(self, g_params, g_state, d_state, a, b, key):
    """G's total loss and (its parts, the fakes (G(a), F(b)))."""
    translate_key = random_streams.of(key, random_streams.TRANSLATE)
    keys = [jax.random.fold_in(translate_key, i) for i in range(6)]
    fake_b = self._translate(g_state, g_params, "ab", a, keys[0])
    fake_a = self._translate(g_state, g_params, "ba", b, keys[1])
    rec_a = self._translate(g_state, g_params, "ba", fake_b, keys[2])
    rec_b = self._translate(g_state, g_params, "ab", fake_a, keys[3])
    d_params = d_state.params
    gather = lambda x: parallel.device_gather(x, AXIS)
    dropout = random_streams.of(key, random_streams.DROPOUT_FAKE)

    def adversarial(domain, real, fake):
      real_logits = lax.stop_gradient(self._judge(d_state, d_params, domain, real, dropout))
      return self.parts.loss_fn(gather(real_logits),
                                gather(self._judge(d_state, d_params, domain, fake, dropout))).g

    parts = {"g_adv_ab": adversarial("b", b, fake_b), "g_adv_ba": adversarial("a", a, fake_a),
             "cycle_a": l1(rec_a, a), "cycle_b": l1(rec_b, b)}
    total = (self.adversarial_weight * (parts["g_adv_ab"] + parts["g_adv_ba"])
             + self.lambda_a * parts["cycle_a"] + self.lambda_b * parts["cycle_b"])
    if self.lambda_identity:
      parts["identity_a"] = l1(self._translate(g_state, g_params, "ba", a, keys[4]), a)
      parts["identity_b"] = l1(self._translate(g_state, g_params, "ab", b, keys[5]), b)
      total = total + self.lambda_identity * (self.lambda_a * parts["identity_a"]
                                              + self.lambda_b * parts["identity_b"])
    return total, (parts, (fake_b, fake_a))

  def d_objective(self, d_params, d_state, real, shown, key):
    """D's total loss on real {"a": [n, ...], "b": ...} and the fakes shown {"a": F(b) via
    pool A, "b": G(a) via pool B}, and its parts."""
    gather = lambda x: parallel.device_gather(x, AXIS)
    parts = {}
    for domain in CRITICS:
      real_logits = self._judge(d_state, d_params, domain, real[domain],
                                random_streams.of(key, random_streams.DROPOUT_REAL))
      fake_logits = self._judge(d_state, d_params, domain, shown[domain],
                                random_streams.of(key, random_streams.DROPOUT_FAKE))
      parts[f"d_{domain}_loss"] = self.parts.loss_fn(gather(real_logits),
                                                     gather(fake_logits)).d
    return parts["d_a_loss"] + parts["d_b_loss"], parts

  def train_step(self, players, batch, key, step):
    del step  # The learning-rate decay is the optimizers' schedule.
    if set(batch) != {"a", "b"}:
      raise ValueError(f"the cyclegan game needs a batch of two domains {{'a', 'b'}} (a "
                       f"two-domain dataset, jaxgan.data.domains); got {sorted(batch)}.")
    a, b = batch["a"][0], batch["b"][0]
    g_state, d_state = players["g"], players["d"]
    g_key = random_streams.of(key, random_streams.G_UPDATE)
    d_key = random_streams.of(key, random_streams.D_UPDATES)

    def g_loss(params):
      return self.g_objective(params, g_state, d_state, a, b, g_key)

    (g_total, (g_parts, fakes)), grads = jax.value_and_grad(g_loss, has_aux=True)(
        g_state.params)
    new_g, g_grads = common.apply_update(g_state, grads, {}, AXIS)

    fake_b, fake_a = (lax.stop_gradient(x) for x in fakes)
    extras = dict(d_state.extras)
    shown = {}
    for domain, fake, purpose in (("b", fake_b, random_streams.POOL_B),
                                  ("a", fake_a, random_streams.POOL_A)):
      pool = extras.get(POOLS[domain])
      pool, shown[domain] = image_pool.query(pool, fake, random_streams.of(d_key, purpose), AXIS)
      if pool is not None:
        extras[POOLS[domain]] = pool

    def d_loss(params):
      return self.d_objective(params, d_state, {"a": a, "b": b}, shown, d_key)

    (d_total, d_parts), grads = jax.value_and_grad(d_loss, has_aux=True)(d_state.params)
    new_d, d_grads = common.apply_update(d_state, grads, {}, AXIS, extras)
    metrics = common.global_mean({"g_loss": g_total, **g_parts, "d_loss": d_total, **d_parts},
                                 AXIS)
    metrics["g_grad_norm"] = optax.tree.norm(g_grads)
    metrics["d_grad_norm"] = optax.tree.norm(d_grads)
    return {"g": new_g, "d": new_d}, metrics


def build(parts: GameParts, lambda_a: float = 10.0, lambda_b: float = 10.0,
          lambda_identity: float = 0.5, pool_size: int = 50,
          adversarial_weight: float = 1.0) -> CycleGanGame:
  """The cyclegan game's factory; config.game.kwargs: lambda_a, lambda_b (cycle weights, the
  reference's 10), lambda_identity (identity weight as a fraction of lambda: 0.5; 0 turns it
  off), pool_size (images per D's pool, 50; 0: none), adversarial_weight (G's adversarial
  terms' weight; 2 with least_squares is the reference's MSE objective)."""
  return CycleGanGame(parts, lambda_a, lambda_b, lambda_identity, pool_size,
                      adversarial_weight)


build.image_to_image = True  # builders: it needs a jaxgan.models.TranslationPair.
