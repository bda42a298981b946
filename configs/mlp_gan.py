"""The fully connected GAN of the course notes on MNIST (jaxgan/models/mlp.py).

G 100 -> 256 -> 512 -> 1024 -> 784 (LeakyReLU 0.2, BatchNorm after it, tanh), D 784 -> 1024 ->
512 -> 256 -> 1 (LeakyReLU 0.2, Dropout 0.3); non-saturating BCE loss, Adam(2e-4, beta1=0.5)
for both, batch 64.

Run (offline, from the original IDX files; without --config.dataset.local_dir tfds downloads
MNIST):
  python -m jaxgan.main --config=configs/mlp_gan.py --workdir=/tmp/mlp_gan \
      --config.dataset.local_dir=../shared/data/mnist --config.dataset.split=test

What to expect (measured 2026-11-30, jax 0.10.2):
  * 2-core CPU, offline test split: 10000 steps in 4.5 minutes of training (35-42 steps/s,
    ~2500 images/s; compile ~4 s), plus 1.6 minutes once per workdir to train the evaluation
    classifier. Samples (docs/images/mlp_gan_mnist_step10000.png) are digits of all ten
    classes, most recognisable but speckled with isolated pixels (no convolution to smooth
    them); d_loss ~1.1-1.3, D(x) ~0.55-0.65, D(G(z)) ~0.35-0.5 after step 1000.
  * In-run evaluation (5000 samples, jaxgan's MNIST classifier features; compare only with
    the numbers in configs/dcgan.py):
                  FID    KID    precision recall coverage classes class KL
      step 5000   180    187     0.73      0.59    0.56     10/10   0.036
      step 10000   70.7   76     0.75      0.72    0.79     10/10   0.014
  * One H200 GPU (train step on synthetic data, jax 0.11.2): 350,000 images/s at batch 256
    (docs/performance.md).
"""
import ml_collections

from configs import dcgan_tutorial


def get_config() -> ml_collections.ConfigDict:
  config = dcgan_tutorial.get_config()  # batch 64, non-saturating loss, Adam 2e-4 (0.5, 0.999)
  config.model.name = "mlp"
  config.num_train_steps = 10000
  config.sample_every_steps = 1000
  config.eval.every_steps = 5000
  return config
