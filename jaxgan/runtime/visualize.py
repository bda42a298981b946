"""Pictures a researcher looks at: sample grids and training curves (matplotlib, PNG)."""
from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")  # Files only: training runs headless.
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from jaxgan.runtime import storage


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


def save_grid(images: np.ndarray, path: str, title: str = "",
              columns: Optional[int] = None) -> None:
  """Saves a grid of images in [-1, 1], [n, H, W, C], as a PNG (`columns` per row; None:
  a square)."""
  grid = tile(to_uint8(images), columns)
  fig, ax = plt.subplots(figsize=(6, 6 * grid.shape[0] / grid.shape[1] + (0.4 if title else 0)))
  if grid.shape[-1] == 1:
    ax.imshow(grid[..., 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
  else:
    ax.imshow(grid, interpolation="nearest")
  ax.set_axis_off()
  if title:
    ax.set_title(title)
  storage.make_parent(path)
  storage.save_figure(fig, path, bbox_inches="tight", dpi=100)
  plt.close(fig)


def save_columns(columns: Sequence[Tuple[str, np.ndarray]], path: str, title: str = "") -> None:
  """Saves labelled columns of uint8 images side by side as a PNG: `columns` is
  [(label, images [m, H, W, C])], every column the same m images' worth (e.g. one fixed
  latent per row, one training milestone per column)."""
  fig, axes = plt.subplots(1, len(columns), squeeze=False,
                           figsize=(1.3 * len(columns) + 0.4, 1.3 * len(columns[0][1]) + 0.6))
  for ax, (label, images) in zip(axes[0], columns):
    strip = tile(images, columns=1)
    if strip.shape[-1] == 1:
      ax.imshow(strip[..., 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    else:
      ax.imshow(strip, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(label, fontsize=9)
  if title:
    fig.suptitle(title, fontsize=10)
  storage.make_parent(path)
  storage.save_figure(fig, path, bbox_inches="tight", dpi=100)
  plt.close(fig)


# The fixed panels of curves.png; every other metric a run logs (a loss's aux terms, a
# penalty, a stabiliser's quantities) gets a panel of its own, except run bookkeeping.
CURVE_PANELS = (("d_loss", "g_loss"), ("d_real_prob", "d_fake_prob"),
                ("d_grad_norm", "g_grad_norm"), ("g_learning_rate", "d_learning_rate"))
BOOKKEEPING = ("step", "all_finite", "steps_per_sec", "images_per_sec", "skipped_steps",
               "d_real_logit", "d_fake_logit")
_COLUMNS = 4


def curve_panels(records: List[Dict[str, float]],
                 panels: Sequence[Sequence[str]] = CURVE_PANELS,
                 others: bool = True) -> List[List[str]]:
  """The panels that have data: `panels`, then (when `others`) one per remaining metric
  (not evaluation records' eval_*, not BOOKKEEPING, not parameter norms)."""
  present = {name for r in records for name in r}
  out = [[n for n in names if n in present] for names in panels]
  out = [names for names in out if names]
  if others:
    shown = {n for names in panels for n in names}
    out += [[name] for name in sorted(present - shown - set(BOOKKEEPING))
            if not name.startswith("eval_") and not name.endswith("_param_norm")]
  return out


def panel_grid(n: int, panel_size: Tuple[float, float], extra_height: float = 0.0
               ) -> Tuple[Any, List[Any]]:
  """A figure of `n` panels, up to 4 per row, each `panel_size` inches (width, height);
  returns (figure, the n axes in reading order). Cells beyond n are left blank."""
  columns = min(_COLUMNS, n)
  rows = math.ceil(n / columns)
  fig, axes = plt.subplots(rows, columns, squeeze=False, figsize=(
      panel_size[0] * columns, panel_size[1] * rows + extra_height))
  for ax in axes.flat[n:]:
    ax.set_axis_off()
  return fig, list(axes.flat[:n])


def save_curves(records: List[Dict[str, float]], path: str,
                panels: Sequence[Sequence[str]] = CURVE_PANELS, others: bool = True,
                title: str = "") -> None:
  """Plots metric curves against step in a grid of panels (`curve_panels`), 4 per row.

  Records may hold different metrics (training and evaluation records share metrics.jsonl):
  each curve uses the records that have its metric, and empty panels are dropped.
  """
  panels = curve_panels(records, panels, others)
  if not panels:
    return
  fig, axes = panel_grid(len(panels), (4.2, 3.2), extra_height=0.4 * bool(title))
  for ax, names in zip(axes, panels):
    for name in names:
      points = [(r["step"], r[name]) for r in records if name in r]
      steps, values = zip(*points)
      ax.plot(steps, values, label=name, marker="o" if len(points) < 30 else None)
    ax.set_xlabel("step")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
  if title:
    fig.suptitle(title)
  fig.tight_layout()
  storage.make_parent(path)
  storage.save_figure(fig, path, dpi=100)
  plt.close(fig)


# Panels of WORKDIR/eval_curves.png (metric names as logged by the evaluation).
EVAL_PANELS = (("eval_fid",), ("eval_kid",),
               ("eval_precision", "eval_recall", "eval_density", "eval_coverage"),
               ("eval_classes_covered",), ("eval_class_kl",), ("eval_is",),
               ("eval_class_accuracy",),
               # A translating game's (jaxgan.evaluation.translation), with their floors.
               ("eval_ab_fid", "eval_ab_fid_floor", "eval_ba_fid", "eval_ba_fid_floor"),
               ("eval_ab_content", "eval_ab_content_floor", "eval_ba_content",
                "eval_ba_content_floor"),
               ("eval_ab_l1_pair", "eval_ba_l1_pair", "eval_ab_cycle", "eval_ba_cycle"),
               ("eval_ab_precision", "eval_ab_coverage", "eval_ba_precision",
                "eval_ba_coverage"))


def save_eval_curves(records: List[Dict[str, float]], path: str, title: str = "") -> None:
  """Evaluation metrics against step (the records holding them), a grid of one panel per
  scale."""
  save_curves(records, path, panels=EVAL_PANELS, others=False, title=title)


def run_title(workdir: str, description: str) -> str:
  """"RUN: DESCRIPTION" for pictures' titles (RUN: the workdir's folder name; DESCRIPTION: the
  experiment's, "model, loss, seed N")."""
  return f"{storage.basename(workdir)}: {description}"


def save_animation(frame_paths: Sequence[str], path: str, seconds_per_frame: float = 0.4
                   ) -> None:
  """Assembles PNG frames (e.g. the sample grids of a run, oldest first) into a looping GIF.

  Frames of different sizes (a longer title) are pasted on a white canvas of the largest.
  """
  from PIL import Image  # matplotlib's own dependency.

  if not frame_paths:
    raise ValueError("save_animation needs at least one frame.")
  frames = [storage.load_image(p).convert("RGB") for p in frame_paths]
  width = max(f.width for f in frames)
  height = max(f.height for f in frames)
  canvases = []
  for frame in frames:
    canvas = Image.new("RGB", (width, height), "white")
    canvas.paste(frame, ((width - frame.width) // 2, (height - frame.height) // 2))
    canvases.append(canvas.quantize(colors=255))
  storage.make_parent(path)
  last_hold = [int(seconds_per_frame * 1000)] * (len(canvases) - 1) + [2000]
  storage.save_image(canvases[0], path, save_all=True, append_images=canvases[1:], loop=0,
                   duration=last_hold if len(canvases) > 1 else 2000)
