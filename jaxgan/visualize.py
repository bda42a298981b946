"""Pictures a researcher looks at: sample grids and training curves (matplotlib, PNG)."""
from __future__ import annotations

import math
import os
from typing import Dict, List, Optional, Sequence

import matplotlib

matplotlib.use("Agg")  # Files only: training runs headless.
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def to_uint8(images: np.ndarray) -> np.ndarray:
  """Images in [-1, 1] (any float) -> uint8 [0, 255], rounded and clipped."""
  return np.clip(np.round((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255).astype(
      np.uint8)


def tile(images: np.ndarray, columns: Optional[int] = None, pad: int = 1) -> np.ndarray:
  """Tiles uint8 images [n, H, W, C] into one image [rows*(H+pad)-pad, cols*(W+pad)-pad, C]."""
  n, h, w, c = images.shape
  columns = columns or math.ceil(math.sqrt(n))
  rows = math.ceil(n / columns)
  canvas = np.full((rows * (h + pad) - pad, columns * (w + pad) - pad, c), 255, np.uint8)
  for i, image in enumerate(images):
    r, col = divmod(i, columns)
    canvas[r * (h + pad): r * (h + pad) + h, col * (w + pad): col * (w + pad) + w] = image
  return canvas


def save_grid(images: np.ndarray, path: str, title: str = "") -> None:
  """Saves a grid of images in [-1, 1], [n, H, W, C], as a PNG."""
  grid = tile(to_uint8(images))
  fig, ax = plt.subplots(figsize=(6, 6 * grid.shape[0] / grid.shape[1] + (0.4 if title else 0)))
  if grid.shape[-1] == 1:
    ax.imshow(grid[..., 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
  else:
    ax.imshow(grid, interpolation="nearest")
  ax.set_axis_off()
  if title:
    ax.set_title(title)
  os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
  fig.savefig(path, bbox_inches="tight", dpi=100)
  plt.close(fig)


# Metrics that only some games log (losses' aux, penalties, stabilisers): a fourth panel.
GAME_METRICS = ("d_wasserstein_estimate", "d_penalty", "g_feature_matching", "d_historical",
                "g_historical", "d_updates", "instance_noise_std")


def save_curves(records: List[Dict[str, float]], path: str,
                panels: Sequence[Sequence[str]] = (("d_loss", "g_loss"),
                                                   ("d_real_prob", "d_fake_prob"),
                                                   ("d_grad_norm", "g_grad_norm"))) -> None:
  """Plots metric curves against step, one panel per group of metric names, plus a panel of
  the GAME_METRICS the records contain (the Wasserstein estimate, penalty, ...)."""
  present = [name for name in GAME_METRICS if any(name in r for r in records)]
  if present:
    panels = (*panels, present)
  fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.5))
  steps = [r["step"] for r in records]
  for ax, names in zip(np.atleast_1d(axes), panels):
    for name in names:
      values = [r.get(name, np.nan) for r in records]
      ax.plot(steps, values, label=name)
    ax.set_xlabel("step")
    ax.legend()
    ax.grid(alpha=0.3)
  fig.tight_layout()
  os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
  fig.savefig(path, dpi=100)
  plt.close(fig)
