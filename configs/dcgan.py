"""DCGAN on MNIST: the best DCGAN recipe for a 2-core CPU and 15 minutes (the README's command).

Radford et al.'s DCGAN design at 28x28 (jaxgan/models/dcgan_mnist.py: BatchNorm in G and D,
ReLU / LeakyReLU 0.2, N(0, 0.02) weights; G 0.79M parameters, D 0.11M), non-saturating BCE
loss with R1 on real digits (Mescheder et al., 2018; gamma 1, lazily every 4th D update as
StyleGAN2 does), Adam(4e-4, beta1=0.5) for both, constant then decaying linearly to 0 over
the second half, batch 32, an EMA of G's weights (decay 0.999) for samples and evaluation.
The TensorFlow tutorial's exact model and settings are configs/dcgan_tutorial.py.

Run (downloads MNIST with tensorflow-datasets, the 60,000-digit train split):
  python -m jaxgan.main --config=configs/dcgan.py --workdir=/tmp/dcgan
Offline, from the original IDX files (here: the 10,000-digit test split):
  python -m jaxgan.main --config=configs/dcgan.py --workdir=/tmp/dcgan \
      --config.dataset.local_dir=../shared/data/mnist --config.dataset.split=test

What to expect (measured 2026-12-07, jax 0.12.1, the idle 2-core CPU, offline test split,
each seed alone; experiments/quality/README.md has the study that chose these settings):
  * 24,000 steps in 16.0 / 15.6 minutes of steps (seed 0 / 1; ~25 steps/s, ~800 images/s);
    seed 0 took 16.9 minutes in all, with 12 evaluations (~15 s each) and compilation. R1
    makes a step ~1.25x the cost of the same recipe without it: on the CPU it is computed at
    every D update and counted at every 4th (jaxgan.runtime.xla_cpu.cond says why); on a GPU
    only every 4th is computed. The evaluation's classifier is trained once per machine
    (~2 min, then cached in ~/.cache/jaxgan/classifiers).
  * In-run evaluation, 5000 samples in the features of jaxgan's MNIST classifier
    (5ca652ffdaa993f1, 97.9% held-out accuracy); real held-out digits score FID 5.44,
    precision 0.90, coverage 0.97 (the floor). Seed 0 / seed 1:
                     minutes      FID          precision    coverage     class KL      classes
      step  2000     1.3 /  1.3   44.7 / 43.4  0.53 / 0.52  0.57 / 0.58  0.007 / 0.009  10 / 10
      step  6000     3.8 /  3.8   12.4 / 13.0  0.68 / 0.69  0.82 / 0.82  0.003 / 0.001  10 / 10
      step 10000     6.5 /  6.2    8.5 /  8.8  0.75 / 0.72  0.88 / 0.84  0.002 / 0.003  10 / 10
      step 14000     9.2 /  8.8    6.4 /  6.5  0.79 / 0.79  0.91 / 0.91  0.002 / 0.001  10 / 10
      step 18000    11.9 / 11.4    5.2 /  5.8  0.80 / 0.81  0.91 / 0.93  0.001 / 0.001  10 / 10
      step 20000    13.3 / 12.8    4.9 /  5.4  0.80 / 0.82  0.93 / 0.93  0.001 / 0.001  10 / 10
      step 22000    14.6 / 14.2    5.2 /  5.5  0.80 / 0.82  0.93 / 0.93  0.001 / 0.001  10 / 10
      step 24000    16.0 / 15.6    4.3 /  5.2  0.78 / 0.81  0.92 / 0.93  0.001 / 0.001  10 / 10
    Every goal of issue 46 (FID <= 3x the floor, precision and coverage >= 0.8, class KL <=
    0.02, 10/10 classes) holds in both seeds at steps 20,000 and 22,000 (12.8-14.6 minutes);
    FID passes 3x the floor (16.3) by 3.8 minutes and reaches the floor at 12-13. Precision
    is the last to arrive and sits at 0.78-0.82 from step 14,000 on (seed 0's last
    evaluation: 0.784; it moves by up to 0.02 between neighbouring evaluations).
  * The samples (docs/images/dcgan_mnist_step24000.png, seed 0): MNIST digits of every class,
    about one in eight malformed.
  * The generator does not copy its training digits, although its FID goes below the
    held-out floor (it trains on the same 10,000 digits the reference comes from): the
    nearest real digits of its samples (docs/images/dcgan_mnist_nearest_neighbours.png;
    `python -m jaxgan.evaluate --workdir=/tmp/dcgan`) are other writings of the same or a
    similar digit (pixel distances 1.9-6.1; the closest, 1.95, a plain 1, as real 1s are
    alike).
  * The README's command (tfds, the 60,000-digit train split) has not been measured here (no
    network); the same number of steps sees each digit ~13 times instead of ~77.
"""
import ml_collections

from configs import default


def get_config() -> ml_collections.ConfigDict:
  config = default.get_config()
  config.model.name = "dcgan_mnist"   # g_width 32, d_width 32
  config.model.latent_dim = 100
  config.loss.name = "non_saturating"
  config.batch_size = 32
  for optimizer in (config.g_optimizer, config.d_optimizer):
    optimizer.learning_rate = 4e-4
    optimizer.schedule = "constant_then_linear"  # linear decay to 0 over the second half
  config.ema.decay = 0.999
  # R1 (Mescheder et al., 2018) on real digits, gamma 1 (weight gamma / 2), lazily: every 4th
  # D update with 4x the weight (StyleGAN2's lazy regularisation).
  config.penalty.name = "r1"
  config.penalty.weight = 0.5
  config.penalty.every = 4
  config.num_train_steps = 24000
  config.log_every_steps = 100
  config.sample_every_steps = 2000
  config.checkpoint_every_steps = 2000
  # Classifier-feature FID/KID/precision-recall/coverage (5000 samples); the first evaluation
  # trains the MNIST classifier (~2 min on a 2-core CPU). --config.eval.best_metric=fid keeps
  # the best step in WORKDIR/best.
  config.eval.every_steps = 2000
  return config
