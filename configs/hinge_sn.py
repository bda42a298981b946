"""Hinge loss with a spectrally normalised discriminator on MNIST (Miyato et al., 2018).

The tutorial DCGAN pair with spectral normalisation on every D layer (one power iteration per
D call; the vectors are D state saved in checkpoints) and no dropout, hinge loss, one D update
per G update, and two timescales as SAGAN/BigGAN train hinge + SN (Zhang et al., 2019):
Adam(beta1=0, beta2=0.9) with G at 1e-4 and D at 4e-4. (With the tutorial's Adam(2e-4, 0.5)
for both, samples after 1000 steps were speckled: D, weakened by SN, needs the faster rate.)

Run (offline):
  python -m jaxgan.main --config=configs/hinge_sn.py --workdir=/tmp/hinge_sn \
      --config.dataset.local_dir=../shared/data/mnist --config.dataset.split=test

What to expect (measured 2026-11-23, 2-core CPU, offline test split, jax 0.10.2):
  2000 steps in ~7 minutes on an idle machine (5.3 steps/s; 9.2 min measured while other
  jobs shared the CPU). Samples at step 2000 (experiments/recipes/recipes_step2000.png): clean
  single strokes, most digits recognisable (0, 3, 5, 7, 8, 9 clearly); d_loss ~1.6 (2 would
  mean D cannot tell), D's raw outputs ~0.2 on reals and ~-0.2 on fakes.
"""
import ml_collections

from configs import dcgan_tutorial


def get_config() -> ml_collections.ConfigDict:
  config = dcgan_tutorial.get_config()
  config.model.kwargs.dropout_rate = 0.0
  config.model.kwargs.spectral_norm = True
  config.loss.name = "hinge"
  config.g_optimizer.learning_rate = 1e-4
  config.d_optimizer.learning_rate = 4e-4
  for player in (config.g_optimizer, config.d_optimizer):
    player.kwargs = ml_collections.ConfigDict({"b1": 0.0, "b2": 0.9})
  return config
