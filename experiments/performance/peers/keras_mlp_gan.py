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
  g, d = generator(), discriminator()
  bce = tf.keras.losses.BinaryCrossentropy(from_logits=True)
  g_opt = tf.keras.optimizers.Adam(2e-4, beta_1=0.5)
  d_opt = tf.keras.optimizers.Adam(2e-4, beta_1=0.5)
  real = tf.random.uniform((args.batch, 28, 28, 1), -1, 1)

  @tf.function
  def step(real):
    z = tf.random.normal((args.batch, LATENT))
    with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
      fake = g(z, training=True)
      real_logits, fake_logits = d(real, training=True), d(fake, training=True)
      g_loss = bce(tf.ones_like(fake_logits), fake_logits)
      d_loss = (bce(tf.ones_like(real_logits), real_logits)
                + bce(tf.zeros_like(fake_logits), fake_logits))
    g_opt.apply_gradients(zip(g_tape.gradient(g_loss, g.trainable_variables),
                              g.trainable_variables))
    d_opt.apply_gradients(zip(d_tape.gradient(d_loss, d.trainable_variables),
                              d.trainable_variables))
    return d_loss

  timing = peer_timing.time_steps(lambda: float(step(real)), args.warmup, args.steps)
  peer_timing.report("keras-tf.function", args.batch, args.steps, args.threads, timing,
                     tensorflow=tf.__version__)


if __name__ == "__main__":
  main()
