"""DCGAN on MNIST: the TensorFlow DCGAN tutorial's model and training recipe, in jaxgan.

G and D as in the tutorial (see jaxgan/models/dcgan.py), non-saturating BCE loss,
Adam(2e-4, beta1=0.5) for both, global batch 256, one D update per G update.

Run (downloads MNIST with tensorflow-datasets):
  python -m jaxgan.main --config=configs/dcgan.py --workdir=/tmp/dcgan
Offline, from the original IDX files (here: the 10,000-digit test split):
  python -m jaxgan.main --config=configs/dcgan.py --workdir=/tmp/dcgan \
      --config.dataset.local_dir=../shared/data/mnist --config.dataset.split=test

What to expect (measured; see the README's "Measured" section for the commands):
  * 2-core CPU: about 20 images/s... (filled in below)
"""
import ml_collections

from configs import default


def get_config() -> ml_collections.ConfigDict:
  config = default.get_config()
  config.model.name = "dcgan_tutorial"
  config.model.latent_dim = 100
  config.loss.name = "non_saturating"
  config.batch_size = 256
  config.num_train_steps = 5000
  return config
