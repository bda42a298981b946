"""Name -> object registries, so that a config names what to build.

Every pluggable piece of jaxgan (architectures, losses, ...) lives in a `Registry`.
`get(name)` accepts either a registered name or ``"package.module:attribute"``, which imports a
researcher's own code without editing jaxgan. A wrong name fails with the list of valid ones.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable, Dict, List

from jaxgan.core import errors


class UnknownNameError(errors.UserError, ValueError):
  """Raised when a registry has no entry of that name."""


class Registry:
  """A named collection of objects of one kind (e.g. "loss").

  Example:
    LOSSES = Registry("loss")

    @LOSSES.register("hinge")
    def hinge(real_logits, fake_logits): ...

    LOSSES.get("hinge")                  # the function above
    LOSSES.get("my_pkg.losses:my_loss")  # imported from the researcher's module
  """

  def __init__(self, kind: str):
    self.kind = kind
    self._entries: Dict[str, Any] = {}

  def register(self, name: str) -> Callable[[Any], Any]:
    """Decorator that registers its target under `name` (names are unique)."""

    def decorator(obj):
      if name in self._entries:
        raise ValueError(f"{self.kind} {name!r} is registered twice.")
      self._entries[name] = obj
      return obj

    return decorator

  def names(self) -> List[str]:
    return sorted(self._entries)

  def get(self, name: str) -> Any:
    """Returns the entry called `name`, or imports it when `name` is "module:attribute"."""
    if name in self._entries:
      return self._entries[name]
    if ":" in name:
      return self._import(name)
    raise UnknownNameError(
        f"Unknown {self.kind} {name!r}. Valid {self.kind} names: {', '.join(self.names())}; "
        f"or 'package.module:attribute' for your own {self.kind}.")

  def _import(self, path: str) -> Any:
    module_name, _, attribute = path.partition(":")
    try:
      module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
      if e.name and e.name != module_name and not module_name.startswith(e.name + "."):
        raise errors.BrokenInstallError(
            f"{module_name!r} (for {self.kind} {path!r}) imports {e.name!r}, which is not "
            f"installed: install it (pip install {e.name.split('.')[0]}).") from e
      raise UnknownNameError(
          f"Cannot import module {module_name!r} for {self.kind} {path!r}: {e}. "
          "Is the module on PYTHONPATH (or installed)?") from e
    except ImportError as e:
      raise UnknownNameError(
          f"Cannot import module {module_name!r} for {self.kind} {path!r}: {e}. "
          "Is the module on PYTHONPATH (or installed)?") from e
    try:
      return getattr(module, attribute)
    except AttributeError as e:
      raise UnknownNameError(
          f"Module {module_name!r} has no attribute {attribute!r} (for {self.kind} "
          f"{path!r}).") from e

  def __contains__(self, name: str) -> bool:
    return name in self._entries
