"""Every jaxgan config field, declared once with its default. Recipes override a few.

The returned config is locked: assigning a field that is not declared here (a typo in a
recipe, or `--config.batchsize=...` on the command line) raises instead of being ignored.
The `kwargs` sub-configs are the exception: they hold the settings of the chosen
architecture, loss or optimizer, and are checked against that object's signature at start-up.
"""
import ml_collections


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()

  config.seed = 0
  config.num_train_steps = 5000     # generator updates; each also makes n_critic D updates
  config.batch_size = 256           # global: split over all devices of all processes
  config.n_critic = 1               # discriminator updates per generator update

  config.dataset = ml_collections.ConfigDict()
  config.dataset.name = "mnist"     # a tfds name; "mnist"/"fashion_mnist" also from IDX files
  config.dataset.split = "train"    # tfds split syntax; for local files train/test/train+test
  config.dataset.local_dir = ""     # folder with the original files; when set, no download
  config.dataset.data_dir = ""      # tfds data_dir ("" = tfds' default ~/tensorflow_datasets)

  config.model = ml_collections.ConfigDict()
  config.model.name = "dcgan_tutorial"   # see jaxgan.models.MODELS
  config.model.latent_dim = 100
  config.model.kwargs = ml_collections.ConfigDict()  # the architecture's own settings

  config.loss = ml_collections.ConfigDict()
  config.loss.name = "non_saturating"    # see jaxgan.losses.LOSSES, or "module:function"
  config.loss.kwargs = ml_collections.ConfigDict()

  def optimizer(learning_rate: float) -> ml_collections.ConfigDict:
    opt = ml_collections.ConfigDict()
    opt.name = "adam"                    # see jaxgan.state.OPTIMIZERS
    opt.learning_rate = learning_rate
    opt.kwargs = ml_collections.ConfigDict({"b1": 0.5, "b2": 0.999})
    return opt

  config.g_optimizer = optimizer(2e-4)
  config.d_optimizer = optimizer(2e-4)

  config.log_every_steps = 100      # metrics to stdout, metrics.jsonl and TensorBoard
  config.sample_every_steps = 500   # sample grid PNG from a fixed latent batch
  config.num_grid_samples = 64      # images in that grid (a square number reads best)
  config.checkpoint_every_steps = 1000
  config.keep_checkpoints = 3       # the last K checkpoints are kept

  config.lock()
  for sub in (config.model.kwargs, config.loss.kwargs, config.g_optimizer.kwargs,
              config.d_optimizer.kwargs):
    sub.unlock()
  return config
