"""Unrolled GAN on Stacked MNIST: configs/stacked_mnist_metz.py with G's loss taken through
5 simulated updates of D (Metz et al. 2017; jaxgan/plugins/unrolled.py).

The unroll uses D's own Adam and its state, on the G update's real batch and fakes, and G's
gradient goes through it (config.unrolled.backprop; False trains G against the looked-ahead
D as a constant). config.unrolled.steps=10 is the paper's other row.

Run offline (stacks from the MNIST test split):
  python -m jaxgan.main --config=configs/stacked_mnist_unrolled.py --workdir=/tmp/unrolled \\
      --config.dataset.local_dir=../shared/data/mnist --config.dataset.split=test
  python experiments/mode_collapse/count_modes.py --workdir=/tmp/unrolled

What to expect (measured 2026-12-02, 2-core CPU, offline, with the CPU table's flags
--config.model.kwargs.d_width=8 --config.g_optimizer.learning_rate=2e-4; see
experiments/mode_collapse): 1,500 steps in 13.9 min on a shared CPU (the step is ~3.7x the
plain one), 157 of 1000 modes, KL 4.11, where the plain DCGAN collapses to 16 (KL 5.21).
Published (D a quarter of G, ~500,000 steps): 236.4 +- 63.3 modes, KL 4.67.
"""
import ml_collections

from configs import stacked_mnist_metz


def get_config() -> ml_collections.ConfigDict:
  config = stacked_mnist_metz.get_config()
  config.unrolled.steps = 5
  return config
