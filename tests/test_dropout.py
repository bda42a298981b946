"""layers.ExampleDropout: inverted dropout whose mask for a row depends only on (rng, the
row's index in the global batch), so a batch trains the same way on 1 or 4 devices."""
import jax
import jax.numpy as jnp
import numpy as np

from jaxgan.models import layers
from jaxgan.runtime import parallel


def _drop(x, key, rate=0.3, axis_name=None, deterministic=False):
  module = layers.ExampleDropout(rate, axis_name)
  return module.apply({}, x, deterministic=deterministic, rngs={"dropout": key})


def test_drops_at_the_rate_and_scales_the_kept_units():
  x = jnp.ones((64, 32, 32, 4))  # 262,144 units.
  y = np.asarray(_drop(x, jax.random.key(0)))
  dropped = float(np.mean(y == 0))
  # Binomial(262144, 0.3): standard deviation 9e-4, so 5 of them is 0.0045.
  assert abs(dropped - 0.3) < 0.0045, dropped
  np.testing.assert_allclose(y[y != 0], 1 / 0.7, rtol=1e-6)  # Inverted: E[y] = x.
  # Each row has its own mask.
  assert not np.array_equal(y[0] == 0, y[1] == 0)


def test_evaluation_and_rate_zero_are_the_identity():
  x = jax.random.normal(jax.random.key(1), (4, 5))
  np.testing.assert_array_equal(_drop(x, jax.random.key(0), deterministic=True), x)
  np.testing.assert_array_equal(_drop(x, jax.random.key(0), rate=0.0), x)


def test_mask_is_the_same_on_one_device_and_split_over_four():
  """The mask, and the values too, bit for bit: eager on one device vs pmapped over four.

  The values are equal because the kept units are multiplied by one float32 constant,
  1 / keep_prob rounded once, in every program. Dividing by keep_prob instead was not: XLA
  rewrites a division by a compile-time constant into a multiplication by its reciprocal
  (1 ulp apart from the division for 9 of these 144 units), which it could do under pmap but
  not in the eager call, where 0.7 arrives as an operand (jax 0.12.1)."""
  x = jax.random.normal(jax.random.key(1), (8, 6, 3))
  key = jax.random.key(7)
  whole = np.asarray(_drop(x, key))
  split = jax.pmap(lambda x: _drop(x, key, axis_name=parallel.AXIS_NAME),
                   axis_name=parallel.AXIS_NAME, devices=jax.devices()[:4])(x.reshape(4, 2, 6, 3))
  split = np.asarray(split).reshape(x.shape)
  np.testing.assert_array_equal(split == 0, whole == 0)  # The mask.
  np.testing.assert_array_equal(split, whole)  # The values.
  kept = whole != 0
  scale = np.float32(1) / np.float32(0.7)
  np.testing.assert_array_equal(whole[kept], np.asarray(x)[kept] * scale)
  # Row 5's mask depends on its index, not on what the other rows hold.
  np.testing.assert_array_equal(_drop(x.at[0].set(9.0), key)[5], whole[5])
