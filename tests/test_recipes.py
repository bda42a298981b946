"""Every recipe in configs/ builds (names, kwargs, shapes checked as at start-up, no
compilation) and documents its command and what it reaches."""
import importlib
import os

import pytest

from jaxgan.experiment import builders

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPES = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, "configs"))
                 if name.endswith(".py") and name not in ("__init__.py", "default.py"))


# (H, W, C) of each recipe dataset's images as stored, before config.dataset.crop/image_size.
STORED_SHAPES = {"mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1),
                 "stacked_mnist": (28, 28, 3), "cifar10": (32, 32, 3), "celeb_a": (218, 178, 3),
                 "digit_strokes": (28, 28, 1), "cycle_gan/horse2zebra": (256, 256, 3)}


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_builds_and_documents_its_command(name):
  module = importlib.import_module(f"configs.{name}")
  config = module.get_config()
  builders.check_config(config)
  height, width, channels = STORED_SHAPES[config.dataset.name]
  crop, size = config.dataset.crop, config.dataset.image_size
  if crop or size:
    height = width = size or crop
  if config.dataset.random_crop:
    height = width = config.dataset.random_crop
  image_shape = (height, width, channels)
  builders.build(config, image_shape)  # Models, their output shape, plug-ins' shape checks.
  assert f"python -m jaxgan.main --config=configs/{name}.py" in module.__doc__
  assert "What to expect" in module.__doc__
