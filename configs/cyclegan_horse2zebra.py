"""CycleGAN horse <-> zebra with the reference's settings, for an accelerator
(junyanz/pytorch-CycleGAN-and-pix2pix: `python train.py --dataroot ./datasets/horse2zebra
--name horse2zebra_cyclegan --model cycle_gan`, whose defaults these are).

ResNet generator with 9 residual blocks (resnet_9blocks, ngf 64, instance norm, reflection
padding; 11.378 M parameters each), 70x70 PatchGAN (n_layers 3, ndf 64; 2.765 M each), LSGAN
(adversarial_weight 2: the reference's MSE on G's side), lambda_A = lambda_B = 10, identity
0.5, image pools of 50, Adam(2e-4, beta1 0.5), batch 1; images loaded at 286x286, randomly
cropped to 256x256 and flipped each time they are drawn; 100 epochs at the constant rate then
100 of linear decay to 0. An epoch of the reference is max(|trainA|, |trainB|) = 1,334 images
here (tfds cycle_gan/horse2zebra: 1,067 horses, 1,334 zebras), so 200 epochs are 266,800
steps of batch 1 and the decay starts at step 133,400.

Run (tfds downloads cycle_gan/horse2zebra; or your own trainA/ trainB/ folders with
--config.dataset.name=image_folder --config.dataset.local_dir=DIR):
  python -m jaxgan.main --config=configs/cyclegan_horse2zebra.py --workdir=/tmp/horse2zebra

What to expect: not trained here (no accelerator was lent to the session that wrote it).
One batch-1 step is 1.88 TFLOP (XLA's count: six generator passes and four discriminator
passes, with their gradients); on the 2-core CPU it takes about 20 s (python -m
jaxgan.benchmark --config=configs/cyclegan_horse2zebra.py --image_shape=256,256,3 --steps=2;
3.9 GB peak memory), so the 266,800 steps (503 PFLOP) need an accelerator; its images/s and
memory were not measured. The figure to compare with: CycleGAN's horse -> zebra FID 77.2 on the 120 test horses
translated vs the test zebras (Park et al. 2020, "Contrastive Learning for Unpaired
Image-to-Image Translation", Table 1). jaxgan scores it while training with Inception
features (config.eval.feature_extractor "inception", pytorch-fid's weights fetched on first
use, README 'Evaluate'; off by default here: set --config.eval.every_steps), as eval_ab_fid
against the training zebras, which is not the paper's protocol (its reference set is the 140
test zebras): compare trends, not the number.
"""
import ml_collections

from configs import cyclegan_digits


def get_config() -> ml_collections.ConfigDict:
  config = cyclegan_digits.get_config()
  config.dataset.name = "cycle_gan/horse2zebra"
  config.dataset.split = "train"
  config.dataset.image_size = 286
  config.dataset.random_crop = 256
  config.dataset.random_flip = True
  config.model.kwargs = ml_collections.ConfigDict(
      {"ngf": 64, "ndf": 64, "n_blocks": 9, "n_layers": 3})
  config.batch_size = 1
  config.num_train_steps = 266_800
  for optimizer in (config.g_optimizer, config.d_optimizer):
    optimizer.schedule_kwargs = ml_collections.ConfigDict({"decay_updates": 133_400})
  config.log_every_steps = 1000
  config.sample_every_steps = 5000
  config.checkpoint_every_steps = 5000
  config.num_grid_samples = 24
  config.eval.every_steps = 0
  config.eval.feature_extractor = "inception"
  config.eval.num_samples = 120
  config.eval.batch_size = 25
  return config
