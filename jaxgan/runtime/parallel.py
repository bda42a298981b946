"""The one place that knows about devices: the pmap axis, replication and batch sharding.

Layout convention: the global batch of a step is split in equal consecutive slices over the
global devices in `jax.devices()` order; device d (global pmap index d) holds rows
[d * per_device, (d + 1) * per_device). Each process holds the slices of its own devices.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import jax
import numpy as np
from jax import lax
from jaxgan.core import errors

AXIS_NAME = "batch"


def local_device_count() -> int:
  return jax.local_device_count()


def per_device_batch_size(global_batch_size: int) -> int:
  """Rows each device holds, failing clearly when the batch does not divide over devices."""
  devices = jax.device_count()
  if global_batch_size <= 0 or global_batch_size % devices:
    raise errors.InvalidInputError(
        f"config.batch_size={global_batch_size} must be a positive multiple of the global "
        f"device count ({devices} devices over {jax.process_count()} process(es)), so every "
        "device gets the same number of images. Choose e.g. "
        f"{max(devices, global_batch_size - global_batch_size % devices)}.")
  return global_batch_size // devices


def _device_axis_sharding() -> jax.sharding.Sharding:
  """Leading axis split over the local devices: the input layout `jax.pmap` expects."""
  mesh = jax.sharding.Mesh(np.array(jax.local_devices()), (AXIS_NAME,))
  return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec(AXIS_NAME))


def shard(tree: Any) -> Any:
  """Puts host arrays shaped [local_devices, ...] onto the local devices, one slice each.

  Starting the copy here, before the step is called, lets it overlap the running step.
  """
  sharding = _device_axis_sharding()
  return jax.tree.map(lambda x: jax.device_put(x, sharding), tree)


def replicate(tree: Any) -> Any:
  """Copies every leaf to each local device: leaves gain a leading [local_devices] axis."""
  n = jax.local_device_count()
  sharding = _device_axis_sharding()

  def put(x):
    stacked = np.broadcast_to(np.asarray(x), (n,) + np.shape(x))
    return jax.device_put(stacked, sharding)

  return jax.tree.map(put, tree)


def unreplicate(tree: Any) -> Any:
  """Host (NumPy) copies of the first local device's copy of a replicated tree (leaves lose
  the device axis).

  Reads this process's own first shard and dispatches no computation. `x[0]` would dispatch
  an op-by-op slice on the step's output buffers: with several processes it is global device
  0's copy (a cross-process gather only this process issues), and even the local `x[0]` was
  seen to hang a 2-process run (waiting while the other process sat in orbax's collective
  barrier) and, rarely, to abort a single-process one (docs/reliability.md).
  """
  def first_local_shard(x):
    if isinstance(x, jax.Array):
      return np.asarray(x.addressable_shards[0].data)[0]
    return np.asarray(x)[0]

  return jax.tree.map(first_local_shard, tree)


def pmap(fn: Callable, **kwargs) -> Callable:
  """`jax.pmap` over the local devices with jaxgan's axis name."""
  return jax.pmap(fn, axis_name=AXIS_NAME, **kwargs)


def one_device_axis(axis_name: Optional[str]) -> bool:
  """True outside pmap (axis None) or when the pmap axis has one device (collectives over it
  are identities)."""
  return axis_name is None or lax.axis_size(axis_name) == 1


def device_mean(tree: Any, axis_name: Optional[str]) -> Any:
  """`lax.pmean` over the pmap axis (inside pmap); the tree itself on a one-device axis.

  An all-reduce over one device is still an op: XLA:CPU copies every buffer and the ops after
  it wait (measured ~5 ms, a third of the MLP GAN's step at batch 64, for its gradients).
  """
  return tree if one_device_axis(axis_name) else lax.pmean(tree, axis_name)


def device_gather(x: jax.Array, axis_name: Optional[str]) -> jax.Array:
  """This device's rows [n, ...] -> every device's [N, ...] (`lax.all_gather`, tiled, in
  device order); x itself on a one-device axis."""
  return x if one_device_axis(axis_name) else lax.all_gather(x, axis_name, tiled=True)
