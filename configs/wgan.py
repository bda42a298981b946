"""WGAN with weight clipping on MNIST (Arjovsky et al., 2017, algorithm 1).

The tutorial DCGAN pair (critic without dropout: a deterministic critic), Wasserstein loss,
D's weights clipped to [-0.01, 0.01] after every update, RMSprop(5e-5) for both players,
5 critic updates per generator update. Batch 64.

Run (offline, from the IDX files of the MNIST test split):
  python -m jaxgan.main --config=configs/wgan.py --workdir=/tmp/wgan \
      --config.dataset.local_dir=../shared/data/mnist --config.dataset.split=test

What to expect: MEASURED_HERE
Watch d_wasserstein_estimate in metrics.jsonl / curves.png: it
should fall slowly as samples improve; clipping makes WGAN the slowest recipe to converge.
"""
import ml_collections

from configs import dcgan


def get_config() -> ml_collections.ConfigDict:
  config = dcgan.get_config()
  config.model.kwargs.dropout_rate = 0.0
  config.loss.name = "wasserstein"
  config.d_weight_clip = 0.01
  config.n_critic = 5
  for player in (config.g_optimizer, config.d_optimizer):
    player.name = "rmsprop"
    player.learning_rate = 5e-5
    player.kwargs = ml_collections.ConfigDict({"decay": 0.99})  # PyTorch's RMSprop alpha.
  return config
