"""jaxgan: a JAX/Flax research codebase for Generative Adversarial Networks."""

from jaxgan.core import moved_modules as _moved_modules
from jaxgan.runtime import gcs as _gcs

__version__ = "0.1.0"

_moved_modules.install()  # Old import paths (before the layout by role) keep working.
# orbax's and tfds' gs:// through gcsfs, like jaxgan's own files (jaxgan/runtime/gcs.py).
_gcs.set_library_defaults()
