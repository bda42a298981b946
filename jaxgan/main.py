"""Command line: python -m jaxgan.main --config=configs/dcgan.py --workdir=DIR [--config.X=V].

Re-running the same command on the same workdir resumes from its latest checkpoint. On several
hosts (a Cloud TPU pod slice, a GPU cluster) run the same command on every host with
--distributed; see the README.
"""
import logging as logging_std

from absl import app, flags, logging
from ml_collections import config_flags

from jaxgan import compilation_cache, config_overrides

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
compilation_cache.define_flag()
flags.mark_flags_as_required(["config", "workdir"])


class _HideLibraryInfo(logging_std.Filter):
  """Drops INFO lines from orbax (several per checkpoint) so jaxgan's progress stays legible."""

  def filter(self, record: logging_std.LogRecord) -> bool:
    return record.levelno > logging_std.INFO or "/orbax/" not in record.pathname


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  # TensorFlow only reads data and writes TensorBoard files: keep it off the GPUs JAX uses.
  import tensorflow as tf
  tf.config.set_visible_devices([], "GPU")

  import jax
  if FLAGS.distributed:
    jax.distributed.initialize(coordinator_address=FLAGS.coordinator_address,
                               num_processes=FLAGS.num_processes, process_id=FLAGS.process_id)
  logging.get_absl_handler().addFilter(_HideLibraryInfo())
  cache_dir = compilation_cache.enable(FLAGS.compilation_cache)
  from jaxgan import train, user_errors  # pylint: disable=g-import-not-at-top
  logging.info("JAX process %d of %d, local devices: %s", jax.process_index(),
               jax.process_count(), jax.local_devices())
  logging.info("Compilation cache: %s.", cache_dir or "off")
  logging.info("Config:\n%s", FLAGS.config)
  user_errors.run_reporting(train.train_and_evaluate, FLAGS.config, FLAGS.workdir)


if __name__ == "__main__":
  config_overrides.run(main)
