"""The course's GAN training tips, all at once, on the tutorial DCGAN for MNIST.

  * one-sided label smoothing: D's target for real images is 0.9 (loss.kwargs.real_label);
  * LeakyReLU with slope 0.2 in both networks (model.kwargs.leaky_relu_slope);
  * Adam(2e-4, beta1=0.5) for both players (the default);
  * instance noise: Gaussian noise of std 0.1 on every D input, decaying linearly to 0 over
    the run (instance_noise.std / decay_steps).

Run (offline):
  python -m jaxgan.main --config=configs/course_tips.py --workdir=/tmp/course_tips \
      --config.dataset.local_dir=../shared/data/mnist --config.dataset.split=test

What to expect (measured 2026-11-23, 2-core CPU, offline test split, jax 0.10.2):
  2000 steps in ~7 minutes on an idle machine (5.0 steps/s; 10.4 min measured while other
  jobs shared the CPU). Samples at step 2000 (experiments/recipes/recipes_step2000.png) are
  mostly recognisable digits of most classes, of about the dcgan recipe's quality at the same
  step (one run each: too little to say the tips help on MNIST); d_loss ~1.2, D(x) ~0.5 (it cannot exceed ~0.9 with the smoothed target),
  D(G(z)) ~0.37. curves.png has a fourth panel with the noise schedule.
  Note: decay_steps is fixed at 3000 when the recipe is built; with --config.num_train_steps=N
  also pass --config.instance_noise.decay_steps=N.
"""
import ml_collections

from configs import dcgan_tutorial


def get_config() -> ml_collections.ConfigDict:
  config = dcgan_tutorial.get_config()
  config.loss.name = "non_saturating"
  config.loss.kwargs.real_label = 0.9
  config.model.kwargs.leaky_relu_slope = 0.2
  config.instance_noise.std = 0.1
  config.instance_noise.decay_steps = config.num_train_steps
  return config
