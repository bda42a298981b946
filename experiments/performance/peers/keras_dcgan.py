"""Keras peer of jaxgan's seed DCGAN (configs/dcgan.py): the TensorFlow tutorial's models and
train step (tutorial_keras.py) under @tf.function, one step timed. Adam(2e-4, beta1=0.5) for
both, as jaxgan's recipe (the tutorial uses 1e-4; the optimiser does not change the cost);
`--xla` adds jit_compile=True. Random MNIST-shaped data in [-1, 1]: input loading is not timed.
Prints one JSON line (the protocol of peer_timing.py)."""
import argparse

import tensorflow as tf

import peer_timing
import tutorial_keras


def main():
  parser = argparse.ArgumentParser()
  peer_timing.add_arguments(parser)
  parser.add_argument("--xla", action="store_true", help="jit_compile=True")
  args = parser.parse_args()
  tf.config.threading.set_intra_op_parallelism_threads(args.threads)
  tf.config.threading.set_inter_op_parallelism_threads(args.threads)
  tf.random.set_seed(0)
  step = tutorial_keras.make_train_step(
      tutorial_keras.make_generator(), tutorial_keras.make_discriminator(),
      tf.keras.optimizers.Adam(2e-4, beta_1=0.5), tf.keras.optimizers.Adam(2e-4, beta_1=0.5),
      tutorial_keras.LATENT, jit_compile=args.xla)
  real = tf.random.uniform((args.batch, 28, 28, 1), -1, 1)
  timing = peer_timing.time_steps(lambda: float(step(real)), args.warmup, args.steps)
  peer_timing.report("keras-xla" if args.xla else "keras-tf.function", args.batch, args.steps,
                     args.threads, timing, tensorflow=tf.__version__)


if __name__ == "__main__":
  main()
