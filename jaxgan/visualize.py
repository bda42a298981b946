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
                                                   ("d_grad_norm", "g_grad_norm")),
                game_panel: bool = True) -> None:
  """Plots metric curves against step, one panel per group of metric names, plus (when
  game_panel) a panel of the GAME_METRICS the records contain (Wasserstein estimate, ...).

  Records may hold different metrics (training and evaluation records share metrics.jsonl):
  each curve uses the records that have its metric, and empty panels are dropped.
  """
  if game_panel:
    present = [name for name in GAME_METRICS if any(name in r for r in records)]
    if present:
      panels = (*panels, present)
  panels = [names for names in panels if any(name in r for r in records for name in names)]
  if not panels:
    return
  fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.5), squeeze=False)
  for ax, names in zip(axes[0], panels):
    for name in names:
      points = [(r["step"], r[name]) for r in records if name in r]
      if points:
        steps, values = zip(*points)
        ax.plot(steps, values, label=name, marker="o" if len(points) < 30 else None)
    ax.set_xlabel("step")
    ax.legend()
    ax.grid(alpha=0.3)
  fig.tight_layout()
  os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
  fig.savefig(path, dpi=100)
  plt.close(fig)


# Panels of WORKDIR/eval_curves.png (metric names as logged by the evaluation).
EVAL_PANELS = (("eval_fid",), ("eval_kid",),
               ("eval_precision", "eval_recall", "eval_density", "eval_coverage"),
               ("eval_classes_covered",), ("eval_class_kl",), ("eval_is",),
               ("eval_class_accuracy",))


def save_eval_curves(records: List[Dict[str, float]], path: str) -> None:
  """Evaluation metrics against step (the records holding them), one panel per scale."""
  save_curves(records, path, panels=EVAL_PANELS, game_panel=False)


def save_animation(frame_paths: Sequence[str], path: str, seconds_per_frame: float = 0.4
                   ) -> None:
  """Assembles PNG frames (e.g. the sample grids of a run, oldest first) into a looping GIF.

  Frames of different sizes (a longer title) are pasted on a white canvas of the largest.
  """
  from PIL import Image  # matplotlib's own dependency.

  if not frame_paths:
    raise ValueError("save_animation needs at least one frame.")
  frames = [Image.open(p).convert("RGB") for p in frame_paths]
  width = max(f.width for f in frames)
  height = max(f.height for f in frames)
  canvases = []
  for frame in frames:
    canvas = Image.new("RGB", (width, height), "white")
    canvas.paste(frame, ((width - frame.width) // 2, (height - frame.height) // 2))
    canvases.append(canvas.quantize(colors=255))
  os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
  last_hold = [int(seconds_per_frame * 1000)] * (len(canvases) - 1) + [2000]
  canvases[0].save(path, save_all=True, append_images=canvases[1:], loop=0,
                   duration=last_hold if len(canvases) > 1 else 2000)
