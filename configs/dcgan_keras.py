"""The small DCGAN of the Keras examples on MNIST (jaxgan/models/dcgan_keras.py).

G: Dense 7*7*128 -> ConvT 128 s1 -> ConvT 64 s2 -> ConvT 1 s2 (4x4 kernels, LeakyReLU 0.2,
no BatchNorm, tanh); D: Conv 64 s2 -> Conv 128 s2 (LeakyReLU 0.2) -> Dropout 0.2 -> Dense 1.
Non-saturating BCE loss, Adam(2e-4, beta1=0.5) for both, batch 64. Other resampling layers:
--config.model.kwargs.upsample=nearest|pixel_shuffle, --config.model.kwargs.downsample=avg_pool.

Run (offline, from the original IDX files; without --config.dataset.local_dir tfds downloads
MNIST):
  python -m jaxgan.main --config=configs/dcgan_keras.py --workdir=/tmp/dcgan_keras \
      --config.dataset.local_dir=../shared/data/mnist --config.dataset.split=test

What to expect (measured 2026-11-30, 2-core CPU, offline test split, jax 0.10.2):
  5.8 steps/s when the machine is otherwise idle (~370 images/s; see README "Architectures"
  for the benchmark), about 6 minutes for 2000 steps. At step 2000
  (experiments/recipes/architectures_step2000.png) the samples are digit-like strokes of all
  classes, many malformed, about as good as the tutorial DCGAN's at the same step (FID 218 vs
  216) with 2.2x fewer parameters and no BatchNorm; in-run evaluation (5000 samples, jaxgan's MNIST classifier features, comparable with the
  other MNIST recipes' docstrings):
                  FID    KID    precision recall coverage classes class KL
      step 1000   407    328     0.51      0.41    0.17     10/10   0.147
      step 2000   218    205     0.53      0.59    0.32     10/10   0.037
  One GPU: not measured (docs/performance.md has the other recipes on an H200).
"""
import ml_collections

from configs import dcgan_tutorial


def get_config() -> ml_collections.ConfigDict:
  config = dcgan_tutorial.get_config()  # batch 64, non-saturating loss, Adam 2e-4 (0.5, 0.999)
  config.model.name = "dcgan_keras"
  config.num_train_steps = 2000
  return config
