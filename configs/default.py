"""Every jaxgan config field, declared once with its default. Recipes override a few.

The returned config is locked: assigning a field that is not declared here (a typo in a
recipe, or `--config.batchsize=...` on the command line) raises instead of being ignored.
The `kwargs` sub-configs are the exception: they hold the settings of the chosen
architecture, loss, penalty, optimizer or schedule, and are checked against that object's
signature at start-up. Every stabiliser is off by default (the default config is the plain
DCGAN tutorial game); docs/research.md explains each with its formula and reference.
"""
import ml_collections


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()

  config.seed = 0
  config.num_train_steps = 5000     # generator updates; each also makes n_critic D updates
  config.batch_size = 256           # global: split over all devices of all processes
  config.n_critic = 1               # discriminator updates per generator update
  config.critic_loop = "unroll"     # how the n_critic D updates compile: "unroll" or "scan"
  # "alternating": n_critic D updates, then G's update through the updated D (jaxgan's
  # default). "simultaneous": both players' gradients from one forward pass through the
  # step's starting states (the TensorFlow DCGAN tutorial's step; ~3/4 of the work). It needs
  # n_critic = 1 and no replay, balance or feature matching.
  config.update_order = "alternating"
  # Train steps per call from Python, run by one lax.scan on the device: > 1 hides the
  # per-step dispatch of small models on accelerators. Same results as 1. Keep 1 on XLA:CPU
  # (a loop body runs slower there, convolutions ~14x). Every *_every_steps must be a
  # multiple of it.
  config.steps_per_dispatch = 1
  # On a NaN/Inf loss, gradient or parameter: "stop" (at the next log step, naming the
  # quantities; nothing non-finite is ever checkpointed) or "skip" (that step's update is
  # not applied, in the compiled step; counted as skipped_steps; stops if a whole log
  # interval is skipped).
  config.on_nonfinite = "stop"
  # The dtype of the modules' activations and matmuls in training: "float32" or "bfloat16"
  # (accelerators; parameters, optimizer state, losses, penalties, batch statistics and EMA
  # stay float32, so checkpoints are the same either way; jaxgan.runtime.mixed_precision).
  config.compute_dtype = "float32"

  # The GAN family: its players, step and sampler (jaxgan.games). "standard": G from latents
  # vs D, n_critic D updates per G update, the stabilisers below; "progressive" (ProGAN);
  # "cyclegan" (unpaired translation: a two-domain dataset, jaxgan.data.domains, and a
  # cyclegan_* architecture); or "module:factory".
  config.game = ml_collections.ConfigDict()
  config.game.name = "standard"
  config.game.kwargs = ml_collections.ConfigDict()  # the game's own settings

  config.dataset = ml_collections.ConfigDict()
  # A tfds name; "mnist"/"fashion_mnist" also from their IDX files in local_dir; your own
  # files: "image_folder" (local_dir/<split>/[<class>/]*.png|jpg) or "npz"
  # (local_dir/<split>.npz with "images" and optional "labels"); see jaxgan.data. The cyclegan
  # game reads two domains: <split>A and <split>B of these, or "digit_strokes" (from MNIST).
  config.dataset.name = "mnist"
  config.dataset.split = "train"    # tfds split syntax; for local files train/test/train+test
  config.dataset.local_dir = ""     # folder with the original files; when set, no download
  config.dataset.data_dir = ""      # tfds data_dir ("" = tfds' default ~/tensorflow_datasets)
  config.dataset.crop = 0           # side of a centred square crop (0 = none), e.g. CelebA 108
  config.dataset.image_size = 0     # resize to image_size x image_size (0 = as stored)
  config.dataset.channels = 0       # image_folder: 1 grey, 3 RGB, 0 as stored (a mix refused)
  # Each time an image is drawn: a random square crop of this side (0 = none) and a left-right
  # mirror with probability 1/2 (CycleGAN's load 286, crop 256, flip).
  config.dataset.random_crop = 0
  config.dataset.random_flip = False
  # Read rows when a batch needs them instead of the whole split at start-up (datasets larger
  # than host memory; image_folder, or a tfds dataset prepared as ArrayRecord): the same
  # batches either way (jaxgan.data.streaming).
  config.dataset.streaming = False
  # Batches prepared ahead of the step by a background thread (and put on the devices), so
  # the accelerator does not wait for the input pipeline; 0 prepares each when it is needed.
  config.dataset.prefetch = 2

  config.model = ml_collections.ConfigDict()
  config.model.name = "dcgan_tutorial"   # see jaxgan.models.MODELS
  config.model.latent_dim = 100
  config.model.kwargs = ml_collections.ConfigDict()  # the architecture's own settings
  # Class-conditional GAN (jaxgan.models.conditional): num_classes > 0 turns it on (the data
  # must have labels < num_classes). G: "concat" (one-hot joined to z), "batch_norm"
  # (class-conditional BatchNorm) or "mapping" (embedded into stylegan2's mapping network);
  # D: "concat" (label maps joined to the image) or "projection" (projection discriminator).
  config.model.num_classes = 0
  config.model.generator_conditioning = "concat"
  config.model.discriminator_conditioning = "concat"

  config.loss = ml_collections.ConfigDict()
  config.loss.name = "non_saturating"    # see jaxgan.losses.LOSSES, or "module:function"
  config.loss.kwargs = ml_collections.ConfigDict()  # e.g. real_label=0.9 (label smoothing)

  # A penalty on D's input gradients, added to D's loss as weight * mean over the batch.
  config.penalty = ml_collections.ConfigDict()
  config.penalty.name = "none"           # see jaxgan.penalties.PENALTIES, or "module:function"
  config.penalty.weight = 10.0           # lambda (WGAN-GP's 10); for R1, gamma / 2
  config.penalty.kwargs = ml_collections.ConfigDict()
  # Lazy regularisation (StyleGAN2): apply the penalty only on every k-th D update, with its
  # weight multiplied by k (same average strength, 1/k of its cost). 1: every update.
  config.penalty.every = 1

  config.d_weight_clip = 0.0             # WGAN: clip D's weights to [-c, c] (0: off)

  config.instance_noise = ml_collections.ConfigDict()
  config.instance_noise.std = 0.0        # Gaussian noise on every D input (0: off)
  config.instance_noise.decay_steps = 0  # linear decay to 0 over this many steps (0: constant)

  config.feature_matching = ml_collections.ConfigDict()
  config.feature_matching.weight = 0.0   # weight of G's feature-matching loss (0: off)
  config.feature_matching.replace_g_loss = False  # True: G minimises only that loss

  config.historical_averaging = ml_collections.ConfigDict()
  config.historical_averaging.weight = 0.0  # ||theta - mean of past theta||^2, both players
  config.historical_averaging.decay = 0.0   # 0: uniform mean of all past; else an EMA decay

  config.replay = ml_collections.ConfigDict()
  config.replay.buffer_size = 0          # past fakes kept for D (0: off; >= batch_size)
  config.replay.fraction = 0.5           # share of D's fakes drawn from the buffer

  # Differentiable augmentation of every image D sees (jaxgan/plugins/augmentation.py):
  # "none", "diffaugment" (policy default "color,translation,cutout") or "ada" (policy: an
  # ADA pipeline, default "bgc"; kwargs: its probability multipliers and ranges; p: the
  # initial p, or the fixed one with ada_target 0).
  config.augment = ml_collections.ConfigDict()
  config.augment.name = "none"
  config.augment.policy = ""
  config.augment.kwargs = ml_collections.ConfigDict()
  config.augment.p = 0.0
  config.augment.ada_target = 0.6   # E[sign D(real)] that p is steered to (0: p fixed)
  config.augment.ada_interval = 4   # D updates between adjustments of p
  config.augment.ada_kimg = 500     # thousands of real images for p to move by 1

  config.ema = ml_collections.ConfigDict()
  config.ema.decay = 0.0                 # EMA of G's weights for samples (0: off; e.g. 0.999)
  # Or StyleGAN2-ADA's: a half-life of kimg thousand images (with decay 0), ramped up over the
  # first images shown x rampup (0: no ramp-up; its auto config uses 0.05). jaxgan/plugins/ema.py
  config.ema.kimg = 0.0
  config.ema.rampup = 0.0

  # Adaptive balance: skip a D update when D's loss is below skip_below (D too strong), and
  # add up to max_repeats extra D updates while it is above repeat_above (D too weak).
  config.balance = ml_collections.ConfigDict()
  config.balance.enabled = False
  config.balance.skip_below = 0.3
  config.balance.repeat_above = 1.5
  config.balance.max_repeats = 2

  # Unrolled GAN (Metz et al., 2017): G's loss through `steps` simulated D updates (0: off),
  # differentiated through them (backprop) or not; the simulation uses D's own optimizer and
  # state ("d") or SGD with `learning_rate` ("sgd"). Time and memory grow with steps.
  config.unrolled = ml_collections.ConfigDict()
  config.unrolled.steps = 0
  config.unrolled.backprop = True
  config.unrolled.optimizer = "d"
  config.unrolled.learning_rate = 0.0

  # PacGAN (Lin et al., 2018): D judges packs of `size` samples joined along the channels
  # (1: off). batch_size counts samples, so D sees batch_size / size packs per update.
  config.packing = ml_collections.ConfigDict()
  config.packing.size = 1

  def optimizer(learning_rate: float) -> ml_collections.ConfigDict:
    opt = ml_collections.ConfigDict()
    opt.name = "adam"                    # see jaxgan.optimizers.OPTIMIZERS
    opt.learning_rate = learning_rate    # peak rate; G and D differ for TTUR
    opt.kwargs = ml_collections.ConfigDict({"b1": 0.5, "b2": 0.999})
    opt.schedule = "constant"            # see jaxgan.optimizers.SCHEDULES
    opt.schedule_kwargs = ml_collections.ConfigDict()  # e.g. warmup_steps, end_factor
    opt.clip_grad_norm = 0.0             # clip gradients to this global norm (0: off)
    return opt

  config.g_optimizer = optimizer(2e-4)
  config.d_optimizer = optimizer(2e-4)

  # Evaluation (docs in README "Evaluation"): every `every_steps` G updates, and by
  # python -m jaxgan.evaluate. FID/KID depend on num_samples: compare runs at equal values.
  config.eval = ml_collections.ConfigDict()
  config.eval.every_steps = 0            # evaluate every N steps and at the last (0: never)
  # A named protocol (jaxgan/evaluation/protocols.py: fid50k_full, clean_fid50k_full,
  # pytorch_fid50k_full) fixes the extractor, resize, sample count and reference set; "" = the
  # fields below ("quick_classifier" with the offline classifier, "custom_inception").
  config.eval.protocol = ""
  config.eval.num_samples = 5000         # generated images, and real reference images
  config.eval.batch_size = 500           # images per generator / feature-extractor call
  config.eval.feature_extractor = "classifier"  # "classifier" (offline) or "inception"
  # Inception's input resize: clean (clean-fid), legacy_tensorflow (TTUR, StyleGAN2-ADA),
  # legacy_pytorch (pytorch-fid); jaxgan/evaluation/resizing.py
  config.eval.resize = "clean"
  # "sample": num_samples real images drawn by the seed; "full": every image of the split
  config.eval.reference = "sample"
  # "" = the shared cache (jaxgan.evaluation.domain_classifier.cache_root)
  config.eval.classifier_dir = ""
  config.eval.classifier_steps = 1000    # training steps when the classifier is trained
  # "" = pytorch-fid's weights, fetched, verified and converted on first use (~/.cache/jaxgan);
  # else an .npz from python -m jaxgan.convert_inception
  config.eval.inception_weights = ""
  # Keep the best checkpoint by this metric in WORKDIR/best (jaxgan/workdir/best_checkpoint.py),
  # e.g. "fid" (lower is better) or "coverage" (higher); "" keeps none. --checkpoint=best reads it
  # (jaxgan.sample, jaxgan.evaluate); keep_checkpoints never deletes it.
  config.eval.best_metric = ""
  config.eval.kid_subsets = 100
  config.eval.kid_subset_size = 1000
  config.eval.precision_recall_k = 3     # Kynkaanniemi et al.'s k
  config.eval.density_coverage_k = 5     # Naeem et al.'s k

  config.log_every_steps = 100      # metrics to stdout, metrics.jsonl and TensorBoard
  config.sample_every_steps = 500   # sample grid PNG from a fixed latent batch
  config.num_grid_samples = 64      # images in that grid (a square number reads best)
  config.checkpoint_every_steps = 1000
  config.keep_checkpoints = 3       # the last K checkpoints are kept
  # Re-running on a workdir resumes it; a changed experiment field (loss, learning rate, seed,
  # data, ...; see jaxgan/workdir/resume.py for those that may change) is refused unless True.
  config.allow_changes_on_resume = False
  # One run per workdir (jaxgan/workdir/workdir_lease.py): a run on a workdir another live run holds
  # stops at once. A holder on another host is stale once its heartbeat is older than this;
  # take_over_workdir=True takes the lease whoever holds it.
  config.lease_timeout_seconds = 600.0
  config.take_over_workdir = False

  config.lock()
  for sub in (config.game.kwargs, config.model.kwargs, config.loss.kwargs,
              config.penalty.kwargs, config.augment.kwargs,
              config.g_optimizer.kwargs, config.d_optimizer.kwargs,
              config.g_optimizer.schedule_kwargs, config.d_optimizer.schedule_kwargs):
    sub.unlock()
  return config
