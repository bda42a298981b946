"""Stacked MNIST as the Unrolled GAN paper ran it: D a quarter of G's size (1000 modes).

Metz et al. 2017 (Unrolled GAN, sec. 3.3 and appendix) made Stacked MNIST hard by shrinking
D, so that a plain DCGAN collapses and the remedies can be compared; PacGAN (Lin et al.
2018, Table 3) reran that setting with packing. This recipe is that setting as PacGAN's
code has it (fjxmlzn/PacGAN, stacked_MNIST_experiments/unrolled_GAN_experiment/D=0.25G):
the small DCGAN of `jaxgan.models.stacked_dcgan` (D widths 2-4-8; `d_width=4` for "D 1/2 of
G"), z of 256, batch 128, non-saturating loss, Adam with beta = (0.5, 0.99), D's rate 2e-4
and G's 1e-4. Variants: configs/stacked_mnist_unrolled.py (k = 5), configs/
stacked_mnist_pacgan.py (packs of 2), and every row of experiments/mode_collapse/.

Run (tfds MNIST train split):
  python -m jaxgan.main --config=configs/stacked_mnist_metz.py --workdir=/tmp/metz
Offline (stacks built from the 10,000-digit test split):
  python -m jaxgan.main --config=configs/stacked_mnist_metz.py --workdir=/tmp/metz \\
      --config.dataset.local_dir=../shared/data/mnist --config.dataset.split=test

The papers count modes on 25,600 samples (a mode is covered by one sample; KL of the mode
histogram to uniform): `python experiments/mode_collapse/count_modes.py --workdir=/tmp/metz`.
The periodic evaluation uses 10,000 samples (the offline reference holds 10,000 stacks).
What to expect (measured 2026-12-02, 2-core CPU, offline): 10.1 steps/s (1,290 img/s) alone.
With these, the paper's settings, D stays at chance (D(x) ~ D(G(z)) ~ 0.5) and G draws grey
noise through the 1,600 steps tried; the published figures come after ~500,000 steps (Metz
et al.: 30.6 modes, KL 5.99; PacGAN's rerun: 78.5, 5.21). The CPU table of
experiments/mode_collapse widens D and raises G's rate (--config.model.kwargs.d_width=8
--config.g_optimizer.learning_rate=2e-4): then 1,500 steps take ~7 min and the plain DCGAN
collapses completely (every sample the same picture): 16 of 1000 modes, KL 5.21.
"""
import ml_collections

from configs import stacked_mnist


def get_config() -> ml_collections.ConfigDict:
  config = stacked_mnist.get_config()
  config.model.name = "dcgan_stacked"
  config.model.kwargs = ml_collections.ConfigDict({"d_width": 2})
  config.model.latent_dim = 256
  config.batch_size = 128
  config.g_optimizer.learning_rate = 1e-4
  config.d_optimizer.learning_rate = 2e-4
  for optimizer in (config.g_optimizer, config.d_optimizer):
    optimizer.kwargs.b2 = 0.99
  config.num_train_steps = 5000
  config.sample_every_steps = 1000
  config.checkpoint_every_steps = 1000
  config.eval.every_steps = 0   # counted by experiments/mode_collapse/count_modes.py
  return config
