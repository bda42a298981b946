"""The input pipeline's own rate against the train step's, in memory and streamed.

  python experiments/input_pipeline/measure.py --mnist_dir=../shared/data/mnist

Writes the MNIST test split (10,000 digits) once as a PNG image folder, then measures
  * batches/s of `pipeline.StepBatches` alone (this process, one device, DCGAN's batch 64):
    the IDX split in memory, and the image folder streamed (config.dataset.streaming: each
    batch's 64 files read and decoded when asked for);
  * the DCGAN recipe's train steps/s (jaxgan.main, `--steps` steps, median of its logged
    rates after compilation) with each source, without and with prefetching
    (config.dataset.prefetch 0 and 2).
Prints a table and writes --output (JSON).
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from jaxgan.data import pipeline, sources  # noqa: E402
from jaxgan.workdir import metric_logging  # noqa: E402

flags.DEFINE_string("mnist_dir", "../shared/data/mnist", "Folder of the MNIST IDX files.")
flags.DEFINE_string("work", os.path.join(tempfile.gettempdir(), "jaxgan-input-pipeline"),
                    "Where the image folder and the runs go.")
flags.DEFINE_integer("steps", 300, "Train steps per run.")
flags.DEFINE_string("output", "experiments/input_pipeline/results.json", "Results JSON.")
FLAGS = flags.FLAGS


def write_folder(data: sources.ImageData, root: str) -> str:
  from PIL import Image
  if os.path.isdir(os.path.join(root, "test")):
    return root
  for i, (image, label) in enumerate(zip(data.images, data.labels)):
    folder = os.path.join(root, "test", str(label))
    os.makedirs(folder, exist_ok=True)
    Image.fromarray(image[..., 0]).save(os.path.join(folder, f"{i:05d}.png"))
  return root


def batches_per_second(data: sources.ImageData, n: int = 200) -> float:
  batches = pipeline.StepBatches(data, seed=0, global_batch_size=64, n_critic=1,
                                 process_index=0, local_device_count=1, global_device_count=1)
  batches.batch(0)
  start = time.perf_counter()
  for step in range(1, n + 1):
    batches.batch(step)
  return n / (time.perf_counter() - start)


def train_rate(name: str, flags_: list) -> float:
  workdir = os.path.join(FLAGS.work, name)
  subprocess.run(["rm", "-rf", workdir], check=True)
  subprocess.run([sys.executable, "-m", "jaxgan.main", "--config=configs/dcgan_tutorial.py",
                  f"--workdir={workdir}", "--config.dataset.split=test",
                  f"--config.num_train_steps={FLAGS.steps}", "--config.log_every_steps=25",
                  "--config.sample_every_steps=100000", "--config.checkpoint_every_steps=100000",
                  "--config.eval.every_steps=0", *flags_], check=True, capture_output=True)
  rates = [r["steps_per_sec"] for r in metric_logging.read_metrics(workdir)
           if "steps_per_sec" in r]
  return float(np.median(rates))


def main(argv):
  del argv
  memory = sources.load("mnist", "test", FLAGS.mnist_dir, None)
  folder = write_folder(memory, os.path.join(FLAGS.work, "mnist_png"))
  streamed = sources.load("image_folder", "test", folder, None, streaming=True)
  results = {"pipeline_batches_per_sec": {"in_memory": batches_per_second(memory),
                                          "streamed_folder": batches_per_second(streamed)},
             "train_steps_per_sec": {}}
  runs = {"in_memory": [f"--config.dataset.local_dir={FLAGS.mnist_dir}"],
          "streamed_folder": ["--config.dataset.name=image_folder",
                              f"--config.dataset.local_dir={folder}",
                              "--config.dataset.streaming=True", "--config.model.num_classes=0"]}
  for source, source_flags in runs.items():
    for depth in (0, 2):
      results["train_steps_per_sec"][f"{source}_prefetch{depth}"] = train_rate(
          f"{source}_{depth}", source_flags + [f"--config.dataset.prefetch={depth}"])
  print(json.dumps(results, indent=1))
  with open(FLAGS.output, "w") as f:
    json.dump(results, f, indent=1)


if __name__ == "__main__":
  app.run(main)
