"""CycleGAN's image pool (Shrivastava et al., 2017, as junyanz/pytorch-CycleGAN-and-pix2pix
`util/image_pool.py`): each D sees a history of generated images, not only the newest.

For each generated image, in order: while the pool holds fewer than `size` images, the image
is stored and returned; once full, with probability 1/2 a uniformly chosen stored image is
returned and the new one takes its slot, otherwise the new image is returned and the pool is
unchanged. A later image of a batch can thus be swapped for one stored earlier in the same
batch, as in the reference's loop.

The sibling of jaxgan's experience replay (jaxgan.plugins.replay): the pool lives in D's
`extras` and is identical on every device; the query runs over the *global* batch
(all-gathered) in global row order, each row's draws keyed by (key, its global index), and
each device keeps its own rows, so the pool behaves the same on any device layout and a
resumed run continues it exactly. Not the Replay plug-in itself: replay mixes a fraction of
fakes and then writes the batch, the pool swaps image by image.
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple

import jax
import jax.numpy as jnp
from jax import lax

from jaxgan.runtime import parallel

IMAGES, FILLED = "images", "filled"
SWAP_PROBABILITY = 0.5  # ImagePool.query: `if p > 0.5`
_USE, _SLOT = 0, 1  # Per-row sub-streams.


def init(size: int, image_shape: Tuple[int, ...]) -> Dict[str, jax.Array]:
  """An empty pool of `size` images of `image_shape`."""
  return {IMAGES: jnp.zeros((size, *image_shape), jnp.float32),
          FILLED: jnp.zeros((), jnp.int32)}


def query_global(pool: Dict[str, jax.Array], images: jax.Array, key: jax.Array
                 ) -> Tuple[Dict[str, jax.Array], jax.Array]:
  """The pool after the images [N, ...] (a global batch, in order), and what D is shown."""
  size = pool[IMAGES].shape[0]

  def one(carry, row):
    stored, filled = carry
    image, index = row
    row_key = jax.random.fold_in(key, index)
    full = filled >= size
    swap = jnp.logical_and(full, jax.random.uniform(jax.random.fold_in(row_key, _USE))
                           > SWAP_PROBABILITY)
    slot = jnp.where(full, jax.random.randint(jax.random.fold_in(row_key, _SLOT), (), 0, size),
                     filled)
    shown = jnp.where(swap, stored[slot], image)
    write = jnp.logical_or(jnp.logical_not(full), swap)
    stored = stored.at[slot].set(jnp.where(write, image, stored[slot]))
    return (stored, jnp.minimum(filled + 1, size)), shown

  (stored, filled), shown = lax.scan(one, (pool[IMAGES], pool[FILLED]),
                                     (images.astype(jnp.float32), jnp.arange(images.shape[0])))
  return {IMAGES: stored, FILLED: filled}, shown.astype(images.dtype)


def query(pool: Optional[Dict[str, jax.Array]], images: jax.Array, key: jax.Array,
          axis_name: Optional[str]) -> Tuple[Optional[Dict[str, jax.Array]], jax.Array]:
  """`query_global` on the global batch, inside pmap: this device's images [n, ...] in, its
  rows of what D is shown out. A None pool (size 0) returns the images themselves."""
  if pool is None:
    return None, images
  pool, shown = query_global(pool, parallel.device_gather(images, axis_name), key)
  if parallel.one_device_axis(axis_name):
    return pool, shown
  n = images.shape[0]
  return pool, lax.dynamic_slice_in_dim(shown, lax.axis_index(axis_name) * n, n)
