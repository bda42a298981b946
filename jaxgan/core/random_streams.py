"""Named random streams: every random number of a run, and the one key it comes from.

Nothing in jaxgan splits keys on the host or per device. Every draw is a pure function of
(seed, stream, step, global row): the run's root key (`base_key(seed)`) is folded with the
names below, and a per-example draw then folds in the row's index in the global batch
(`jaxgan.models.layers.per_example_keys`). So a resumed run draws exactly what an
uninterrupted one draws, and a global batch trains the same on any number of devices.

    base_key(seed)
      fold_in INIT                          the players' initial parameters
      fold_in GRID_LATENTS                  the fixed latents of the periodic sample grid
      fold_in EVAL_LATENTS                  the evaluation's latents (the same at every eval)
      fold_in step                          a train step (`step_key`)
        fold_in D_UPDATES, then k           the k-th D update of the step (k >= n_critic:
                                            balance's extra updates)
        fold_in G_UPDATE                    the G update
          (an update's key) fold_in NOISE, DROPOUT_REAL, ...   one stream per purpose

The values are those jaxgan has always used: changing one changes every trajectory.
A new game or plug-in that needs its own stream adds a name here, with a value no other
stream at that level uses.
"""
from __future__ import annotations

import jax

# Run-level streams: folded into the root key. Far from 0..num_train_steps, which the
# train steps use at the same level.
GRID_LATENTS = 2**31 - 1
INIT = 2**31 - 2
EVAL_LATENTS = 2**31 - 3

# The updates of one train step: folded into the step's key.
D_UPDATES = 0
G_UPDATE = 1

# The purposes inside one update: folded into the update's key.
NOISE = 0                 # latents z
DROPOUT_REAL = 1          # D's dropout on real images
DROPOUT_FAKE = 2          # D's dropout on fakes
INSTANCE_NOISE_REAL = 3
INSTANCE_NOISE_FAKE = 4
PENALTY = 5               # an input-gradient penalty's per-example draws (interpolates)
PENALTY_DROPOUT = 6       # D's dropout inside the penalty's critic
REPLAY_MIX = 7            # which fakes are replaced by buffer images, and by which
REPLAY_SLOTS = 8          # which buffer slots the fresh fakes overwrite
AUGMENT_REAL = 9          # augmentation of the real images D sees (config.augment)
AUGMENT_FAKE = 10         # augmentation of the fakes D sees
UNROLL = 11               # the simulated D updates of an unrolled G update (config.unrolled)
TRANSLATE = 12            # the cyclegan game's generator passes (dropout), then pass i
POOL_A = 13               # the cyclegan game's image pools: each row's swap and slot
POOL_B = 14

# Per-example sub-streams of the replay mix (folded into a row's key).
REPLAY_USE = 0            # replace this row?
REPLAY_INDEX = 1          # by which buffer slot


def base_key(seed: int) -> jax.Array:
  """The run's root PRNG key; every random number of the run derives from it."""
  return jax.random.PRNGKey(seed)


def run_key(seed: int, stream: int) -> jax.Array:
  """The key of a run-level stream (INIT, GRID_LATENTS, EVAL_LATENTS)."""
  return jax.random.fold_in(base_key(seed), stream)


def step_key(key: jax.Array, step: jax.Array) -> jax.Array:
  """The key of train step `step` (traced or not) from the run's root key."""
  return jax.random.fold_in(key, step)


def of(key: jax.Array, purpose: int) -> jax.Array:
  """The sub-stream `purpose` of `key` (an update's or a step's)."""
  return jax.random.fold_in(key, purpose)
