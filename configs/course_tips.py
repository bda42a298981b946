"""The course's GAN training tips, all at once, on the tutorial DCGAN for MNIST.

  * one-sided label smoothing: D's target for real images is 0.9 (loss.kwargs.real_label);
  * LeakyReLU with slope 0.2 in both networks (model.kwargs.leaky_relu_slope);
  * Adam(2e-4, beta1=0.5) for both players (the default);
  * instance noise: Gaussian noise of std 0.1 on every D input, decaying linearly to 0 over
    the run (instance_noise.std / decay_steps).

Run (offline):
  python -m jaxgan.main --config=configs/course_tips.py --workdir=/tmp/course_tips \
      --config.dataset.local_dir=../shared/data/mnist --config.dataset.split=test

What to expect: see RESULTS. With smoothing, D(x) saturates near 0.9 at most, never 1.
"""
import ml_collections

from configs import dcgan

RESULTS = """
  2-core CPU, offline test split: see experiments/recipes.
"""


def get_config() -> ml_collections.ConfigDict:
  config = dcgan.get_config()
  config.loss.name = "non_saturating"
  config.loss.kwargs.real_label = 0.9
  config.model.kwargs.leaky_relu_slope = 0.2
  config.instance_noise.std = 0.1
  config.instance_noise.decay_steps = config.num_train_steps
  return config
