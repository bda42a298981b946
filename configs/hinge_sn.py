"""Hinge loss with a spectrally normalised discriminator on MNIST (Miyato et al., 2018).

The tutorial DCGAN pair with spectral normalisation on every D layer (one power iteration per
D call; the vectors are D state saved in checkpoints) and no dropout, hinge loss, Adam(2e-4,
beta1 0.5, beta2 0.999), one D update per G update (the SNGAN paper's setting "C" family).

Run (offline):
  python -m jaxgan.main --config=configs/hinge_sn.py --workdir=/tmp/hinge_sn \
      --config.dataset.local_dir=../shared/data/mnist --config.dataset.split=test

What to expect: see RESULTS.
"""
import ml_collections

from configs import dcgan

RESULTS = """
  2-core CPU, offline test split: see experiments/recipes.
"""


def get_config() -> ml_collections.ConfigDict:
  config = dcgan.get_config()
  config.model.kwargs.dropout_rate = 0.0
  config.model.kwargs.spectral_norm = True
  config.loss.name = "hinge"
  return config
