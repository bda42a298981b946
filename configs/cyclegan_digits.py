"""CycleGAN on the offline digit pair: MNIST digits (A) <-> the same kind of digits written
with a thicker pen (B), unpaired (jaxgan.data.domains.digit_strokes).

The reference's method (junyanz/pytorch-CycleGAN-and-pix2pix, cycle_gan_model.py) at CPU size:
ResNet generator (c7s1-ngf, two stride-2 downsamples, residual blocks, two upsamples,
c7s1 tanh; reflection padding; instance norm) and PatchGAN discriminator, LSGAN loss with the
reference's weights (adversarial_weight 2: jaxgan's least_squares halves G's term), cycle
lambda 10 per domain, identity 0.5, an image pool of 50 per D, Adam(2e-4, beta1 0.5), constant
rate then a linear decay to 0 over the second half. Smaller than the reference: ngf 16,
3 residual blocks, ndf 16 and a 34x34 PatchGAN (n_layers 2) for 28x28 digits, batch 8 (the
reference's 1 would leave the 2-core CPU idle between ops).

Run (offline, from the original IDX files):
  python -m jaxgan.main --config=configs/cyclegan_digits.py --workdir=/tmp/cyclegan_digits \
      --config.dataset.local_dir=../shared/data/mnist --config.dataset.split=test

What to expect (measured 2026-12-02, jax 0.10.2, 2-core CPU, idle; experiments/cyclegan):
  * 6000 steps in 10.0 minutes of training (10.7-11.2 steps/s, 86-89 images of each domain
    per second; G 269k and D 42k parameters each), 10.5 minutes end to end; the evaluation's
    classifier is trained once per machine first (cached).
  * In-run evaluation on the 1,000 paired test digits (classifier features; L1 in [-1, 1]):
                     A->B FID  B->A FID  content A->B / B->A  L1 to the true counterpart
      real (floor)     39.0      33.3      0.974 / 0.978          0
      no translation   91.7      85.7      0.978 / 0.974          0.265
      step 2000        45.3      41.0      0.966 / 0.968          0.058 / 0.073
      step 6000        41.5      33.7      0.972 / 0.965          0.036 / 0.042
    Content preservation (the share of translated digits the classifier reads as the source
    digit) 97.2% / 96.5%, as often as it reads real target digits; untrained networks: 8%.
  * The grid (docs/images/cyclegan_digits_step6000.png): thickened and thinned digits hard to
    tell from the real ones, every translation the same digit.
"""
import ml_collections

from configs import default


def get_config() -> ml_collections.ConfigDict:
  config = default.get_config()
  config.game.name = "cyclegan"
  config.game.kwargs = ml_collections.ConfigDict({
      "lambda_a": 10.0, "lambda_b": 10.0, "lambda_identity": 0.5, "pool_size": 50,
      "adversarial_weight": 2.0})
  config.dataset.name = "digit_strokes"
  config.model.name = "cyclegan_resnet"
  config.model.kwargs = ml_collections.ConfigDict(
      {"ngf": 16, "ndf": 16, "n_blocks": 3, "n_layers": 2})
  config.loss.name = "least_squares"
  config.batch_size = 8
  config.num_train_steps = 6000
  for optimizer in (config.g_optimizer, config.d_optimizer):
    optimizer.schedule = "constant_then_linear"
  config.log_every_steps = 100
  config.sample_every_steps = 1000
  config.checkpoint_every_steps = 1000
  config.num_grid_samples = 48  # 8 rows of A | G(A) | F(G(A)) | B | F(B) | G(F(B))
  config.eval.every_steps = 2000
  config.eval.num_samples = 1000  # the paired test set
  return config
