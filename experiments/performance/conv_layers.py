"""The seed DCGAN's convolution layers on the CPU: forward pass, input gradient and kernel
gradient, XLA's own formulation against jaxgan's layers, with and without jaxgan's CPU compile
options (jaxgan/runtime/xla_cpu.py).

  python experiments/performance/conv_layers.py --batch=256 [--tensorflow]

Rows: G's 5x5 stride-1 transposed convolution [B, 7, 7, 256] -> 128 (lax.conv_transpose's
stride-1 case is a plain convolution, which jaxgan uses as it is; a row-split version that skips
the padding taps along H is timed against it); G's 5x5 stride-2 transposed
convolution [B, 7, 7, 128] -> 64 (lax.conv_transpose against jaxgan's ConvTranspose); D's 5x5
stride-2 convolution [2B, 14, 14, 64] -> 128 (real and fake: lax.conv_general_dilated
against jaxgan's strided_conv). Milliseconds per call, median of --repeats. --tensorflow adds
the same layers in TensorFlow/Keras (oneDNN) as the peers run them: forward, forward + kernel
gradient, and forward + both gradients (TensorFlow's gradients cannot be timed alone). Last,
the rate of one matrix product the size of G's stride-1 layer, to read the table against.
"""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import jax  # pylint: disable=g-import-not-at-top
import jax.numpy as jnp
import numpy as np
from absl import app, flags
from jax import lax

from jaxgan.models import conv_transpose, strided_conv
from jaxgan.runtime import xla_cpu

FLAGS = flags.FLAGS
flags.DEFINE_integer("batch", 256, "Batch size (D's layer sees twice this: real and fake).")
flags.DEFINE_integer("repeats", 7, "Timed calls (the median is reported).")
flags.DEFINE_bool("tensorflow", False, "Also time the layers in TensorFlow (needs it).")

_DIMS = ("NHWC", "HWIO", "NHWC")


def _median_ms(fn, *args) -> float:
  jax.block_until_ready(fn(*args))
  runs = []
  for _ in range(FLAGS.repeats):
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    runs.append(time.perf_counter() - start)
  return statistics.median(runs) * 1000


def _tap_classes(n: int, k: int):
  """[(out_lo, out_hi, k_lo, k_hi, in_lo, in_hi)] along one axis of a stride-1 'SAME'
  convolution (odd k): each edge output alone with the kernel taps inside the image, and the
  interior outputs together with every tap ('VALID')."""
  p = k // 2
  return ([(h, h + 1, p - h, k, 0, h + p + 1) for h in range(p)] + [(p, n - p, 0, k, 0, n)] +
          [(h, h + 1, 0, n + p - h, h - p, n) for h in range(n - p, n)])


def _row_split(x, kernel):
  """Stride-1 'SAME' convolution without the padding taps along H: one 'VALID'-in-H
  convolution per class of output rows (5 for 7 rows and a 5x5 kernel), concatenated.
  Along W the padding stays (splitting W too, 25 convolutions, was slower)."""
  k = kernel.shape[1]
  rows = [lax.conv_general_dilated(x[:, i0:i1], kernel[k0:k1], (1, 1),
                                   [(0, 0), (k // 2, k // 2)], dimension_numbers=_DIMS)
          for _, _, k0, k1, i0, i1 in _tap_classes(x.shape[1], kernel.shape[0])]
  return jnp.concatenate(rows, axis=1)


@jax.custom_vjp
def _row_split_conv(x, kernel):
  return _row_split(x, kernel)


def _row_split_fwd(x, kernel):
  return _row_split(x, kernel), (x, kernel)


def _row_split_bwd(residuals, dy):
  # A stride-1 'SAME' convolution's input gradient is the same convolution of dy with the
  # kernel flipped in space and its channels swapped, so it skips the same taps.
  x, kernel = residuals
  dx = _row_split(dy, jnp.flip(kernel, (0, 1)).swapaxes(2, 3))
  return dx, jax.vjp(lambda k: _row_split(x, k), kernel)[1](dy)[0]


_row_split_conv.defvjp(_row_split_fwd, _row_split_bwd)


def _layers(batch: int):
  """(name, input shape, kernel shape, {formulation: fn(x, kernel)})."""
  conv = lambda s: lambda x, k: lax.conv_general_dilated(x, k, (s, s), "SAME",
                                                         dimension_numbers=_DIMS)
  return [
      ("G 5x5 stride-1 transposed conv", (batch, 7, 7, 256), (5, 5, 256, 128),
       {"XLA (= jaxgan)": conv(1), "row split (no H padding taps)": _row_split_conv}),
      ("G 5x5 stride-2 transposed conv", (batch, 7, 7, 128), (5, 5, 128, 64),
       {"lax.conv_transpose": lambda x, k: lax.conv_transpose(x, k, (2, 2), "SAME",
                                                              dimension_numbers=_DIMS),
        "jaxgan ConvTranspose": lambda x, k: conv_transpose.conv_transpose_same(x, k, (2, 2))}),
      ("D 5x5 stride-2 conv (2B)", (2 * batch, 14, 14, 64), (5, 5, 64, 128),
       {"lax.conv_general_dilated": conv(2),
        "jaxgan strided_conv": lambda x, k: strided_conv.strided_conv_same(x, k, (2, 2))}),
  ]


def _time_jax(fn, x, kernel, options: bool):
  cotangent = jnp.ones(jax.eval_shape(fn, x, kernel).shape, jnp.float32)
  compile_ = (lambda f: xla_cpu.CompiledWithOptions(jax.jit(f), xla_cpu.CPU_COMPILER_OPTIONS)
              ) if options else jax.jit
  forward = compile_(fn)
  input_grad = compile_(lambda x, k, c: jax.vjp(lambda x: fn(x, k), x)[1](c)[0])
  kernel_grad = compile_(lambda x, k, c: jax.vjp(lambda k: fn(x, k), k)[1](c)[0])
  return (_median_ms(forward, x, kernel), _median_ms(input_grad, x, kernel, cotangent),
          _median_ms(kernel_grad, x, kernel, cotangent))


def _time_tensorflow(batch: int):
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  tf.config.threading.set_intra_op_parallelism_threads(2)
  tf.config.threading.set_inter_op_parallelism_threads(2)
  keras = tf.keras.layers
  rows = []
  for name, layer, shape in (
      ("G 5x5 stride-1 transposed conv", keras.Conv2DTranspose(128, 5, 1, "same",
                                                               use_bias=False), (batch, 7, 7, 256)),
      ("G 5x5 stride-2 transposed conv", keras.Conv2DTranspose(64, 5, 2, "same",
                                                               use_bias=False), (batch, 7, 7, 128)),
      ("D 5x5 stride-2 conv (2B)", keras.Conv2D(128, 5, 2, "same", use_bias=False),
       (2 * batch, 14, 14, 64))):
    x = tf.random.normal(shape)
    layer(x)

    def gradients(x, with_input):
      with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(layer(x))
      # The loss is returned too: a sum's gradients do not need the layer's output, and
      # TensorFlow would otherwise prune the forward convolution from the timed graph.
      return [loss] + tape.gradient(loss, ([x] if with_input else []) + layer.trainable_variables)

    def timed(fn):
      fn(x)
      runs = []
      for _ in range(FLAGS.repeats):
        start = time.perf_counter()
        [t.numpy() for t in tf.nest.flatten(fn(x))]
        runs.append(time.perf_counter() - start)
      return statistics.median(runs) * 1000

    rows.append((name, timed(tf.function(lambda x: layer(x))),
                 timed(tf.function(lambda x: gradients(x, False))),
                 timed(tf.function(lambda x: gradients(x, True)))))
  return rows


def main(argv):
  del argv
  rng = np.random.default_rng(0)
  print(f"\n{jax.devices()[0].device_kind}, jax {jax.__version__}, batch {FLAGS.batch}, "
        f"median of {FLAGS.repeats} (ms)\n")
  print("| layer | formulation | compile options | forward | input grad | kernel grad | sum |")
  print("| --- | --- | --- | --- | --- | --- | --- |")
  for name, x_shape, k_shape, forms in _layers(FLAGS.batch):
    x = jnp.asarray(rng.standard_normal(x_shape), jnp.float32)
    kernel = jnp.asarray(rng.standard_normal(k_shape), jnp.float32)
    reference = jax.value_and_grad(lambda x, k: jnp.sum(forms[next(iter(forms))](x, k) ** 2),
                                   (0, 1))(x, kernel)
    for form, fn in forms.items():
      # Every formulation computes the same function and gradients (checked, then timed).
      got = jax.value_and_grad(lambda x, k: jnp.sum(fn(x, k) ** 2), (0, 1))(x, kernel)
      for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(reference)):
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-3 * float(jnp.max(jnp.abs(b))))
      for options in (False, True):
        times = _time_jax(fn, x, kernel, options)
        print(f"| {name} | {form} | {'jaxgan' if options else 'default'} | "
              + " | ".join(f"{t:.1f}" for t in times) + f" | {sum(times):.1f} |")
  # The machine's float32 matrix-product rate, for reading the table: G's stride-1 layer as
  # one product ([B*49, 25*256] x [25*256, 128]), every tap counted, padding included.
  rows, depth = FLAGS.batch * 49, 25 * 256
  a = jnp.asarray(rng.standard_normal((rows, depth)), jnp.float32)
  b = jnp.asarray(rng.standard_normal((depth, 128)), jnp.float32)
  product = xla_cpu.CompiledWithOptions(jax.jit(jnp.matmul), xla_cpu.CPU_COMPILER_OPTIONS)
  ms = _median_ms(product, a, b)
  print(f"\nMatrix product [{rows}, {depth}] x [{depth}, 128] (G's stride-1 layer, padding "
        f"taps included): {ms:.1f} ms, {2 * rows * depth * 128 / ms / 1e6:.0f} GFLOP/s")
  if FLAGS.tensorflow:
    print("\nTensorFlow (oneDNN), same layers:\n")
    print("| layer | forward | forward + kernel grad | forward + both grads |")
    print("| --- | --- | --- | --- |")
    for name, *times in _time_tensorflow(FLAGS.batch):
      print(f"| {name} | " + " | ".join(f"{t:.1f}" for t in times) + " |")


if __name__ == "__main__":
  app.run(main)
