"""The TensorFlow DCGAN tutorial's training, as written, for a wall-clock budget.

  python tutorial_train.py --data_dir=../shared/data/mnist --minutes=8 --output=keras.npz

The tutorial's models and step (tutorial_keras.py), its settings: Adam(1e-4) for both
networks (Keras' default betas), batch 256, `Dataset.from_tensor_slices(images)
.shuffle(60000).batch(256)` of images scaled to [-1, 1], epoch after epoch. Here the data
is the MNIST IDX files of --data_dir (the offline 10,000-digit test split: t10k-images-idx3-
ubyte, gzipped or not), and training stops at the first step that ends after --minutes of
wall time counted from this process's start (imports and tracing included, as for jaxgan's
side). Then G (training=False) makes --num_samples images from fresh normal latents, written
to --output as float32 [n, 28, 28, 1] in [-1, 1] with the steps and epochs done. Plain
Python with TensorFlow: no jaxgan.
"""
import argparse
import gzip
import json
import os
import time

STARTED = time.perf_counter()

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import tutorial_keras  # noqa: E402

BUFFER_SIZE, BATCH_SIZE = 60000, 256


def read_idx_images(data_dir: str) -> np.ndarray:
  """uint8 [n, 28, 28] from t10k-images-idx3-ubyte(.gz) (or the train split's file)."""
  for base in ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte", "train-images-idx3-ubyte"):
    for path in (os.path.join(data_dir, base), os.path.join(data_dir, base + ".gz")):
      if os.path.exists(path):
        with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
          raw = f.read()
        count, rows, cols = (int.from_bytes(raw[i:i + 4], "big") for i in (4, 8, 12))
        return np.frombuffer(raw, np.uint8, offset=16).reshape(count, rows, cols)
  raise FileNotFoundError(f"No MNIST IDX images file in {data_dir}")


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--data_dir", required=True)
  parser.add_argument("--minutes", type=float, required=True)
  parser.add_argument("--output", required=True)
  parser.add_argument("--num_samples", type=int, default=5000)
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args()
  tf.random.set_seed(args.seed)
  images = read_idx_images(args.data_dir).reshape(-1, 28, 28, 1).astype("float32")
  images = (images - 127.5) / 127.5
  dataset = tf.data.Dataset.from_tensor_slices(images).shuffle(BUFFER_SIZE).batch(BATCH_SIZE)
  generator, discriminator = tutorial_keras.make_generator(), tutorial_keras.make_discriminator()
  step = tutorial_keras.make_train_step(generator, discriminator, tf.keras.optimizers.Adam(1e-4),
                                        tf.keras.optimizers.Adam(1e-4), tutorial_keras.LATENT)
  budget = args.minutes * 60
  steps = epochs = 0
  while time.perf_counter() - STARTED < budget:
    for batch in dataset:
      step(batch)
      steps += 1
      if time.perf_counter() - STARTED >= budget:
        break
    else:
      epochs += 1
  trained_seconds = time.perf_counter() - STARTED
  samples = [generator(tf.random.normal((500, tutorial_keras.LATENT)), training=False).numpy()
             for _ in range(-(-args.num_samples // 500))]
  np.savez(args.output, images=np.concatenate(samples)[:args.num_samples].astype(np.float32))
  print(json.dumps({"steps": steps, "epochs": epochs, "seconds": trained_seconds,
                    "tensorflow": tf.__version__}), flush=True)


if __name__ == "__main__":
  main()
