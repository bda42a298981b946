"""WGAN-GP on MNIST (Gulrajani et al., 2017, algorithm 1).

The tutorial DCGAN pair (critic without dropout; it has no BatchNorm, as the paper requires
of a gradient-penalised critic), Wasserstein loss plus lambda = 10 times the gradient penalty
on real-fake interpolates, Adam(1e-4, beta1=0, beta2=0.9), 5 critic updates per G update.

Run (offline):
  python -m jaxgan.main --config=configs/wgan_gp.py --workdir=/tmp/wgan_gp \
      --config.dataset.local_dir=../shared/data/mnist --config.dataset.split=test

What to expect: MEASURED_HERE
d_penalty should settle near 0.0x-0.1 (critic gradients of
norm ~1 on interpolates) and d_wasserstein_estimate fall as samples improve.
"""
import ml_collections

from configs import dcgan


def get_config() -> ml_collections.ConfigDict:
  config = dcgan.get_config()
  config.model.kwargs.dropout_rate = 0.0
  config.loss.name = "wasserstein"
  config.penalty.name = "wgan_gp"
  config.penalty.weight = 10.0
  config.n_critic = 5
  for player in (config.g_optimizer, config.d_optimizer):
    player.learning_rate = 1e-4
    player.kwargs = ml_collections.ConfigDict({"b1": 0.0, "b2": 0.9})
  return config
