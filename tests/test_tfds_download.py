"""The README's first command on a machine with network: tensorflow-datasets' own download and
prepare of mnist, with only the network replaced (tests/tfds_offline.py), then jaxgan.main's
first step on what was prepared. And each way getting data can fail, named for its real cause
(the rule: jaxgan/data/tfds_errors.py)."""
import glob
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from jaxgan.core import errors, user_errors
from jaxgan.data import sources, tfds_errors
from tests import tfds_offline

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def mnist_files():
  return tfds_offline.mnist_files()


@pytest.fixture(scope="module")
def prepared_mnist(tmp_path_factory, mnist_files):
  """A tfds data_dir where jaxgan's loader had tfds download and prepare mnist (~10 s)."""
  data_dir = str(tmp_path_factory.mktemp("tensorflow_datasets"))
  with pytest.MonkeyPatch.context() as monkeypatch:
    tfds_offline.serve(monkeypatch, mnist_files)
    try:
      train = sources.load("mnist", "train", None, data_dir)
    finally:
      tfds_offline.clear_url_infos_cache()
  return data_dir, train


@pytest.fixture
def network(monkeypatch):
  """serve(files, registered=None): the network for this test (tests/tfds_offline.serve)."""
  yield lambda files, registered=None: tfds_offline.serve(monkeypatch, files, registered)
  tfds_offline.clear_url_infos_cache()


def _run(args, **kwargs):
  return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                        timeout=300, env=dict(os.environ, PYTHONPATH=ROOT), **kwargs)


def test_readme_first_command_downloads_prepares_and_trains_mnist(prepared_mnist, network,
                                                                   tmp_path):
  data_dir, train = prepared_mnist
  # What tfds prepared is what was served (in tfds' shuffled order): 6,000 of each label,
  # every image the square of its label.
  assert train.images.shape == (60_000, 28, 28, 1) and train.num_classes == 10
  np.testing.assert_array_equal(np.bincount(train.labels), [6_000] * 10)
  np.testing.assert_array_equal(train.images[..., 0], tfds_offline.mnist_image(train.labels))
  network({})  # From here on nothing is served: what follows reads the prepared folder.
  test = sources.load("mnist", "test", None, data_dir)
  assert test.images.shape == (10_000, 28, 28, 1)
  # The README's command (its model made tiny, one step) on what was prepared.
  workdir = str(tmp_path / "dcgan")
  out = _run(["-m", "jaxgan.main", "--config=configs/dcgan.py", f"--workdir={workdir}",
              f"--config.dataset.data_dir={data_dir}", "--config.model.name=tiny",
              "--config.model.latent_dim=8", "--config.batch_size=8",
              "--config.num_train_steps=1", "--config.eval.every_steps=0",
              "--config.num_grid_samples=4"])
  assert out.returncode == 0, out.stderr[-3000:]
  assert os.path.isdir(os.path.join(workdir, "checkpoints", "1")), os.listdir(workdir)


def test_without_importlib_resources_the_error_is_a_broken_install(mnist_files, tmp_path):
  """tfds 4.9.10 imports importlib_resources when it downloads, and does not declare it
  (tensorflow/datasets#11212): the state of a fresh venv before jaxgan declared it,
  reproduced by hiding the module."""
  script = f"""
import sys
sys.modules["importlib_resources"] = None  # import importlib_resources -> ModuleNotFoundError
import pytest
from jaxgan.core import errors
from jaxgan.data import sources
from tests import tfds_offline
with pytest.MonkeyPatch.context() as monkeypatch:
  tfds_offline.serve(monkeypatch, tfds_offline.mnist_files())
  try:
    sources.load("mnist", "test", None, {str(tmp_path)!r})
  except errors.BrokenInstallError as e:
    print("BrokenInstallError:", e)
"""
  out = _run(["-c", script])
  assert out.returncode == 0, out.stderr[-3000:]
  assert "BrokenInstallError: tensorflow-datasets needs the Python module " \
         "'importlib_resources', which is not installed" in out.stdout, out.stdout
  assert "pip install importlib_resources" in out.stdout
  assert "network" not in out.stdout


def test_no_network_names_the_offline_options(network, tmp_path):
  network({})
  with pytest.raises(sources.DataUnavailableError) as raised:
    sources.load("mnist", "test", None, str(tmp_path))
  assert type(raised.value) is sources.DataUnavailableError
  message = str(raised.value)
  assert "the download failed (ConnectionError: " in message
  assert "Without network access" in message and "config.dataset.local_dir" in message
  assert "t10k-images-idx3-ubyte" in message


def test_a_download_that_fails_verification_says_so(network, mnist_files, tmp_path):
  url = tfds_offline.MNIST_URL + "t10k-labels-idx1-ubyte.gz"
  served = dict(mnist_files)
  served[url] = served[url][:-1] + bytes([served[url][-1] ^ 1])  # One bit flipped.
  network(served, registered=mnist_files)
  with pytest.raises(tfds_errors.DownloadChecksumError,
                     match="is not the one tensorflow-datasets registered") as raised:
    sources.load("mnist", "test", None, str(tmp_path))
  assert url in str(raised.value)
  assert os.path.join(str(tmp_path), "downloads") in str(raised.value)
  assert "network" not in str(raised.value)


def test_a_damaged_prepared_folder_names_the_folder_to_delete(prepared_mnist, network,
                                                              tmp_path):
  data_dir = str(tmp_path / "tfds")
  shutil.copytree(prepared_mnist[0], data_dir)
  network({})
  folder = os.path.join(data_dir, "mnist", "3.0.1")
  for shard in glob.glob(os.path.join(folder, "mnist-test.tfrecord*")):
    os.remove(shard)  # A copy that stopped half-way.
  with pytest.raises(tfds_errors.PreparedDataDamagedError,
                     match=f"its prepared folder {folder} is incomplete or damaged"):
    sources.load("mnist", "test", None, data_dir)
  assert sources.load("mnist", "train", None, data_dir).images.shape[0] == 60_000


def test_missing_local_files_are_named(tmp_path):
  with pytest.raises(sources.DataUnavailableError, match="t10k-images-idx3-ubyte"):
    sources.load("mnist", "test", str(tmp_path), None)


def test_an_unknown_failure_keeps_its_type_and_traceback(monkeypatch, tmp_path):
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

  def broken_load(*unused_args, **unused_kwargs):
    raise ValueError("an internal bug")
  monkeypatch.setattr(tfds, "load", broken_load)
  with pytest.raises(ValueError, match="an internal bug") as raised:
    sources.load("mnist", "test", None, str(tmp_path))
  assert not isinstance(raised.value, errors.UserError)
  # And the commands print it with its traceback: it is not the user's to fix.
  assert not isinstance(raised.value, user_errors.USER_ERRORS)


@pytest.mark.slow  # tfds' builders prepare each (~5-15 s each); CI's slow set.
@pytest.mark.parametrize("name,split,files,expected", [
    ("cifar10", "train", tfds_offline.cifar10_files, ((50, 32, 32, 3), 10)),
    ("celeb_a", "train", tfds_offline.celeb_a_files, ((2, 218, 178, 3), 0)),
    ("cycle_gan/horse2zebra", "trainB", tfds_offline.horse2zebra_files, ((3, 32, 32, 3), 2)),
])
def test_the_other_recipes_datasets_download_and_prepare(name, split, files, expected, network,
                                                         tmp_path):
  """The datasets the other recipes name, through tfds' own builders (stacked_mnist and
  digit_strokes are built from mnist, above)."""
  network(files())
  data = sources.load(name, split, None, str(tmp_path))
  assert (data.images.shape, data.num_classes) == expected
  if name == "cifar10":  # Each image is filled with its label * 20 (tfds_offline).
    np.testing.assert_array_equal(data.images.reshape(50, -1).min(1), data.labels * 20)
  if name.startswith("cycle_gan"):  # Domain B is the lighter one.
    assert 190 < data.images.mean() < 210
