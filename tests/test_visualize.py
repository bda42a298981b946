"""Pixel conversion and tiling of sample grids."""
import numpy as np

from jaxgan.runtime import visualize


def test_to_uint8_rounds_and_clips():
  x = np.array([-1.5, -1.0, -0.00392, 0.0, 0.5, 1.0, 2.0], np.float32)
  np.testing.assert_array_equal(visualize.to_uint8(x), [0, 0, 127, 128, 191, 255, 255])


def test_tile_places_images_row_major():
  images = np.stack([np.full((2, 3, 1), i, np.uint8) for i in range(5)])
  grid = visualize.tile(images, columns=3, pad=1)
  assert grid.shape == (2 * 3 - 1, 3 * 4 - 1, 1)
  assert grid[0, 0, 0] == 0 and grid[0, 4, 0] == 1 and grid[3, 0, 0] == 3
  assert grid[2, 0, 0] == 255  # padding row
  assert (grid[3:, 8:, 0] == 255).all()  # the empty sixth cell


def test_save_grid_and_curves(tmp_path):
  visualize.save_grid(np.zeros((4, 5, 5, 1)), str(tmp_path / "g.png"), title="t")
  visualize.save_curves([{"step": 1, "d_loss": 1.0, "g_loss": 2.0},
                         {"step": 2, "d_loss": 0.5, "g_loss": 1.5}], str(tmp_path / "c.png"))
  assert (tmp_path / "g.png").stat().st_size > 0 and (tmp_path / "c.png").stat().st_size > 0
