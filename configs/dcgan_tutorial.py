"""DCGAN on MNIST: the TensorFlow DCGAN tutorial's model and training recipe, in jaxgan.

The faithful reproduction (configs/dcgan.py is the best DCGAN recipe for a CPU budget, built
from this one). Nine recipes inherit this one's settings: cgan_mnist, course_tips,
dcgan_keras, dcgan_radford_mnist, hinge_sn, lsgan, mlp_gan, wgan, wgan_gp.

G and D as in the tutorial (see jaxgan/models/dcgan.py), non-saturating BCE loss,
Adam(2e-4, beta1=0.5) for both, one D update per G update. Global batch 64 (the tutorial
uses 256): on a CPU, 4x more updates per minute matter more than a larger batch.

Run (downloads MNIST with tensorflow-datasets):
  python -m jaxgan.main --config=configs/dcgan_tutorial.py --workdir=/tmp/dcgan_tutorial
Offline, from the original IDX files (here: the 10,000-digit test split):
  python -m jaxgan.main --config=configs/dcgan_tutorial.py --workdir=/tmp/dcgan_tutorial \
      --config.dataset.local_dir=../shared/data/mnist --config.dataset.split=test
The tutorial's exact schedule (50 epochs of 60,000 at batch 256):
  ... --config.batch_size=256 --config.num_train_steps=11700
The tutorial's exact step (both gradients from one forward pass; ~1.3x faster on the CPU):
  ... --config.update_order=simultaneous

What to expect (measured 2026-11-23, jax 0.10.2):
  * 2-core CPU, offline test split: 3000 steps in 12.5 minutes (3.2-4.7 steps/s, ~200-300
    images/s; compile ~5 s). Samples (docs/images/dcgan_tutorial_mnist_step3000.png) are
    digits of all ten classes, most recognisable, some malformed; d_loss ~1.2-1.4, D(x) ~0.55-0.6,
    D(G(z)) ~0.4-0.5 throughout, without collapse. At step 500 (~2.5 min) strokes appear.
  * Evaluation, offline: `python -m jaxgan.evaluate --workdir=/tmp/dcgan_tutorial --baselines`
    on the step-2000 checkpoint (5000 samples vs 5000 real test digits; features of jaxgan's MNIST
    classifier, 97.7% held-out accuracy; README "Measured" has every metric):
                               FID    KID    precision recall coverage classes class KL
      this recipe, step 2000   216    202     0.54      0.60    0.31     10/10   0.040
      real held-out (floor)      5.7    2.0   0.90      0.89    0.97     10/10   0.001
      untrained G (ceiling)   1921    649     1.00      0.00    0.004     4/10   1.66
    (FID/KID in the classifier's feature space: compare only with each other, at 5000.)
  * Train step alone on the 2-core CPU (`python -m jaxgan.benchmark`, 2026-12-01): 230
    images/s at batch 64 (262 simultaneous), 236 at 256 (310 simultaneous); Keras 372/446,
    PyTorch 300/355 in the same run (docs/performance.md).
  * Against the TensorFlow tutorial's own code (Keras, batch 256, Adam 1e-4), the same 8
    minutes each on the 2-core CPU from a cold start, both scored as above (5000 samples,
    2026-12-01; experiments/performance/time_to_quality.py): this recipe FID 350, coverage
    0.22, class KL 0.055 at step 1479; the tutorial FID 1082, coverage 0.03, KL 0.40 at step
    717 (docs/performance.md).
  * Augmentation (experiments/augmentation/README.md): at 1500 steps, on 1,000 or on
    10,000 digits, neither DiffAugment nor ADA improves this recipe, so augment.name stays
    "none": DiffAugment raises FID by 60-100; ADA's controller keeps p near 0 (this D does
    not overfit: mean E[sign D(x_real)] 0.27-0.29 < 0.6) and scores like no augmentation.
  * One H200 GPU (train step on synthetic data, `python -m jaxgan.benchmark`, jax 0.11.2):
    37,000 images/s at batch 64; the tutorial's 11,700 steps at batch 256 in 20 s plus 11 s
    of compilation (docs/performance.md).
"""
import ml_collections

from configs import default


def get_config() -> ml_collections.ConfigDict:
  config = default.get_config()
  config.model.name = "dcgan_tutorial"
  config.model.latent_dim = 100
  config.loss.name = "non_saturating"
  config.batch_size = 64
  config.num_train_steps = 3000
  config.log_every_steps = 100
  config.sample_every_steps = 500
  # Classifier-feature FID/KID/precision-recall/coverage every 1000 steps (5000 samples);
  # the first evaluation trains the MNIST classifier (~2 min on a 2-core CPU).
  config.eval.every_steps = 1000
  return config
