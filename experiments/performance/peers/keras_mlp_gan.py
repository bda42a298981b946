"""Keras peer of jaxgan's MLP GAN (configs/mlp_gan.py, jaxgan/models/mlp.py), one step timed.

G 100 -> 256 -> 512 -> 1024 -> 784 (LeakyReLU 0.2, then BatchNorm with momentum 0.8; tanh),
D 784 -> 1024 -> 512 -> 256 -> 1 (LeakyReLU 0.2, Dropout 0.3); non-saturating BCE;
Adam(2e-4, beta1=0.5) for both. The step is the TensorFlow tutorial's: both gradients from one
forward pass (two tapes) under @tf.function. Random MNIST-shaped data in [-1, 1]; input loading
is not timed. Prints one JSON line.
"""
import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402
from tensorflow.keras import layers  # noqa: E402

import peer_timing  # noqa: E402
import tutorial_keras  # noqa: E402  (its train step)

LATENT = 100


def generator() -> tf.keras.Model:
  stack = [tf.keras.Input((LATENT,))]
  for width in (256, 512, 1024):
    stack += [layers.Dense(width), layers.LeakyReLU(0.2), layers.BatchNormalization(momentum=0.8)]
  return tf.keras.Sequential(stack + [layers.Dense(784, activation="tanh"),
                                      layers.Reshape((28, 28, 1))])


def discriminator() -> tf.keras.Model:
  stack = [tf.keras.Input((28, 28, 1)), layers.Flatten()]
  for width in (1024, 512, 256):
    stack += [layers.Dense(width), layers.LeakyReLU(0.2), layers.Dropout(0.3)]
  return tf.keras.Sequential(stack + [layers.Dense(1)])


def main():
  parser = argparse.ArgumentParser()
  peer_timing.add_arguments(parser)
  args = parser.parse_args()
  tf.config.threading.set_intra_op_parallelism_threads(args.threads)
  tf.config.threading.set_inter_op_parallelism_threads(args.threads)
  tf.random.set_seed(0)
  step = tutorial_keras.make_train_step(
      generator(), discriminator(), tf.keras.optimizers.Adam(2e-4, beta_1=0.5),
      tf.keras.optimizers.Adam(2e-4, beta_1=0.5), LATENT)
  real = tf.random.uniform((args.batch, 28, 28, 1), -1, 1)

  timing = peer_timing.time_steps(lambda: float(step(real)), args.warmup, args.steps)
  peer_timing.report("keras-tf.function", args.batch, args.steps, args.threads, timing,
                     tensorflow=tf.__version__)


if __name__ == "__main__":
  main()
