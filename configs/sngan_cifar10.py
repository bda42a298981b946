"""SNGAN on CIFAR-10 (Miyato et al., 2018): the ResNet pair with spectral norm in D
(jaxgan/models/resnet.py), hinge loss, 5 D updates per G update, Adam(2e-4, beta1=0,
beta2=0.9) for both, batch 64, 50,000 generator steps, as in the paper's ResNet runs.
SAGAN-style self-attention at 16x16 in G and D: --config.model.kwargs.attention_resolution=16
(or 8). The WGAN-GP paper's ResNet: --config.loss.name=wasserstein --config.penalty.name=wgan_gp
--config.model.kwargs.spectral_norm=False.

Run (tfds downloads CIFAR-10, ~160 MB, once):
  python -m jaxgan.main --config=configs/sngan_cifar10.py --workdir=/tmp/sngan_cifar10

What to expect (measured 2026-11-30, jax 0.10.2):
  * Cost, 2-core CPU (python -m jaxgan.benchmark --config=configs/sngan_cifar10.py
    --image_shape=32,32,3, synthetic data): 12 real images/s, i.e. 27 s per generator step
    (5 D updates of 64 + 1 G update): the 50,000 steps are a GPU run (weeks on this CPU).
    Compile 19 s.
  * What it reaches: not measured. CIFAR-10 cannot be downloaded here; the data path is
    tested with tfds mock data, the model (parameter counts, spectral norm on all 11 D
    layers, attention vs a NumPy reference, 1-vs-4-device steps) in tests/test_resnet.py.
  * One H200 GPU (train step on synthetic 32x32x3 data, jax 0.11.2): 14,600 images/s
    counted per D update at batch 64, 46 steps/s: the 50,000 steps in ~18 minutes
    (docs/performance.md).
"""
import ml_collections

from configs import default


def get_config() -> ml_collections.ConfigDict:
  config = default.get_config()
  config.dataset.name = "cifar10"
  config.model.name = "resnet"
  config.model.latent_dim = 128
  config.loss.name = "hinge"
  config.n_critic = 5
  for player in (config.g_optimizer, config.d_optimizer):
    player.learning_rate = 2e-4
    player.kwargs = ml_collections.ConfigDict({"b1": 0.0, "b2": 0.9})
  config.batch_size = 64
  config.num_train_steps = 50000
  config.log_every_steps = 100
  config.sample_every_steps = 1000
  config.checkpoint_every_steps = 1000
  # Classifier features trained on CIFAR-10's labels (jaxgan's small CNN, not Inception: for
  # comparing runs with each other). Numbers comparable with papers:
  # python -m jaxgan.evaluate --workdir=DIR --config.eval.protocol=fid50k_full
  # (docs/evaluation.md).
  config.eval.every_steps = 5000
  return config
