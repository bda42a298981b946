"""LSGAN on MNIST (Mao et al., 2017): least-squares loss with the 0-1 coding (a=0, b=c=1).

The tutorial DCGAN pair and optimizers (Adam 2e-4, beta1 0.5, the paper's settings); only the
loss changes. For the Pearson-chi^2 coding: --config.loss.kwargs.a=-1.0 ... .c=0.0.

Run (offline):
  python -m jaxgan.main --config=configs/lsgan.py --workdir=/tmp/lsgan \
      --config.dataset.local_dir=../shared/data/mnist --config.dataset.split=test

What to expect: see RESULTS. d_loss ~0.2-0.4 and D's outputs on reals/fakes near 0.6/0.4
when the game is balanced.
"""
import ml_collections

from configs import dcgan

RESULTS = """
  2-core CPU, offline test split: see experiments/recipes.
"""


def get_config() -> ml_collections.ConfigDict:
  config = dcgan.get_config()
  config.loss.name = "least_squares"
  return config
