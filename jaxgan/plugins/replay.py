"""Experience replay for D (Shrivastava et al., 2017, section 2.3): a buffer of past fakes.

Each D update shows D a batch in which a `fraction` of the fakes (chosen per example) are
drawn from a buffer of earlier generators' fakes, so D keeps penalising modes G has left and
G cannot cycle between them. The fresh fakes are then written into the buffer: in order until
it is full, afterwards over randomly chosen distinct slots, so old fakes survive for a while.

For a conditional GAN the buffer also keeps each fake's class (int32 [size]): a replayed fake
is shown to D with the class it was made for.

The buffer lives in D's `extras` ([size, H, W, C] and a fill count) and is identical on every
device: each device writes the whole global batch's fakes (all-gathered), and every draw is
keyed by the example's global index, so replay behaves the same on any device layout.
"""
from __future__ import annotations

import dataclasses
from typing import Dict, Optional, Tuple

import jax
import jax.numpy as jnp

from jaxgan.core import random_streams
from jaxgan.core import config_checks as checks
from jaxgan.models import layers
from jaxgan.plugins.protocol import Plugin, RunFacts
from jaxgan.runtime import parallel

BUFFER, FILLED, LABELS = "replay_buffer", "replay_filled", "replay_labels"


@dataclasses.dataclass(frozen=True)
class Replay(Plugin):
  """Attributes: size: buffer capacity in images (0: off); fraction: share of D's fakes
  replaced by buffer images, in [0, 1]."""
  size: int = 0
  fraction: float = 0.5

  section = "replay"
  alternating_only = True  # Its fakes are D's alone; a one-pass step shares them with G.

  @classmethod
  def from_section(cls, run: RunFacts, *, buffer_size: int, fraction: float
                   ) -> Optional["Replay"]:
    checks.check_non_negative(cls.field("buffer_size"), buffer_size)
    checks.check_fraction(cls.field("fraction"), fraction, closed=True)
    if buffer_size and buffer_size < run.batch_size:
      raise checks.ConfigError(f"config.replay.buffer_size={buffer_size} must hold at least "
                               f"one global batch (config.batch_size={run.batch_size}).")
    return cls(int(buffer_size), float(fraction)) if buffer_size else None

  @property
  def enabled(self) -> bool:
    return self.size > 0

  def init_extras(self, player, state, image_shape, with_labels):
    return self.init(image_shape, with_labels) if player == "d" else {}

  def d_fakes(self, extras, fake, labels, key, axis_name):
    fresh, mix_key = fake, random_streams.of(key, random_streams.REPLAY_MIX)
    if labels is None:
      fake, fake_labels = self.mix(extras, fresh, mix_key, axis_name), None
    else:
      fake, fake_labels = self.mix_with_labels(extras, fresh, labels, mix_key, axis_name)
    extras, filled = self.push(extras, fresh,
                               random_streams.of(key, random_streams.REPLAY_SLOTS), axis_name,
                               labels)
    return fake, fake_labels, extras, {"replay_filled": filled.astype(jnp.float32)}

  def init(self, image_shape, with_labels: bool = False) -> Dict[str, jax.Array]:
    """An empty buffer (with a class per slot when `with_labels`)."""
    out = {BUFFER: jnp.zeros((self.size, *image_shape), jnp.float32),
           FILLED: jnp.zeros((), jnp.int32)}
    if with_labels:
      out[LABELS] = jnp.zeros((self.size,), jnp.int32)
    return out

  def _choice(self, extras: Dict[str, jax.Array], n: int, key: jax.Array,
              axis_name: Optional[str]) -> Tuple[jax.Array, jax.Array]:
    """(replace row? bool [n], buffer slot [n]): a function of key and global row only."""
    filled = extras[FILLED]
    keys = layers.per_example_keys(key, n, axis_name)
    use = jax.vmap(lambda k: jax.random.bernoulli(random_streams.of(k, random_streams.REPLAY_USE),
                                                  self.fraction))(keys)
    index = jax.vmap(lambda k: jax.random.randint(
        random_streams.of(k, random_streams.REPLAY_INDEX), (), 0, jnp.maximum(filled, 1)))(keys)
    return jnp.logical_and(use, filled > 0), index

  def mix(self, extras: Dict[str, jax.Array], fake: jax.Array, key: jax.Array,
          axis_name: Optional[str]) -> jax.Array:
    """fake [n, H, W, C] with about `fraction` of its rows replaced by buffer images."""
    use, index = self._choice(extras, fake.shape[0], key, axis_name)
    return _replace_rows(use, extras[BUFFER][index], fake)

  def mix_with_labels(self, extras: Dict[str, jax.Array], fake: jax.Array, labels: jax.Array,
                      key: jax.Array, axis_name: Optional[str]
                      ) -> Tuple[jax.Array, jax.Array]:
    """`mix` for a buffer that keeps classes: (fake [n, H, W, C], their classes [n]), a
    replaced row taking its slot's image and class."""
    use, index = self._choice(extras, fake.shape[0], key, axis_name)
    return (_replace_rows(use, extras[BUFFER][index], fake),
            _replace_rows(use, extras[LABELS][index], labels))

  def push(self, extras: Dict[str, jax.Array], fake: jax.Array, key: jax.Array,
           axis_name: Optional[str], labels: Optional[jax.Array] = None
           ) -> Tuple[Dict[str, jax.Array], jax.Array]:
    """Writes the global batch's fresh fakes (and their classes [n], if the buffer keeps
    them) into the buffer; returns (extras, fill count)."""
    if (LABELS in extras) != (labels is not None):
      raise ValueError("a replay buffer with classes needs the fakes' labels, and only it.")
    gather = lambda x: parallel.device_gather(x, axis_name)
    everything = gather(fake)
    count = everything.shape[0]
    if count > self.size:
      raise ValueError(f"config.replay.buffer_size={self.size} is smaller than the global "
                       f"batch ({count}); it must hold at least one batch.")
    filled = extras[FILLED]
    in_order = (filled + jnp.arange(count)) % self.size
    at_random = jax.random.permutation(key, self.size)[:count]
    slots = jnp.where(filled < self.size, in_order, at_random)
    buffer = extras[BUFFER].at[slots].set(everything.astype(jnp.float32))
    new_filled = jnp.minimum(filled + count, self.size)
    out = {**extras, BUFFER: buffer, FILLED: new_filled}
    if labels is not None:
      out[LABELS] = extras[LABELS].at[slots].set(gather(labels).astype(jnp.int32))
    return out, new_filled


def _replace_rows(use: jax.Array, stored: jax.Array, fresh: jax.Array) -> jax.Array:
  """Row i of `stored` where use[i], else of `fresh` (any trailing shape)."""
  return jnp.where(use.reshape(-1, *([1] * (fresh.ndim - 1))), stored.astype(fresh.dtype), fresh)
