"""ProGAN on MNIST: progressive growing from 4x4 to 32x32 (Karras et al., 2018).

The paper's networks (jaxgan/models/progan.py: equalised learning rate, pixel norm,
minibatch stddev) at a small width, grown by the progressive game (jaxgan/games/
progressive.py): 4x4 -> 8x8 -> 16x16 -> 32x32, each new resolution faded in over
`fade_kimg` thousand real images and stabilised over `stable_kimg`; the paper's WGAN-GP
(lambda 10) with the drift term 0.001 * E[D(x)^2], Adam(1e-3, beta1 0, beta2 0.99), one D
update per G update, optimizer moments reset at every phase (the official
reset_opt_for_new_lod), EMA of G (0.999) for samples and evaluation. MNIST's 28x28 digits
are resized to 32x32 (ProGAN doubles from 4x4).

Run (offline):
  python -m jaxgan.main --config=configs/progan_mnist.py --workdir=/tmp/progan \
      --config.dataset.local_dir=../shared/data/mnist --config.dataset.split=test
Then the evaluation with its floor and ceiling:
  python -m jaxgan.evaluate --workdir=/tmp/progan --baselines

What to expect (measured 2026-12-07, jax 0.12.1, offline test split; experiments/progan):
  * 13,000 steps in about 26 minutes of steps on the idle 2-core CPU (estimated: the run was
    pinned to one core beside other work, 51 minutes there; per phase, alone on 2 cores:
    4x4 8 ms/step, 8x8 41, 16x16 68, 32x32 128, i.e. 250 images/s at 32x32), plus 13
    evaluations. Each phase compiles once (3-6 s).
  * Evaluation (5000 samples, jaxgan's 32x32 MNIST classifier features; real held-out floor
    FID 5.9, precision 0.90, coverage 0.97):
      step    idle minutes (est.)  FID    precision  coverage  class KL
       2000    2.9                 628    0.69       0.15      0.086
       4000    7.1                 314    0.58       0.28      0.020
       6000   11.4                 194    0.55       0.39      0.035
       9000   17.8                 138    0.56       0.45      0.026
      13000   26.3                  90    0.57       0.54      0.011
    FID still falls by ~10% per 1000 steps (2.1 minutes) at the end; precision stays at
    0.55-0.57 from step 5000 on (0.58 at 4000).
  * At the end (docs/images/progan_mnist_step13000.png): digits of all ten classes, about three
    in five recognisable, the rest malformed strokes; the growth:
    docs/images/progan_mnist_milestones.png (an earlier run). The earlier recipe (batch 64
    throughout, 2200 steps, eager penalty) ended at FID 540 after 16 minutes.
  * W (the critic's estimate) stays at 3-9; with G at D's rate (the paper's) it was negative
    for most of the first 500 steps and the run collapsed to one sample at 16x16.
"""
import ml_collections

from configs import default


def get_config() -> ml_collections.ConfigDict:
  config = default.get_config()
  config.dataset.image_size = 32
  config.model.name = "progan"
  config.model.latent_dim = 64  # the official default: nf(0) = min(fmap_base, fmap_max)
  # nf = 64, 64, 32, 16 channels at 4x4 .. 32x32: the paper's 32x32 (CIFAR-10) networks
  # have 512, 512, 256, 128 (fmap_base 4096), ~50x this recipe's cost per image.
  config.model.kwargs = ml_collections.ConfigDict(
      {"fmap_base": 256, "fmap_max": 64, "minibatch_stddev_group": 4})
  config.game.name = "progressive"
  config.game.kwargs = ml_collections.ConfigDict(
      {"stable_kimg": 10.0, "fade_kimg": 10.0, "initial_resolution": 4,
       "reset_optimizer": True})
  config.loss.name = "wasserstein"
  config.loss.kwargs = ml_collections.ConfigDict({"drift": 0.001})
  config.penalty.name = "wgan_gp"
  config.penalty.weight = 10.0
  for player in (config.g_optimizer, config.d_optimizer):
    player.learning_rate = 1e-3
    player.kwargs = ml_collections.ConfigDict({"b1": 0.0, "b2": 0.99, "eps": 1e-8})
  # Departure: G at a quarter of D's rate (TTUR). With the paper's equal rates at this width
  # and budget the critic lost (E[D(x)] - E[D(G(z))] < 0 before most D updates of the first
  # 500 steps) and two runs collapsed to one sample at 16x16; with G at 2.5e-4 the estimate
  # stays at 3-5 and the samples stay diverse (experiments/progan/README.md).
  config.g_optimizer.learning_rate = 2.5e-4
  config.ema.decay = 0.999
  # Batch 64 at 4x4 and 8x8 (cheap), 32 from 16x16 on: twice the updates per image where
  # the steps cost most (the official code also lowers the batch as resolution grows).
  config.batch_size = 32
  config.game.kwargs.batch_sizes = ml_collections.ConfigDict({"4": 64, "8": 64})
  # The penalty lazily (every 4th D update, 4x the weight; StyleGAN2's lazy regularisation).
  config.penalty.every = 4
  # 4x4 to 32x32 is 70 kimg (7 phases of 10, the last open); 13,000 steps train 32x32
  # stabilised for the last ~11,600 (~371 kimg).
  config.num_train_steps = 13000
  config.log_every_steps = 100
  config.sample_every_steps = 1000
  config.checkpoint_every_steps = 1000
  config.eval.every_steps = 1000
  return config
