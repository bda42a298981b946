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

What to expect (measured 2026-12-01, idle 2-core CPU, jax 0.10.2; experiments/progan):
  * 15.9 minutes of training for the 2200 steps (5 evaluations included); per phase 2,930
    images/s at 4x4, 640 at 8x8, 220 at 16x16, 115 at 32x32; each phase compiles once
    (6-13 s).
  * At the end: strokes of all ten classes on black, some digits clean, many malformed
    (docs/images/progan_mnist_step2200.png; the growth: docs/images/progan_mnist_milestones.png).
    Evaluation (5000 samples, jaxgan's 32x32 MNIST classifier features):
                                 FID    precision recall coverage classes class KL
      this recipe, step 2200     540     0.695    0.382   0.195    10/10   0.065
      real held-out (floor)        5.9   0.897    0.889   0.971    10/10   0.001
      untrained G (ceiling)      956     0.228    0.008   0.041    10/10   0.456
    Worse than configs/dcgan_tutorial.py at equal time (FID 216 at ~8 minutes in its own 28x28
    feature space, floor 5.7): 10k images per phase, 1/60 of the paper's 600k.
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
  config.batch_size = 64
  # 4x4 to 32x32 is 70 kimg (7 phases of 10, the last open); 2200 steps of 64 are 141 kimg,
  # so 32x32 trains stabilised for the last 1106 steps (71 kimg).
  config.num_train_steps = 2200
  config.log_every_steps = 100
  config.sample_every_steps = 500
  config.checkpoint_every_steps = 500
  config.eval.every_steps = 500
  return config
