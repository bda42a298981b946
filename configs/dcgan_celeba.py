"""The 64x64 DCGAN of Radford et al. (2016) on CelebA faces (jaxgan/models/dcgan_radford.py).

G 4x4x512 -> 8x8x256 -> 16x16x128 -> 32x32x64 -> 64x64x3 (ReLU, BatchNorm but on the output,
tanh); D the mirror image (LeakyReLU 0.2, BatchNorm but on the input); weights from
N(0, 0.02); non-saturating BCE loss, Adam(2e-4, beta1=0.5), batch 128, as in the paper.
Data: tfds "celeb_a" train split (162,770 faces of 218x178), centre-cropped to 108x108 and
resized to 64x64 while loading (2.0 GB in memory). Other resampling layers:
--config.model.kwargs.upsample=nearest|pixel_shuffle, --config.model.kwargs.downsample=avg_pool.

Run (tfds downloads CelebA, ~1.4 GB, once; or prepare it elsewhere and point
--config.dataset.data_dir at the copy):
  python -m jaxgan.main --config=configs/dcgan_celeba.py --workdir=/tmp/dcgan_celeba
Your own faces (or any images) instead: --config.dataset.name=image_folder
--config.dataset.local_dir=DIR (DIR/train/*.jpg), keeping the crop and size.

What to expect (measured 2026-11-30, jax 0.10.2; the CPU cost 2026-12-01):
  * Cost, 2-core CPU (python -m jaxgan.benchmark --config=configs/dcgan_celeba.py
    --image_shape=64,64,3, synthetic data): 58 images/s, 2.2 s per step at batch 128, so the
    20,000 steps would take ~12 hours: a GPU run. Compile 5.8 s.
  * What it reaches: not measured. CelebA cannot be downloaded here; the data path (crop,
    resize, shapes) is tested with tfds mock data, the model's shapes, parameter counts
    (G 3,576,704, D 2,765,569) and 1-vs-4-device train steps in tests/test_dcgan_family.py,
    and the same model at 32x32 trains on MNIST (configs/dcgan_radford_mnist.py).
  * One H200 GPU (train step on synthetic 64x64x3 data, jax 0.11.2): 33,600 images/s at
    batch 128, so the 20,000 steps take ~76 s of step time (docs/performance.md).
"""
import ml_collections

from configs import default


def get_config() -> ml_collections.ConfigDict:
  config = default.get_config()
  config.dataset.name = "celeb_a"
  config.dataset.split = "train"
  config.dataset.crop = 108
  config.dataset.image_size = 64
  config.model.name = "dcgan_radford"
  config.model.latent_dim = 100
  config.loss.name = "non_saturating"
  config.batch_size = 128
  config.num_train_steps = 20000  # ~16 epochs
  config.log_every_steps = 100
  config.sample_every_steps = 1000
  config.checkpoint_every_steps = 1000
  # Classifier-feature metrics need a labelled dataset (CelebA has none); for FID on faces:
  # python -m jaxgan.evaluate --workdir=DIR --config.eval.protocol=fid50k_full
  # (Inception's weights fetched on first use; docs/evaluation.md).
  config.eval.every_steps = 0
  return config
