"""Pictures of a trained generator (matplotlib, PNG): what a researcher looks at besides numbers.

* `save_interpolations`: rows of images along straight (lerp) and spherical (slerp) paths
  between latent pairs; smooth rows mean a smooth latent space, jumps mean memorised modes.
* `save_per_class_grid`: one row per class, samples grouped by a classifier's prediction (or
  by the requested class of a conditional model); empty cells show missing modes.
* `save_class_histogram`: the predicted class histogram against the data's (mode coverage).
* `save_nearest_neighbours`: each sample next to its nearest real images in pixel space; a
  copy of a training image there means memorisation.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from jaxgan.runtime import storage, visualize  # noqa: E402


def lerp(z0: np.ndarray, z1: np.ndarray, t: np.ndarray) -> np.ndarray:
  """Straight line: z0, z1 [d], t [m] -> [m, d]."""
  t = np.asarray(t, np.float64)[:, None]
  return (1 - t) * z0[None] + t * z1[None]


def slerp(z0: np.ndarray, z1: np.ndarray, t: np.ndarray) -> np.ndarray:
  """Great-circle path (White 2016), keeping Gaussian latents at a typical norm: [m, d].

  Falls back to lerp when z0 and z1 are (anti)parallel, where the arc is undefined.
  """
  z0, z1 = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
  t = np.asarray(t, np.float64)[:, None]
  cos = np.dot(z0, z1) / (np.linalg.norm(z0) * np.linalg.norm(z1))
  omega = np.arccos(np.clip(cos, -1.0, 1.0))
  if np.sin(omega) < 1e-6:
    return lerp(z0, z1, t[:, 0])
  return (np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)


def _imshow(ax, canvas: np.ndarray) -> None:
  if canvas.shape[-1] == 1:
    ax.imshow(canvas[..., 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
  else:
    ax.imshow(canvas, interpolation="nearest")
  ax.set_xticks([])
  ax.set_yticks([])


def _save(fig, path: str) -> None:
  storage.make_parent(path)
  storage.save_figure(fig, path, bbox_inches="tight", dpi=100)
  plt.close(fig)


def save_interpolations(generate: Callable[[np.ndarray], np.ndarray], latent_dim: int,
                        path: str, seed: int = 0, rows: int = 6, columns: int = 10,
                        title: str = "") -> None:
  """Two panels, lerp and slerp, each `rows` latent pairs x `columns` steps.

  Args:
    generate: z float32 [n, latent_dim] -> images [n, H, W, C] in [-1, 1].
  """
  rng = np.random.default_rng(seed)
  ends = rng.standard_normal((rows, 2, latent_dim))
  t = np.linspace(0.0, 1.0, columns)
  fig, axes = plt.subplots(1, 2, figsize=(12, 6 * rows / columns + 0.6))
  for ax, (name, path_fn) in zip(axes, (("linear (lerp)", lerp), ("spherical (slerp)", slerp))):
    z = np.concatenate([path_fn(a, b, t) for a, b in ends]).astype(np.float32)
    images = visualize.to_uint8(generate(z))
    _imshow(ax, visualize.tile(images, columns=columns))
    ax.set_title(name)
  if title:
    fig.suptitle(title)
  _save(fig, path)


def save_per_class_grid(images: np.ndarray, classes: np.ndarray, num_classes: int, path: str,
                        per_class: int = 10, title: str = "",
                        class_names: Optional[Sequence[str]] = None) -> None:
  """Row c: the first `per_class` images of class c (blank cells: fewer were found).

  Args:
    images: [n, H, W, C] in [-1, 1]; classes: int [n] (predicted, or requested).
  """
  images = visualize.to_uint8(images)
  blank = np.full(images.shape[1:], 255, np.uint8)
  cells = []
  counts = []
  for c in range(num_classes):
    members = images[classes == c]
    counts.append(len(members))
    row = list(members[:per_class]) + [blank] * max(0, per_class - len(members))
    cells.extend(row)
  canvas = visualize.tile(np.stack(cells), columns=per_class)
  fig, ax = plt.subplots(figsize=(per_class * 0.6 + 1.2, num_classes * 0.6 + 0.5))
  _imshow(ax, canvas)
  h = images.shape[1] + 1
  ax.set_yticks([c * h + h / 2 for c in range(num_classes)])
  names = class_names or [str(c) for c in range(num_classes)]
  ax.set_yticklabels([f"{names[c]} ({counts[c]})" for c in range(num_classes)])
  ax.set_title(title or "samples by predicted class (count)")
  _save(fig, path)


def save_class_histogram(histogram: Sequence[float], path: str,
                         prior: Optional[Sequence[float]] = None, title: str = "") -> None:
  """Bars: share of samples per predicted class; line: the data's class distribution."""
  histogram = np.asarray(histogram)
  k = len(histogram)
  prior = np.full(k, 1.0 / k) if prior is None else np.asarray(prior)
  fig, ax = plt.subplots(figsize=(min(12, 3 + 0.4 * k), 3.5))
  if k <= 50:
    ax.bar(np.arange(k), histogram, label="generated")
    ax.step(np.arange(k + 1) - 0.5, np.append(prior, prior[-1]), where="post", color="k",
            label="data")
    ax.set_xticks(np.arange(k))
  else:  # Many modes (Stacked MNIST): sorted shares show how many modes are missing.
    ax.plot(np.sort(histogram)[::-1], label="generated, sorted")
    ax.plot(np.sort(prior)[::-1], "k", label="data")
    ax.set_xlabel(f"mode rank (of {k})")
  ax.set_ylabel("share of samples")
  ax.legend()
  ax.set_title(title or f"{int(np.sum(histogram > 0))}/{k} classes covered")
  _save(fig, path)


def nearest_neighbours(samples: np.ndarray, real: np.ndarray, k: int
                       ) -> tuple[np.ndarray, np.ndarray]:
  """Pixel-space (L2) k nearest real images of each sample.

  Args:
    samples: uint8 [n, H, W, C]; real: uint8 [m, H, W, C].
  Returns:
    (indices int [n, k] into real, distances float [n, k]), nearest first.
  """
  a = samples.reshape(len(samples), -1).astype(np.float64) / 255.0
  b = real.reshape(len(real), -1).astype(np.float64) / 255.0
  d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None] - 2.0 * a @ b.T
  order = np.argsort(d2, axis=1, kind="stable")[:, :k]
  return order, np.sqrt(np.maximum(np.take_along_axis(d2, order, 1), 0.0))


def save_nearest_neighbours(samples: np.ndarray, real_uint8: np.ndarray, path: str,
                            num_samples: int = 8, k: int = 4, title: str = "") -> None:
  """Row i: sample i, then its k nearest real images (pixel L2, distance below each).

  Args:
    samples: [n, H, W, C] in [-1, 1]; real_uint8: the real images searched, uint8.
  """
  samples = visualize.to_uint8(samples[:num_samples])
  index, dist = nearest_neighbours(samples, real_uint8, k)
  fig, axes = plt.subplots(len(samples), k + 1, figsize=(1.3 * (k + 1), 1.4 * len(samples)),
                           squeeze=False)
  for i, sample in enumerate(samples):
    _imshow(axes[i, 0], sample)
    axes[i, 0].set_ylabel(f"sample {i}", fontsize=8)
    for j in range(k):
      _imshow(axes[i, j + 1], real_uint8[index[i, j]])
      axes[i, j + 1].set_xlabel(f"{dist[i, j]:.2f}", fontsize=8)
  axes[0, 0].set_title("generated", fontsize=9)
  for j in range(k):
    axes[0, j + 1].set_title(f"real #{j + 1}", fontsize=9)
  fig.suptitle(title or f"nearest real images (pixel L2, of {len(real_uint8)})", fontsize=10)
  fig.tight_layout()
  _save(fig, path)
