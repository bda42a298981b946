"""config.dataset.streaming: rows read on demand give the in-memory batches, each process
reads only its own rows, a resumed streaming run equals an uninterrupted in-memory one, and
prefetching changes nothing."""
import os

import jax
import numpy as np
import pytest

from jaxgan import train
from jaxgan.data import pipeline, prefetch, sources, streaming
from tests import helpers


def _write_folder(root, n=40, size=8, classes=("cat", "dog", "eel")):
  """local_dir/test/<class>/NNN.png: n random grey size x size images in class folders."""
  from PIL import Image
  rng = np.random.default_rng(0)
  for i in range(n):
    folder = os.path.join(root, "test", classes[i % len(classes)])
    os.makedirs(folder, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (size, size), dtype=np.uint8)).save(
        os.path.join(folder, f"{i:03d}.png"))
  return root


def _batches(data, process_index=0, processes=1):
  return pipeline.StepBatches(data, seed=3, global_batch_size=8, n_critic=2,
                              process_index=process_index, local_device_count=2,
                              global_device_count=2 * processes)


def test_streamed_folder_gives_the_in_memory_batches_and_reads_only_its_rows(tmp_path):
  root = _write_folder(str(tmp_path))
  memory = sources.load("image_folder", "test", root, None)
  streamed = sources.load("image_folder", "test", root, None, streaming=True)
  assert streaming.is_streaming(streamed) and not streaming.is_streaming(memory)
  assert streamed.images.shape == memory.images.shape and streamed.num_classes == 3
  assert streamed.images.reader.rows_read == 0  # Listing only: no image decoded at start.
  for process in (0, 1):
    a, b = _batches(memory, process, 2), _batches(streamed, process, 2)
    before = streamed.images.reader.rows_read
    for step in range(12):  # 12 steps x 16 rows: several epochs of 40.
      x, y = a.batch(step), b.batch(step)
      np.testing.assert_array_equal(x["image"], y["image"])
      np.testing.assert_array_equal(x["label"], y["label"])
    # Each step decoded this process's 2 x 4 rows of the 2 x 8 global ones, once.
    assert streamed.images.reader.rows_read - before == 12 * 2 * 4
  np.testing.assert_array_equal(streamed.images[5:9], memory.images[5:9])
  with pytest.raises(streaming.StreamingError, match="streams .* and is not read whole"):
    np.asarray(streamed.images)


def test_streaming_refuses_sources_it_cannot_stream(tmp_path):
  with pytest.raises(ValueError, match="streaming=True reads image folders"):
    sources.load("mnist", "test", str(tmp_path), None, streaming=True)


def test_tfds_array_record_source_is_streamed_by_index():
  import tensorflow_datasets as tfds
  with tfds.testing.mock_data(num_examples=12):
    source = tfds.data_source("mnist", split="train")
    expected = np.stack([np.asarray(source[i]["image"]) for i in range(12)])
    labels = np.asarray([source[i]["label"] for i in range(12)])
    data = sources.load("mnist", "train", None, None, streaming=True)
    assert data.images.shape == (12, 28, 28, 1) and data.num_classes == 10
    np.testing.assert_array_equal(data.images[np.arange(12)], expected)
    np.testing.assert_array_equal(data.labels[np.arange(12)], labels)
    batch = _batches(data).batch(1)
    rows = _batches(data).example_indices(1)
    np.testing.assert_array_equal(
        batch["image"], np.swapaxes(pipeline.to_model_range(expected[rows]).reshape(
            2, 2, 4, 28, 28, 1), 0, 1))


def test_prefetcher_returns_each_call_and_reports_errors():
  made = []

  def prepare(step, n):
    made.append((step, n))
    if step == 9:
      raise ValueError("a corrupt file")
    return step * 10 + n

  fetch = prefetch.Prefetcher(prepare, depth=2)
  assert fetch.get((0, 1), [(1, 1), (2, 1)]) == 1
  assert fetch.get((1, 1), [(2, 1), (3, 1)]) == 11
  assert fetch.get((5, 1), []) == 51  # A jump (a resume): prepared now, stale ones dropped.
  with pytest.raises(ValueError, match="a corrupt file"):
    fetch.get((9, 1))
  fetch.close()
  assert made.count((2, 1)) == 1  # Prepared once though named twice.


def test_streamed_prefetched_resumed_run_equals_the_in_memory_run(tmp_path):
  root = _write_folder(str(tmp_path / "data"), n=40, size=28)
  settings = {"dataset.name": "image_folder", "dataset.local_dir": root,
              "model.num_classes": 0, "eval.every_steps": 0}
  reference = train.train_and_evaluate(
      helpers.tiny_config(**settings, **{"num_train_steps": 4, "dataset.prefetch": 0}),
      str(tmp_path / "memory"))
  streamed = {**settings, "dataset.streaming": True, "dataset.prefetch": 2}
  workdir = str(tmp_path / "streamed")
  train.train_and_evaluate(helpers.tiny_config(**streamed, num_train_steps=2), workdir)
  resumed = train.train_and_evaluate(helpers.tiny_config(**streamed, num_train_steps=4),
                                     workdir)
  assert resumed["step"] == 4
  for a, b in zip(jax.tree.leaves(reference["states"]), jax.tree.leaves(resumed["states"])):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
