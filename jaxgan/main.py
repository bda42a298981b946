"""Command line: python -m jaxgan.main --config=configs/dcgan.py --workdir=DIR [--config.X=V].

python -m jaxgan.main --list prints every architecture, loss, penalty, optimizer, schedule,
game, dataset and plug-in a config can name.

Re-running the same command on the same workdir resumes from its latest checkpoint. On several
hosts (a Cloud TPU pod slice, a GPU cluster) run the same command on every host with
--distributed; see the README.
"""
import sys

from absl import app, flags, logging
from ml_collections import config_flags

from jaxgan.experiment import config_overrides
from jaxgan.runtime import compilation_cache, library_logs

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "Path to a config file (configs/*.py).",
                                lock_config=True)
flags.DEFINE_string("workdir", None, "Directory for checkpoints, samples and metrics.")
flags.DEFINE_bool("distributed", False,
                  "Call jax.distributed.initialize() first (multi-host runs). On Cloud TPU and "
                  "SLURM the processes find each other by themselves; elsewhere also pass "
                  "--coordinator_address, --num_processes and --process_id.")
flags.DEFINE_string("coordinator_address", None, "host:port of process 0 (with --distributed).")
flags.DEFINE_integer("num_processes", None, "Number of processes (with --distributed).")
flags.DEFINE_integer("process_id", None, "This process's index (with --distributed).")
flags.DEFINE_bool("list", False, "Print every architecture, loss, penalty, optimizer, schedule, "
                  "game, dataset and plug-in a config can name, and exit.")
compilation_cache.define_flag()
flags.mark_flags_as_required(["config", "workdir"])


def initialize_distributed(jax, coordinator_address, num_processes, process_id) -> None:
  """jax.distributed.initialize: the flags where given, else JAX's detection of the cluster
  (Cloud TPU, SLURM, Open MPI, Kubernetes; or JAX_COORDINATOR_ADDRESS in the environment)."""
  try:
    jax.distributed.initialize(coordinator_address=coordinator_address,
                               num_processes=num_processes, process_id=process_id)
  except ValueError as e:
    if coordinator_address or num_processes is not None or process_id is not None:
      raise
    raise SystemExit(
        f"--distributed found no cluster to join ({e}). On Cloud TPU, SLURM, Open MPI and "
        "Kubernetes the processes find each other by themselves; elsewhere (several GPU hosts) "
        "pass --coordinator_address=HOST0:PORT --num_processes=N --process_id=I on each "
        "host.") from e


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  # TensorFlow only reads data and writes TensorBoard files: keep it off the GPUs JAX uses.
  import tensorflow as tf
  tf.config.set_visible_devices([], "GPU")

  import jax
  if FLAGS.distributed:
    initialize_distributed(jax, FLAGS.coordinator_address, FLAGS.num_processes,
                           FLAGS.process_id)
  cache_dir = compilation_cache.enable(FLAGS.compilation_cache)
  from jaxgan import train  # pylint: disable=g-import-not-at-top
  from jaxgan.core import user_errors
  config = FLAGS.config
  logging.info("jaxgan: %s, %s loss, on %s (seed %d, %d steps, batch %d) in %s; the whole "
               "config: %s/config.json.", config.model.name, config.loss.name,
               config.dataset.name, config.seed, config.num_train_steps, config.batch_size,
               FLAGS.workdir, FLAGS.workdir)
  logging.info("JAX process %d of %d, %d local %s device(s); compilation cache: %s.",
               jax.process_index(), jax.process_count(), jax.local_device_count(),
               jax.default_backend(), cache_dir or "off")
  user_errors.run_reporting(train.train_and_evaluate, FLAGS.config, FLAGS.workdir)


if __name__ == "__main__":
  library_logs.quiet()
  if "--list" in sys.argv[1:]:  # Before absl's parsing, which requires --config/--workdir.
    from jaxgan.experiment import listing  # pylint: disable=g-import-not-at-top
    print(listing.describe())
    sys.exit(0)
  config_overrides.run(main)
