"""The contract between jaxgan and a model builder, checked at start-up (nothing compiled).

A builder (registered in jaxgan.models.MODELS, or named as "module:builder" in
config.model.name) must

  * take the keyword arguments image_shape, latent_dim and axis_name (plus its own kwargs,
    from config.model.kwargs);
  * return jaxgan.models.GanPair(generator, discriminator) (a plain (G, D) tuple is accepted)
    of Flax modules whose __call__ takes a `train` keyword;
  * make G(z [n, latent_dim], train) images of exactly the data's shape [n, H, W, C];
  * make D(x [n, H, W, C], train) logits of shape exactly [n]: [n, 1] or a scalar would be
    broadcast silently by the losses ([n, 1] - [n] is [n, n]) and train something else.

Each failure is a ConfigError naming config.model.name as the user wrote it. The shapes are
found with jax.eval_shape, so a large model costs a trace, not a compile.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Optional, Tuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.core.config_checks import ConfigError

BUILDER_KEYWORDS = ("image_shape", "latent_dim", "axis_name")
_EXAMPLES = 2  # Batch size of the abstract check (not 1: a squeeze would pass unnoticed).


def _has_var_keyword(signature: inspect.Signature) -> bool:
  return any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())


def check_builder_signature(name: str, builder: Callable) -> None:
  """The builder takes image_shape, latent_dim and axis_name as keywords."""
  try:
    signature = inspect.signature(builder)
  except (TypeError, ValueError):
    return  # A builtin or C callable: nothing to inspect; calling it will tell.
  if _has_var_keyword(signature):
    return
  params = signature.parameters
  missing = [k for k in BUILDER_KEYWORDS
             if k not in params or params[k].kind is inspect.Parameter.POSITIONAL_ONLY]
  if missing:
    raise ConfigError(
        f"config.model.name={name!r}: a model builder must take the keyword arguments "
        f"{', '.join(BUILDER_KEYWORDS)} (jaxgan passes them; README 'Your own "
        f"architecture'); {getattr(builder, '__name__', builder)}{signature} lacks "
        f"{', '.join(missing)}.")


def _check_takes_train(name: str, role: str, module: nn.Module) -> None:
  signature = inspect.signature(type(module).__call__)
  if "train" not in signature.parameters and not _has_var_keyword(signature):
    raise ConfigError(
        f"config.model.name={name!r}: the {role} {type(module).__name__}.__call__"
        f"{signature} must take a keyword argument `train` (jaxgan calls it with train=True "
        "in updates and train=False when sampling and evaluating).")


def as_pair(name: str, built: Any) -> Tuple[nn.Module, nn.Module]:
  """(G, D) from what the builder returned, which must be a GanPair or a 2-tuple of Flax
  modules whose __call__ takes `train`."""
  if not (isinstance(built, tuple) and len(built) == 2):
    raise ConfigError(
        f"config.model.name={name!r}: the builder must return jaxgan.models.GanPair("
        f"generator, discriminator); it returned {type(built).__name__}"
        f"{'' if not hasattr(built, '__len__') else f' of length {len(built)}'}.")
  for role, module in zip(("generator", "discriminator"), built):
    if not isinstance(module, nn.Module):
      raise ConfigError(f"config.model.name={name!r}: the {role} must be a flax.linen.Module; "
                        f"the builder returned a {type(module).__name__}.")
    _check_takes_train(name, role, module)
  return built[0], built[1]


def check_shapes(name: str, generator: nn.Module, discriminator: nn.Module, latent_dim: int,
                 image_shape: Tuple[int, int, int],
                 example_kwargs: Callable[[nn.Module, int], dict],
                 d_image_shape: Optional[Tuple[int, int, int]] = None) -> None:
  """G makes [n, *image_shape] from [n, latent_dim], and D makes logits [n] from n images.

  Args:
    example_kwargs: (module, n) -> the extra keyword arguments of an example call (a
      conditional pair's labels; jaxgan.models.conditional.example_kwargs).
    d_image_shape: the shape of D's inputs when the plug-ins change it (PacGAN's packs of m
      images: (H, W, m C)); the data's by default.
  """
  n = _EXAMPLES
  z = jnp.zeros((n, latent_dim), jnp.float32)
  images = jnp.zeros((n, *(d_image_shape or image_shape)), jnp.float32)

  def generate():
    kwargs = example_kwargs(generator, n)
    variables = generator.init(jax.random.key(0), z, train=False, **kwargs)
    return generator.apply(variables, z, train=False, **kwargs)

  def judge():
    kwargs = example_kwargs(discriminator, n)
    variables = discriminator.init(jax.random.key(0), images, train=False, **kwargs)
    return discriminator.apply(variables, images, train=False, **kwargs)

  fakes = _abstract(name, "generator", generate, f"z of shape {tuple(z.shape)}")
  if not hasattr(fakes, "shape") or tuple(fakes.shape) != (n, *image_shape):
    made = (str(tuple(fakes.shape[1:])) if getattr(fakes, "ndim", 0) >= 1
            else _shape_of(fakes))
    raise ConfigError(
        f"config.model.name={name!r}: the generator makes images of shape {made} (output "
        f"{_shape_of(fakes)} from z of shape {tuple(z.shape)}), but the dataset's images are "
        f"{tuple(image_shape)}.")
  logits = _abstract(name, "discriminator", judge, f"images of shape {tuple(images.shape)}")
  if not hasattr(logits, "shape") or tuple(logits.shape) != (n,):
    raise ConfigError(
        f"config.model.name={name!r}: the discriminator must return one logit per image, "
        f"shape [n] ([{n}] here); it returns {_shape_of(logits)} for images of shape "
        f"{tuple(images.shape)}. Reshape its output, e.g. `return x.reshape(-1)` after a "
        "Dense(1) (a [n, 1] output would be broadcast by the loss against [n]).")


def _shape_of(out: Any) -> str:
  return str(tuple(out.shape)) if hasattr(out, "shape") else f"a {type(out).__name__}"


def _abstract(name: str, role: str, fn: Callable[[], Any], what: str) -> Any:
  try:
    return jax.eval_shape(fn)
  except (TypeError, ValueError) as e:
    raise ConfigError(f"config.model.name={name!r}: the {role} fails on {what}: "
                      f"{type(e).__name__}: {e}") from e


def check_translation_shapes(name: str, generator: nn.Module, discriminator: nn.Module,
                             image_shape: Tuple[int, int, int]) -> None:
  """An image-to-image pair (jaxgan.models.TranslationPair): G keeps the images' shape, and D
  makes logits [n] or patch logits [n, h, w] from them."""
  n = _EXAMPLES
  images = jnp.zeros((n, *image_shape), jnp.float32)

  def run(module):
    def apply():
      variables = module.init(jax.random.key(0), images, train=False)
      return module.apply(variables, images, train=False)
    return apply

  what = f"images of shape {tuple(images.shape)}"
  out = _abstract(name, "generator", run(generator), what)
  if not hasattr(out, "shape") or tuple(out.shape) != tuple(images.shape):
    raise ConfigError(f"config.model.name={name!r}: an image-to-image generator must keep the "
                      f"shape of its input {tuple(images.shape)}; it returns {_shape_of(out)}.")
  logits = _abstract(name, "discriminator", run(discriminator), what)
  if not hasattr(logits, "shape") or logits.ndim not in (1, 3) or logits.shape[0] != n:
    raise ConfigError(f"config.model.name={name!r}: an image-to-image discriminator must "
                      f"return logits [n] or patch logits [n, h, w]; it returns "
                      f"{_shape_of(logits)} for {what}.")
