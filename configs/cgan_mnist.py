"""The conditional GAN of the course on MNIST: ask for a digit, get that digit.

The tutorial DCGAN of configs/dcgan.py made class-conditional (jaxgan/models/conditional.py)
the way the course does it: G reads [z, one_hot(y)] and D reads the image with ten label maps
(one-hot y broadcast over 28x28) as extra channels. Each fake is made for the class of the
real image it is paired with. Non-saturating BCE loss, Adam(2e-4, beta1=0.5), batch 64. The
modern form, conditional BatchNorm in G and a projection discriminator, is
configs/cgan_projection_mnist.py.

Not every architecture takes label maps well: the small Keras DCGAN (dcgan_keras) with label
maps lets D win within 100 steps and G saturates to black images, although constant maps
carry no class information (all-ones maps do the same; all-zero maps train normally). With
the tutorial DCGAN (BatchNorm in G, dropout 0.3 in D) training stays balanced.

Run (offline, from the original IDX files; without --config.dataset.local_dir tfds downloads
MNIST):
  python -m jaxgan.main --config=configs/cgan_mnist.py --workdir=/tmp/cgan \
      --config.dataset.local_dir=../shared/data/mnist --config.dataset.split=test
One row per digit, and samples of one digit:
  python -m jaxgan.sample --workdir=/tmp/cgan --label=7 --num_samples=100 \
      --output=/tmp/sevens.npz --grid=/tmp/cgan_grid.png

What to expect (measured 2026-11-30, jax 0.10.2):
  * 2-core CPU, offline test split: ~2.9 steps/s (~185 images/s; compile ~6 s), so the 5000
    steps take about 30 minutes. The per-class grid at step 5000
    (docs/images/cgan_mnist_step5000.png) shows the requested digit in every row, in varied
    styles. Until step ~3000 the digits are broken strokes; between 3000 and 4000 they form.
  * In-run evaluation (5000 samples, every class in turn, vs 5000 real test digits; jaxgan's
    MNIST classifier, 97.7% held-out accuracy):
                  FID    KID   precision recall coverage class KL class accuracy
      step 1000   276    221    0.58      0.36    0.32     0.047     0.767
      step 2000   388    329    0.71      0.17    0.23     0.057     0.749
      step 3000   265    253    0.71      0.29    0.34     0.019     0.797
      step 4000    36.3   22    0.59      0.75    0.64     0.002     0.917
      step 5000    36.4   27    0.69      0.71    0.73     0.003     0.939
      untrained  1936    650    1.00      0.00    0.003    1.84      0.099
    (`python -m jaxgan.evaluate --workdir=/tmp/cgan --baselines` on step 5000.) class
    accuracy: the share of samples the classifier reads as the class requested.
  * One H200 GPU (train step on synthetic data, jax 0.11.2): 51,400 images/s at batch 64,
    129,300 at 256 (experiments/performance/h200_conditional_2026-11-30.log).
"""
import ml_collections

from configs import dcgan_tutorial


def get_config() -> ml_collections.ConfigDict:
  config = dcgan_tutorial.get_config()  # dcgan_tutorial, batch 64, evaluation every 1000 steps
  config.num_train_steps = 5000
  config.model.num_classes = 10
  config.model.generator_conditioning = "concat"
  config.model.discriminator_conditioning = "concat"
  return config
