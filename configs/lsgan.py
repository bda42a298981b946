"""LSGAN on MNIST (Mao et al., 2017): least-squares loss with the 0-1 coding (a=0, b=c=1).

The tutorial DCGAN pair and optimizers (Adam 2e-4, beta1 0.5, the paper's settings); only the
loss changes. For the Pearson-chi^2 coding: --config.loss.kwargs.a=-1.0 ... .c=0.0.

Run (offline):
  python -m jaxgan.main --config=configs/lsgan.py --workdir=/tmp/lsgan \
      --config.dataset.local_dir=../shared/data/mnist --config.dataset.split=test

What to expect (measured 2026-11-23, 2-core CPU, offline test split, jax 0.10.2):
  2000 steps in ~7 minutes on an idle machine (4.8 steps/s; 8.3 min measured while other
  jobs shared the CPU). Samples at step 2000 (experiments/recipes/recipes_step2000.png): digit
  strokes everywhere and many recognisable digits (1, 7, 8, 6, 9), more malformed ones than the
  BCE recipes at the same step; d_loss ~0.2, g_loss ~0.22 (the balanced game's values are
  0.25 / 0.125 in the 0-1 coding, so D is ahead).
"""
import ml_collections

from configs import dcgan_tutorial


def get_config() -> ml_collections.ConfigDict:
  config = dcgan_tutorial.get_config()
  config.loss.name = "least_squares"
  return config
