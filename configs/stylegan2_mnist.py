"""StyleGAN2's networks on MNIST at 32x32, trained by the standard game with lazy R1.

The networks are the official ones (jaxgan/models/stylegan2.py: mapping network, modulated
and demodulated convolutions, noise inputs, skip generator, residual discriminator with
minibatch stddev, [1, 3, 3, 1] FIR resampling, equalised learning rate) at a small width; the
training follows NVlabs/stylegan2-ada-pytorch's "auto" configuration (train.py) where the
standard game can: the non-saturating logistic loss, R1 on real images every 16 D updates
with its weight x16, Adam(0.0025, betas (0, 0.99), eps 1e-8) with D's rate and beta2
corrected for the lazy interval (mb_ratio 16/17: lr x 16/17, beta2^(16/17)), a 2-layer
mapping network and an EMA of G of half-life 10 kimg (0.5^(32 / 10000) = 0.9978 per step).
Departure: R1's gamma is 0.1 (config.penalty.weight = gamma / 2 = 0.05), not "auto"'s
0.0002 * 32^2 / batch 32 = 0.0064: with that, D won by step 800 (D(G(z)) 0.001, one blurred
mode, FID 2125). Widths ch(r) = min(512 / r, 32): 16 to 32 channels. MNIST's 28x28 digits
are resized to 32x32.

Not yet here (issue 23, the stylegan2 game): style-mixing regularisation, path-length
regularisation, the EMA ramp-up in images (jaxgan's EMA warms up over steps instead).

Run (offline):
  python -m jaxgan.main --config=configs/stylegan2_mnist.py --workdir=/tmp/stylegan2 \
      --config.dataset.local_dir=../shared/data/mnist --config.dataset.split=test
Then:
  python -m jaxgan.evaluate --workdir=/tmp/stylegan2 --baselines

What to expect (experiments/stylegan2/README.md; 2026-12-03, this 2-core CPU): 3.9 steps/s
(126 img/s) alone, compile ~60 s; the 2400 steps took 26 minutes beside a second run (1.7-2.0
steps/s; ~11 minutes of steps alone, not measured end to end). FID 693
at step 2400 (32x32 classifier features, real floor 5.9; ProGAN's recipe 540 after 16 min),
all 10 classes, class KL 0.24: many digits recognisable, some malformed
(docs/images/stylegan2_mnist_step2400.png). Before ~step 1500 the samples are one or two
digit shapes that drift (FID 1441, 7 classes, at step 1200): StyleGAN2's slow start at
this small batch.
"""
import ml_collections

from configs import default

BATCH = 32
R1_INTERVAL = 16
MB_RATIO = R1_INTERVAL / (R1_INTERVAL + 1)


def get_config() -> ml_collections.ConfigDict:
  config = default.get_config()
  config.dataset.image_size = 32
  config.model.name = "stylegan2"
  config.model.latent_dim = 128
  config.model.kwargs = ml_collections.ConfigDict(
      {"w_dim": 128, "mapping_layers": 2, "channel_base": 512, "channel_max": 32,
       "mbstd_group_size": 4})
  config.loss.name = "non_saturating"
  config.penalty.name = "r1"
  config.penalty.weight = 0.1 / 2  # gamma / 2; gamma 0.1 (the docstring says why)
  config.penalty.every = R1_INTERVAL
  config.g_optimizer.learning_rate = 0.0025
  config.d_optimizer.learning_rate = 0.0025 * MB_RATIO
  config.g_optimizer.kwargs = ml_collections.ConfigDict({"b1": 0.0, "b2": 0.99, "eps": 1e-8})
  config.d_optimizer.kwargs = ml_collections.ConfigDict(
      {"b1": 0.0, "b2": 0.99 ** MB_RATIO, "eps": 1e-8})
  config.ema.decay = 0.5 ** (BATCH / 10_000)
  config.batch_size = BATCH
  config.num_train_steps = 2400
  config.log_every_steps = 100
  config.sample_every_steps = 500
  config.checkpoint_every_steps = 500
  config.eval.every_steps = 1200
  return config
