"""tensorflow-datasets' real download and prepare, with only the network replaced.

`serve(monkeypatch, files)` makes tfds' HTTP layer (`downloader._open_url`, which every tfds
download goes through) answer the URLs of `files` ({url: bytes}) with those bytes, and every
other URL as a machine without network does (requests' ConnectionError). The served files'
sizes and sha256 are registered as their URL infos where tfds loads a dataset's registered
checksums (`checksums.load_url_infos`, reached through the builder's own `url_infos`), so
tfds still verifies every download: a served file that differs from what was registered
fails with tfds' NonMatchingChecksumError. Everything else (the builder, its download
manager, extraction, preparing the records, `tfds.load`) is tfds' own code.

The files are small but in the original formats, at the URLs tfds' builders name.
"""
from __future__ import annotations

import contextlib
import gzip
import hashlib
from typing import Dict

import numpy as np

from jaxgan.data import idx

MNIST_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
# tfds' MNIST builder reads exactly this many examples from each split's files.
MNIST_SPLIT_SIZES = {"train": 60_000, "t10k": 10_000}


def idx_gz(array: np.ndarray) -> bytes:
  """uint8 `array` as a gzipped IDX file, the same bytes on every call (mtime 0)."""
  return gzip.compress(idx.encode(array), mtime=0)


def mnist_image(labels: np.ndarray) -> np.ndarray:
  """uint8 [n, 28, 28]: black, with a 6x6 white square whose position gives the label."""
  images = np.zeros((len(labels), 28, 28), np.uint8)
  for label in range(10):
    row, col = 2 + 2 * label, 20 - 2 * label
    images[labels == label, row:row + 6, col:col + 6] = 255
  return images


def mnist_files() -> Dict[str, bytes]:
  """The four MNIST files at tfds' URLs, at the split sizes tfds expects: example i of a
  split has label i % 10 and `mnist_image` of it."""
  files = {}
  for split, n in MNIST_SPLIT_SIZES.items():
    labels = (np.arange(n) % 10).astype(np.uint8)
    images = mnist_image(labels)
    files[f"{MNIST_URL}{split}-images-idx3-ubyte.gz"] = idx_gz(images)
    files[f"{MNIST_URL}{split}-labels-idx1-ubyte.gz"] = idx_gz(labels)
  return files


# File names of served URLs that do not end in them (Google Drive's): sent as the server
# does, in Content-Disposition, from which tfds names the download (and knows a .zip).
FILENAMES: Dict[str, str] = {}


def _filename(url: str) -> str:
  return FILENAMES.get(url, url.rsplit("/", 1)[-1])


class _Response:
  """What tfds' downloader reads of a `requests` response: the URL and the headers."""

  def __init__(self, url: str, size: int):
    import requests  # pylint: disable=g-import-not-at-top
    self.url = url
    self.headers = requests.structures.CaseInsensitiveDict({"Content-Length": str(size)})
    if url in FILENAMES:
      self.headers["Content-Disposition"] = f'attachment; filename="{FILENAMES[url]}"'


def url_infos(files: Dict[str, bytes]):
  """{url: tfds UrlInfo(size, sha256, file name)} of the served files."""
  from tensorflow_datasets.core.download import checksums  # pylint: disable=g-import-not-at-top
  return {url: checksums.UrlInfo(size=len(data), checksum=hashlib.sha256(data).hexdigest(),
                                 filename=_filename(url))
          for url, data in files.items()}


def clear_url_infos_cache() -> None:
  """tfds memoises each builder class's URL infos (an lru_cache behind a classproperty)."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  tfds.core.DatasetBuilder.__dict__["url_infos"].fget.__func__.cache_clear()


def serve(monkeypatch, files: Dict[str, bytes], registered: Dict[str, bytes] = None) -> None:
  """Replaces the network for tfds: `files` are served, every other URL is unreachable.

  Args:
    monkeypatch: pytest's (undone after the test; the URL-info cache is cleared now, and must
      be again after the test: the `offline_tfds` fixture does both).
    files: {url: bytes} to serve.
    registered: {url: bytes} whose size and sha256 are registered for those URLs (default:
      the served files themselves; pass other bytes to have a download fail verification).
  """
  import requests  # pylint: disable=g-import-not-at-top
  from tensorflow_datasets.core.download import checksums  # pylint: disable=g-import-not-at-top
  from tensorflow_datasets.core.download import downloader  # pylint: disable=g-import-not-at-top

  @contextlib.contextmanager
  def open_url(url, **unused_kwargs):
    if url not in files:
      raise requests.exceptions.ConnectionError(
          f"HTTPSConnectionPool: Max retries exceeded with url: {url} (Caused by "
          "NameResolutionError: Failed to resolve host: [Errno -3] Temporary failure in name "
          "resolution)")
    data = files[url]
    chunk = 1 << 16
    yield _Response(url, len(data)), (data[i:i + chunk] for i in range(0, len(data), chunk))

  ours = url_infos(registered if registered is not None else files)
  load_url_infos = checksums.load_url_infos

  def load_registered(path):
    return {**load_url_infos(path), **ours}

  monkeypatch.setattr(downloader, "_open_url", open_url)
  monkeypatch.setattr(checksums, "load_url_infos", load_registered)
  clear_url_infos_cache()


# --- The other datasets the recipes name (tests/test_tfds_download.py, slow set) ---------

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
CIFAR10_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                 "ship", "truck")
HORSE2ZEBRA_URL = "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/horse2zebra.zip"
_DRIVE = "https://drive.google.com/uc?export=download&id="
CELEB_A_URLS = {"images": _DRIVE + "0B7EVK8r0v71pZjFTYXZWM3FlRnM",
                "partition": _DRIVE + "0B7EVK8r0v71pY0NSMzRuSXJEVkk",
                "landmarks": _DRIVE + "0B7EVK8r0v71pd0FJY3Blby1HUTQ",
                "attributes": _DRIVE + "0B7EVK8r0v71pblRyaVFSWGxPY0U",
                "identity": _DRIVE + "1_ee_0u7vcNLOfNLegJRHmolfH5ICW-XS"}
CELEB_A_ATTRIBUTES = 40  # Eyeglasses, Smiling, ... (names: tfds' builder)
FILENAMES.update({CELEB_A_URLS["images"]: "img_align_celeba.zip",
                  CELEB_A_URLS["partition"]: "list_eval_partition.txt",
                  CELEB_A_URLS["landmarks"]: "list_landmarks_align_celeba.txt",
                  CELEB_A_URLS["attributes"]: "list_attr_celeba.txt",
                  CELEB_A_URLS["identity"]: "identity_CelebA.txt"})


def _tar_gz(members: Dict[str, bytes]) -> bytes:
  import io  # pylint: disable=g-import-not-at-top
  import tarfile  # pylint: disable=g-import-not-at-top
  out = io.BytesIO()
  with tarfile.open(fileobj=out, mode="w:gz") as tar:
    for name, data in members.items():
      info = tarfile.TarInfo(name)
      info.size = len(data)
      tar.addfile(info, io.BytesIO(data))
  return out.getvalue()


def _zip(members: Dict[str, bytes]) -> bytes:
  import io  # pylint: disable=g-import-not-at-top
  import zipfile  # pylint: disable=g-import-not-at-top
  out = io.BytesIO()
  with zipfile.ZipFile(out, "w") as archive:
    for name, data in members.items():
      archive.writestr(name, data)
  return out.getvalue()


def _jpeg(image: np.ndarray) -> bytes:
  import io  # pylint: disable=g-import-not-at-top
  from PIL import Image  # pylint: disable=g-import-not-at-top
  out = io.BytesIO()
  Image.fromarray(image).save(out, format="JPEG", quality=95)
  return out.getvalue()


def cifar10_files(per_file: int = 10) -> Dict[str, bytes]:
  """cifar-10-binary.tar.gz as the original: cifar-10-batches-bin/ with batches.meta.txt and
  data_batch_1..5.bin, test_batch.bin, each record a label byte and a 3x32x32 planar image;
  here `per_file` records per file, the image filled with its label * 20."""
  rng = np.random.default_rng(0)
  members = {"cifar-10-batches-bin/batches.meta.txt": "\n".join(CIFAR10_NAMES).encode()}
  for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
    labels = rng.integers(0, 10, per_file, dtype=np.uint8)
    images = np.repeat((labels * 20)[:, None], 3 * 32 * 32, axis=1).astype(np.uint8)
    members[f"cifar-10-batches-bin/{name}"] = np.concatenate(
        [labels[:, None], images], axis=1).tobytes()
  return {CIFAR10_URL: _tar_gz(members)}


def horse2zebra_files(per_split: int = 3, side: int = 32) -> Dict[str, bytes]:
  """horse2zebra.zip as the original: horse2zebra/{trainA,trainB,testA,testB}/*.jpg (here
  `side` x `side` grey-ish JPEGs, A darker than B)."""
  members = {}
  for split in ("trainA", "trainB", "testA", "testB"):
    value = 60 if split.endswith("A") else 200
    for i in range(per_split):
      members[f"horse2zebra/{split}/n0000{i}.jpg"] = _jpeg(
          np.full((side, side, 3), value, np.uint8))
  return {HORSE2ZEBRA_URL: _zip(members)}


def celeb_a_files(n: int = 6) -> Dict[str, bytes]:
  """The five CelebA files as the originals: img_align_celeba.zip (218x178 JPEGs
  img_align_celeba/000001.jpg ...), list_eval_partition.txt ("000001.jpg 0": train 0,
  validation 1, test 2; here by i % 3), and list_attr_celeba.txt, list_landmarks_align_
  celeba.txt (a count line, a heading line, then a row per image) and identity_CelebA.txt (a
  row per image, no heading)."""
  from tensorflow_datasets.datasets.celeb_a import celeb_a_dataset_builder as celeb_a  # pylint: disable=g-import-not-at-top
  names = [f"{i + 1:06d}.jpg" for i in range(n)]
  images = {f"img_align_celeba/{name}": _jpeg(np.full((218, 178, 3), 40 * i, np.uint8))
            for i, name in enumerate(names)}
  table = lambda headings, row: "\n".join(
      [str(n), " ".join(headings)] + [f"{name} {row(i)}" for i, name in enumerate(names)]) + "\n"
  return {
      CELEB_A_URLS["images"]: _zip(images),
      CELEB_A_URLS["partition"]: "".join(
          f"{name} {i % 3}\n" for i, name in enumerate(names)).encode(),
      CELEB_A_URLS["attributes"]: table(celeb_a.ATTR_HEADINGS, lambda i: " ".join(
          "1" if (i + k) % 2 else "-1" for k in range(CELEB_A_ATTRIBUTES))).encode(),
      CELEB_A_URLS["landmarks"]: table(celeb_a.LANDMARK_HEADINGS, lambda i: " ".join(
          str(10 * i + k) for k in range(10))).encode(),
      CELEB_A_URLS["identity"]: "".join(
          f"{name} {100 + i}\n" for i, name in enumerate(names)).encode(),
  }
