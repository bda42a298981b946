"""Fetched weights with the network replaced: first fetch, reuse, a damaged cache fetched
again, a wrong download refused, offline naming where to put the file; and the FID Inception
weights fetched, converted once and reused."""
from __future__ import annotations

import hashlib
import itertools
import os

import numpy as np
import pytest

from jaxgan.core import errors
from jaxgan.evaluation import features, inception
from jaxgan.importers import fetched_weights
from tests import torch_pickles

URL = "https://example.org/releases/model-{}.pth"


class Network:
  """Serves `files` {url: bytes}; counts requests; `offline` raises as urllib does."""

  def __init__(self, files, offline=False):
    self.files, self.offline, self.requests = files, offline, 0

  def __call__(self, url):
    self.requests += 1
    if self.offline:
      raise OSError("[Errno -3] Temporary failure in name resolution")
    return self.files[url]


def _remote(data: bytes) -> fetched_weights.RemoteFile:
  """A file named by torch.hub's convention after `data`'s sha256."""
  return fetched_weights.RemoteFile(URL.format(hashlib.sha256(data).hexdigest()[:8]))


def test_first_fetch_then_reuse_then_refetch_of_a_damaged_copy(tmp_path):
  data = b"weights" * 1000
  remote = _remote(data)
  network = Network({remote.url: data})
  path = fetched_weights.fetch(remote, str(tmp_path), network)
  assert path == str(tmp_path / remote.filename) and open(path, "rb").read() == data
  assert network.requests == 1
  assert fetched_weights.recorded_hash(path) == hashlib.sha256(data).hexdigest()
  assert fetched_weights.fetch(remote, str(tmp_path), network) == path
  assert network.requests == 1  # Reused: verified, not downloaded again.
  for damage in (data[:100], data[:-1] + b"X"):  # Truncated, then tampered.
    with open(path, "wb") as f:
      f.write(damage)
    fetched_weights.fetch(remote, str(tmp_path), network)
    assert open(path, "rb").read() == data
  assert network.requests == 3


def test_a_download_that_does_not_verify_is_refused_and_not_written(tmp_path):
  data = b"weights"
  remote = _remote(data)
  with pytest.raises(errors.InvalidInputError, match="does not start with"):
    fetched_weights.fetch(remote, str(tmp_path), Network({remote.url: b"something else"}))
  assert not os.listdir(tmp_path)


def test_a_later_file_with_the_same_prefix_but_other_bytes_is_refused(tmp_path):
  """The full hash recorded at the first fetch decides from then on (an 8-digit prefix can
  collide; here a 1-digit prefix does)."""
  first = b"first"
  prefix = hashlib.sha256(first).hexdigest()[:1]
  other = next(d for d in (b"other %d" % i for i in itertools.count())
               if hashlib.sha256(d).hexdigest()[:1] == prefix)
  remote = fetched_weights.RemoteFile("https://example.org/w.bin", sha256_prefix=prefix)
  path = fetched_weights.fetch(remote, str(tmp_path), Network({remote.url: first}))
  with open(path, "wb") as f:
    f.write(other)  # Replaced in the cache: refused, the recorded file fetched again.
  fetched_weights.fetch(remote, str(tmp_path), Network({remote.url: first}))
  assert open(path, "rb").read() == first
  with open(path, "wb") as f:
    f.write(b"")
  with pytest.raises(errors.InvalidInputError, match="not the .* recorded"):
    fetched_weights.fetch(remote, str(tmp_path), Network({remote.url: other}))


def test_offline_names_the_url_the_hash_and_where_to_put_the_file(tmp_path):
  data = b"weights"
  remote = _remote(data)
  with pytest.raises(fetched_weights.WeightsUnavailableError) as info:
    fetched_weights.fetch(remote, str(tmp_path), Network({}, offline=True))
  message = str(info.value)
  for part in (remote.url, remote.expected_prefix, str(tmp_path / remote.filename),
               "name resolution"):
    assert part in message
  # Put there by hand: accepted, and its hash recorded.
  (tmp_path / remote.filename).write_bytes(data)
  assert fetched_weights.fetch(remote, str(tmp_path), Network({}, offline=True))
  assert fetched_weights.recorded_hash(str(tmp_path / remote.filename))


def test_the_cache_root_follows_the_environment(monkeypatch, tmp_path):
  monkeypatch.setenv("JAXGAN_CACHE", str(tmp_path / "c"))
  assert fetched_weights.weights_directory() == str(tmp_path / "c" / "weights")
  monkeypatch.delenv("JAXGAN_CACHE")
  monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
  assert fetched_weights.weights_directory() == str(tmp_path / "x" / "jaxgan" / "weights")


@pytest.fixture(scope="module")
def released_weights():
  """A stand-in for pytorch-fid's release: random FID Inception weights in torch's zip format
  (the bytes served at inception.WEIGHTS_URL), and their torch-named arrays."""
  rng = np.random.default_rng(0)
  shapes = {inception._torch_name(n): inception._torch_shape(s)  # pylint: disable=protected-access
            for n, s in inception._expected_shapes().items()}  # pylint: disable=protected-access
  arrays = {name: rng.standard_normal(shape, dtype=np.float32) * 0.01
            for name, shape in shapes.items()}
  return torch_pickles.save_state_dict(arrays), arrays


def test_inception_weights_fetched_converted_once_and_reused(tmp_path, monkeypatch,
                                                             released_weights):
  data, arrays = released_weights
  digest = hashlib.sha256(data).hexdigest()
  # The real file's name carries 6726825d; this stand-in's hash is its own.
  monkeypatch.setattr(inception, "PYTORCH_FID_WEIGHTS", fetched_weights.RemoteFile(
      inception.WEIGHTS_URL, sha256_prefix=digest[:8]))
  conversions = []
  convert = inception.torch_state_dict_to_variables
  monkeypatch.setattr(inception, "torch_state_dict_to_variables",
                      lambda sd: conversions.append(1) or convert(sd))
  network = Network({inception.WEIGHTS_URL: data})
  variables, source = inception.fetch_variables(str(tmp_path), network)
  assert source == digest and len(conversions) == 1 and network.requests == 1
  torch_again = inception.variables_to_torch_state_dict(variables)
  for name in ("Conv2d_1a_3x3.conv.weight", "Mixed_7c.branch_pool.bn.running_var", "fc.bias"):
    np.testing.assert_array_equal(torch_again[name], arrays[name])
  again, _ = inception.fetch_variables(str(tmp_path), network)
  assert len(conversions) == 1 and network.requests == 1  # Both reused from the cache.
  assert inception.weights_id(again) == inception.weights_id(variables)
  converted = fetched_weights.derived_path(digest, inception.CONVERTED_NAME, str(tmp_path))
  with open(converted, "r+b") as f:  # A damaged conversion is made again, not used.
    f.seek(1000)
    f.write(b"\0" * 64)
  inception.fetch_variables(str(tmp_path), network)
  assert len(conversions) == 2 and network.requests == 1
  # The config's path: an empty config.eval.inception_weights fetches through the same cache.
  monkeypatch.setenv("JAXGAN_CACHE", str(tmp_path / "root"))
  os.makedirs(tmp_path / "root")
  monkeypatch.setattr(fetched_weights, "download", network)
  extractor = features.InceptionFeatures("", batch_size=2, resize="clean")
  assert extractor.provenance()["id"] == inception.weights_id(variables)
  assert digest in extractor.provenance()["weights"]
  assert extractor.provenance()["resize"] == "clean"


def test_the_cache_may_live_on_gcs(gcs_bucket):
  """gs:// caches: fetched, recorded, reused, and a damaged copy fetched again, on a GCS
  server (tests/gcs_server.py)."""
  from jaxgan.runtime import storage
  data = b"weights on gcs" * 100
  remote = _remote(data)
  network = Network({remote.url: data})
  directory = f"{gcs_bucket}/cache/weights"
  path = fetched_weights.fetch(remote, directory, network)
  assert path == f"{directory}/{remote.filename}" and storage.read_bytes(path) == data
  assert fetched_weights.recorded_hash(path) == hashlib.sha256(data).hexdigest()
  fetched_weights.fetch(remote, directory, network)
  assert network.requests == 1
  storage.write_atomically(path, data[:10])
  fetched_weights.fetch(remote, directory, network)
  assert network.requests == 2 and storage.read_bytes(path) == data


def test_a_run_offline_without_the_weights_stops_before_its_first_step(tmp_path, monkeypatch,
                                                                       mnist_dir):
  """Inception asked for, no cached weights, no network: the run stops before compiling,
  naming the URL and where to put the file; nothing is trained."""
  from jaxgan import train
  from tests import helpers

  def offline(url, timeout=60.0):
    raise OSError("[Errno -3] Temporary failure in name resolution")

  monkeypatch.setattr(fetched_weights, "download", offline)
  monkeypatch.setenv("JAXGAN_CACHE", str(tmp_path / "cache"))
  config = helpers.tiny_config(mnist_dir, **{"eval.every_steps": 2,
                                             "eval.feature_extractor": "inception"})
  with pytest.raises(fetched_weights.WeightsUnavailableError,
                     match=r"pytorch-fid.*releases/download/fid_weights/pt_inception-2015-12-05-"
                     r"6726825d\.pth.*sha256 must start with 6726825d"):
    train.train_and_evaluate(config, str(tmp_path / "run"))
  assert not os.listdir(tmp_path / "run" / "checkpoints")
