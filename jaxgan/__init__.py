"""jaxgan: a JAX/Flax research codebase for Generative Adversarial Networks."""

from jaxgan.core import moved_modules as _moved_modules

__version__ = "0.1.0"

_moved_modules.install()  # Old import paths (before the layout by role) keep working.
