"""The TensorFlow DCGAN tutorial's Keras models and train step (tensorflow.org/tutorials/
generative/dcgan), written out for the peers and for experiments/performance/time_to_quality.py.

G: Dense 7x7x256 (no bias) -> BatchNorm -> LeakyReLU -> ConvT 128 5x5 /1 -> BN -> LReLU ->
ConvT 64 5x5 /2 -> BN -> LReLU -> ConvT 1 5x5 /2, tanh; D: Conv 64 5x5 /2 -> LReLU -> Dropout
0.3 -> Conv 128 5x5 /2 -> LReLU -> Dropout 0.3 -> Dense 1 (a logit). Keras' LeakyReLU default
slope is 0.3 (Keras 3); the tutorial relies on it.

The step (the tutorial's `train_step`): G makes a batch of fakes from fresh normal latents; one
forward pass through D on real and fake; D's loss BCE(real, 1) + BCE(fake, 0), G's the
non-saturating BCE(fake, 1); both gradients from that pass (two tapes), both optimisers
applied. Plain Python module: it runs in any environment with TensorFlow, without jaxgan.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402
from tensorflow.keras import layers  # noqa: E402

LATENT = 100


def make_generator() -> tf.keras.Model:
  return tf.keras.Sequential([
      tf.keras.Input((LATENT,)),
      layers.Dense(7 * 7 * 256, use_bias=False), layers.BatchNormalization(), layers.LeakyReLU(),
      layers.Reshape((7, 7, 256)),
      layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
      layers.BatchNormalization(), layers.LeakyReLU(),
      layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
      layers.BatchNormalization(), layers.LeakyReLU(),
      layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False,
                             activation="tanh"),
  ])


def make_discriminator() -> tf.keras.Model:
  return tf.keras.Sequential([
      tf.keras.Input((28, 28, 1)),
      layers.Conv2D(64, 5, strides=2, padding="same"), layers.LeakyReLU(), layers.Dropout(0.3),
      layers.Conv2D(128, 5, strides=2, padding="same"), layers.LeakyReLU(), layers.Dropout(0.3),
      layers.Flatten(), layers.Dense(1),
  ])


def make_train_step(generator, discriminator, g_optimizer, d_optimizer, latent_dim: int,
                    jit_compile: bool = False):
  """The tutorial's step as a tf.function: `step(real images [B, 28, 28, 1]) -> d_loss`."""
  bce = tf.keras.losses.BinaryCrossentropy(from_logits=True)

  @tf.function(jit_compile=jit_compile)
  def step(real):
    z = tf.random.normal((tf.shape(real)[0], latent_dim))
    with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
      fake = generator(z, training=True)
      real_logits = discriminator(real, training=True)
      fake_logits = discriminator(fake, training=True)
      g_loss = bce(tf.ones_like(fake_logits), fake_logits)
      d_loss = (bce(tf.ones_like(real_logits), real_logits)
                + bce(tf.zeros_like(fake_logits), fake_logits))
    g_optimizer.apply_gradients(zip(g_tape.gradient(g_loss, generator.trainable_variables),
                                    generator.trainable_variables))
    d_optimizer.apply_gradients(zip(d_tape.gradient(d_loss, discriminator.trainable_variables),
                                    discriminator.trainable_variables))
    return d_loss

  return step
