"""WGAN with weight clipping on MNIST (Arjovsky et al., 2017, algorithm 1).

The tutorial DCGAN pair (critic without dropout: a deterministic critic), Wasserstein loss,
D's weights clipped to [-0.01, 0.01] after every update, RMSprop(5e-5) for both players,
5 critic updates per generator update. Batch 64.

Run (offline, from the IDX files of the MNIST test split):
  python -m jaxgan.main --config=configs/wgan.py --workdir=/tmp/wgan \
      --config.dataset.local_dir=../shared/data/mnist --config.dataset.split=test

What to expect (measured 2026-11-23, 2-core CPU, offline test split, jax 0.10.2):
  2.4 steps/s on an idle machine (5 critic updates per step, no penalty), so 2000 steps take
  ~14 minutes (15.0 measured). At step 2000 (experiments/recipes/recipes_step2000.png) the
  samples are thick, blobby digits, many recognisable (0, 2, 3, 5, 9), the least sharp of the
  recipes: clipping makes WGAN the slowest to converge, as the WGAN-GP paper reports. The
  Wasserstein estimate (d_wasserstein_estimate, curves.png) falls from 0.81 at step 100 to
  0.08 at step 2000 (small in absolute terms because clipping at 0.01 scales the critic down).
"""
import ml_collections

from configs import dcgan_tutorial


def get_config() -> ml_collections.ConfigDict:
  config = dcgan_tutorial.get_config()
  config.model.kwargs.dropout_rate = 0.0
  config.loss.name = "wasserstein"
  config.d_weight_clip = 0.01
  config.n_critic = 5
  for player in (config.g_optimizer, config.d_optimizer):
    player.name = "rmsprop"
    player.learning_rate = 5e-5
    player.kwargs = ml_collections.ConfigDict({"decay": 0.99})  # PyTorch's RMSprop alpha.
  return config
