"""ProGAN on CelebA faces at 128x128: the paper's networks and schedule (Karras et al., 2018).

G and D of the paper (jaxgan/models/progan.py; fmap_base 8192, fmap_max 512, latent 512:
512 feature maps up to 32x32, then 256 at 64x64 and 128 at 128x128), grown 4x4 -> 128x128
by the official schedule (jaxgan/games/progressive.py): 600 thousand real images per
stabilisation phase and per fade-in, optimizer moments reset at each phase; WGAN-GP
(lambda 10) with drift 0.001, Adam(1e-3, beta1 0, beta2 0.99, eps 1e-8), EMA of G 0.999.
No horizontal flips (the official mirror_augment of its CelebA-HQ runs flips real images in
its data pipeline; jaxgan's has no flips, and config.augment would flip fakes too). Data: tfds
"celeb_a" train split (162,770 faces of 218x178), centre-cropped to 108 and resized to 128
while loading (8 GB in memory: see README "GPUs, TPUs, several hosts").

Run (tfds downloads CelebA, ~1.4 GB, once):
  python -m jaxgan.main --config=configs/progan_celeba.py --workdir=/tmp/progan_celeba

What to expect: not measured here (no CelebA and no GPU in this task). The official
single-GPU preset's batches per resolution (game.kwargs.batch_sizes: 128 up to 16x16, then
64, 32, 16) and its 12 million images (total_kimg): 128x128 fades in from 5.4 million images
(step 79,687) and is whole at 6.0 million (step 117,187); the run ends at step 492,187.
Classifier-feature metrics need labels (CelebA has none): evaluate under an Inception
protocol (--config.eval.protocol=fid50k_full, README "Evaluate").
"""
import ml_collections

from configs import progan_mnist


def get_config() -> ml_collections.ConfigDict:
  config = progan_mnist.get_config()
  config.dataset.name = "celeb_a"
  config.dataset.split = "train"
  config.dataset.crop = 108
  config.dataset.image_size = 128
  config.model.latent_dim = 512
  config.model.kwargs = ml_collections.ConfigDict(
      {"fmap_base": 8192, "fmap_max": 512, "minibatch_stddev_group": 4})
  config.game.kwargs.stable_kimg = 600.0
  config.game.kwargs.fade_kimg = 600.0
  config.game.kwargs.batch_sizes = ml_collections.ConfigDict(
      {"4": 128, "8": 128, "16": 128, "32": 64, "64": 32, "128": 16})
  config.batch_size = 16  # checks and tools that take one batch: the final resolution's
  config.num_train_steps = 492_187
  config.log_every_steps = 1000
  config.sample_every_steps = 10_000
  config.checkpoint_every_steps = 10_000
  config.eval.every_steps = 0
  return config
