"""Radford et al.'s DCGAN at 32x32 on MNIST resized from 28x28 (jaxgan/models/dcgan_radford.py).

The 64x64 model of configs/dcgan_celeba.py one stage shorter (4x4x256 -> 8x8x128 ->
16x16x64 -> 32x32x1), with the same recipe: ReLU/LeakyReLU 0.2, BatchNorm in G and D (not on
G's output or D's input), N(0, 0.02) weights, non-saturating BCE, Adam(2e-4, beta1=0.5). Batch
64. The digits are resized to 32x32 while loading (config.dataset.image_size), so the
evaluation's MNIST classifier is trained on 32x32 digits too.

Run (offline, from the original IDX files):
  python -m jaxgan.main --config=configs/dcgan_radford_mnist.py --workdir=/tmp/dcgan_radford \
      --config.dataset.local_dir=../shared/data/mnist --config.dataset.split=test

What to expect (measured 2026-11-30, 2-core CPU, offline test split, jax 0.10.2):
  3.3-3.7 steps/s (~220 images/s), 2000 steps in 12.9 minutes including 1.6 minutes to
  train the evaluation classifier. At step 1000 most samples are already recognisable; at
  step 2000 (experiments/recipes/architectures_step2000.png) they are the smoothest and most
  recognisable of the MNIST architectures at equal steps, all classes. D stays ahead
  (D(x) ~0.85-0.95, D(G(z)) ~0.1-0.3, d_loss ~0.2-0.7) without collapse. In-run evaluation
  (5000 samples; features of a classifier trained on the 32x32 digits, so compare these
  numbers with each other, not with the 28x28 recipes'):
                  FID    KID    precision recall coverage classes class KL
      step 1000   218    331     0.54      0.70    0.38     10/10   0.028
      step 2000   130    205     0.55      0.77    0.50     10/10   0.021
  One GPU: not measured (docs/performance.md has the other recipes on an H200).
"""
import ml_collections

from configs import dcgan_tutorial


def get_config() -> ml_collections.ConfigDict:
  config = dcgan_tutorial.get_config()  # batch 64, non-saturating loss, Adam 2e-4 (0.5, 0.999)
  config.model.name = "dcgan_radford"
  config.dataset.image_size = 32
  config.num_train_steps = 2000
  return config
