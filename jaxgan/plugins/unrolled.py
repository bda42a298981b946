"""Unrolled GAN (Metz et al. 2017, "Unrolled Generative Adversarial Networks", sec. 2).

G's loss is taken through k simulated updates of D (config.unrolled.steps):

    theta_D^0 = theta_D,   theta_D^{i+1} = theta_D^i + update(grad of D's loss at theta_D^i)
    G minimises  f_K(theta_G, theta_D) = f(theta_G, theta_D^K)

so G is judged by the D that would answer its current fakes, not by today's D: a G that
puts all its mass on one mode is punished by the D that would have moved there. The
gradient (the paper's eq. 12)

    d f_K / d theta_G = df/d theta_G (theta_D^K fixed) + df/d theta_D^K . d theta_D^K / d theta_G

has a second term only when the gradient is taken through the unrolled updates
(`backprop`, the paper's method); with backprop off G trains against the looked-ahead D
as a constant (the paper's comparison: most of the benefit is the second term).

Each simulated update is D's whole objective (loss and its plug-in terms, e.g. a gradient
penalty) on the G update's real batch and on the fakes G is being updated on (as the
paper's code, which unrolls D's loss on the same minibatch), with D's own optimizer and its
state (`optimizer="d"`, the paper's Adam) or plain SGD of `learning_rate` (`"sgd"`). Its
gradients are averaged over the devices as D's real update's are, so the unroll is the same
on any device layout. D's non-parameter collections (BatchNorm statistics, spectral-norm
vectors) evolve through the unroll and are then discarded; weight clipping and parameter
averages (after-update plug-ins) are not simulated. D's real update is unchanged.

Cost: each unrolled step is a D forward/backward on both batches, and G's backward pass
goes through all of them (second derivatives of D): time and memory grow about linearly in
k (experiments/mode_collapse/README.md measures it). The k steps are a Python loop
(unrolled at trace time) for the reason the critic loop is: XLA:CPU runs convolutions
inside a compiled loop body much slower.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, Optional, Tuple

import jax
import optax
from jax import lax

from jaxgan.core import config_checks as checks
from jaxgan.plugins.protocol import Plugin, RunFacts
from jaxgan.runtime import parallel

OPTIMIZERS = ("d", "sgd")

# (D's parameters, D's non-parameter collections, key) -> (D's loss, the collections after).
Objective = Callable[[Any, Dict[str, Any], jax.Array], Tuple[jax.Array, Dict[str, Any]]]


@dataclasses.dataclass(frozen=True)
class Unrolled(Plugin):
  """Attributes: steps (k >= 1); backprop: differentiate through the unrolled updates;
  optimizer: "d" (D's optimizer and state) or "sgd"; learning_rate: SGD's."""
  steps: int
  backprop: bool = True
  optimizer: str = "d"
  learning_rate: float = 0.0

  section = "unrolled"
  alternating_only = True  # G looks ahead from the D of this step's critic updates.

  @classmethod
  def from_section(cls, run: RunFacts, *, steps: int, backprop: bool, optimizer: str,
                   learning_rate: float) -> Optional["Unrolled"]:
    if not isinstance(steps, int) or steps < 0:
      raise checks.ConfigError("config.unrolled.steps must be an integer >= 0 (0: off); got "
                               f"{steps!r}.")
    if optimizer not in OPTIMIZERS:
      raise checks.ConfigError(
          f"config.unrolled.optimizer={optimizer!r}; valid: {', '.join(OPTIMIZERS)}"
          f"{checks.close_match(optimizer, OPTIMIZERS)}.")
    if optimizer == "sgd" and steps and not learning_rate > 0:
      raise checks.ConfigError("config.unrolled.learning_rate must be > 0 with "
                               f"config.unrolled.optimizer='sgd'; got {learning_rate}.")
    if not steps:
      return None
    return cls(int(steps), bool(backprop), str(optimizer), float(learning_rate))

  def critic_params(self, d_state: Any, objective: Objective, key: jax.Array,
                    axis_name: Optional[str]) -> Any:
    """D's parameters after `steps` simulated updates of `objective` from d_state.

    Args:
      d_state: D's PlayerState (its params, optimizer, optimizer state, collections).
      objective: D's loss as a function of (params, collections, key); it depends on G's
        parameters through the fakes it closes over, which is what G differentiates.
      key: the unroll's stream; simulated update i uses fold_in(key, i).
    """
    params, opt_state, collections = d_state.params, d_state.opt_state, d_state.model_state
    for i in range(self.steps):
      grads, collections = jax.grad(objective, has_aux=True)(params, collections,
                                                             jax.random.fold_in(key, i))
      grads = parallel.device_mean(grads, axis_name)
      if self.optimizer == "sgd":
        params = jax.tree.map(lambda p, g: p - self.learning_rate * g, params, grads)
      else:
        updates, opt_state = d_state.tx.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
    return params if self.backprop else lax.stop_gradient(params)
