"""Class-conditional GANs: any registered (G, D) pair, told which class to make and judge.

`condition(pair, num_classes, generator_mode, discriminator_mode)` wraps the pair:

  generator modes
    "concat"      the course's cGAN (Mirza & Osindero, 2014): G sees [z, one_hot(y)].
    "batch_norm"  conditional BatchNorm (de Vries et al., 2017; as in SNGAN/BigGAN's G): every
                  BatchNorm of G gets a per-class scale and offset. Needs a G with BatchNorm.
    "mapping"     StyleGAN2's: the label is embedded, normalised and concatenated with z at
                  the input of G's mapping network. Needs a G with one (stylegan2).
  discriminator modes
    "concat"      the course's cGAN: D sees the image with num_classes more channels, the
                  one-hot label broadcast over H x W (a "label map").
    "projection"  the projection discriminator (Miyato & Koyama, 2018): D's logit gains
                  <embed(y), phi(x)>, phi = D's penultimate features (its DiscriminatorHead).

The wrapped modules are called as G.apply(variables, z, train=..., labels=y) and
D.apply(variables, x, train=..., labels=y), labels int32 [n] in [0, num_classes). The base
module's parameters sit under "base". Labels are required: a conditional model called
without them is a bug, not a request for class 0.
"""
from __future__ import annotations

import inspect
from typing import Any, Dict, Optional, Tuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

GENERATOR_MODES = ("concat", "batch_norm", "mapping")
DISCRIMINATOR_MODES = ("concat", "projection")


def one_hot(labels: jax.Array, num_classes: int) -> jax.Array:
  """int labels [n] -> float32 one-hot codes [n, num_classes]."""
  return jax.nn.one_hot(labels, num_classes, dtype=jnp.float32)


def _codes(labels: Optional[jax.Array], num_classes: int, who: str) -> jax.Array:
  if labels is None:
    raise ValueError(f"the conditional {who} needs labels=int32 [n] (classes to make/judge).")
  if labels.ndim != 1:
    raise ValueError(f"labels must be int [n]; got shape {labels.shape}.")
  return one_hot(labels, num_classes)


class ConditionalGenerator(nn.Module):
  """(z [n, latent_dim], labels [n]) -> images [n, H, W, C] of those classes; `options`
  (the base's sampling options, e.g. truncation_psi) go to the base."""
  base: nn.Module
  num_classes: int
  mode: str = "concat"

  def __call__(self, z: jax.Array, train: bool, labels: Optional[jax.Array] = None,
               **options) -> jax.Array:
    codes = _codes(labels, self.num_classes, "generator")
    if self.mode == "concat":
      return self.base(jnp.concatenate([z, codes.astype(z.dtype)], axis=-1), train, **options)
    return self.base(z, train, codes=codes, **options)


class ConditionalDiscriminator(nn.Module):
  """(images [n, H, W, C], labels [n]) -> logits [n]: is this a real image of that class?"""
  base: nn.Module
  num_classes: int
  mode: str = "projection"

  def __call__(self, x: jax.Array, train: bool, labels: Optional[jax.Array] = None
               ) -> jax.Array:
    codes = _codes(labels, self.num_classes, "discriminator")
    if self.mode == "concat":
      maps = jnp.broadcast_to(codes[:, None, None, :].astype(x.dtype),
                              (*x.shape[:-1], self.num_classes))
      return self.base(jnp.concatenate([x, maps], axis=-1), train)
    return self.base(x, train, codes=codes)


def _takes_codes(module: nn.Module) -> bool:
  return "codes" in inspect.signature(type(module).__call__).parameters


def _codes_use(generator: nn.Module) -> Optional[str]:
  """What a generator does with `codes`: its class's CODES_USE ("mapping": StyleGAN2's), else
  "batch_norm" when it takes them (conditional BatchNorm), else None."""
  return getattr(type(generator), "CODES_USE", "batch_norm" if _takes_codes(generator) else None)


def check_modes(num_classes: int, generator_mode: str, discriminator_mode: str) -> None:
  """Raises ValueError unless num_classes >= 2 and both modes are known names."""
  if not isinstance(num_classes, int) or num_classes < 2:
    raise ValueError(f"a conditional model needs num_classes >= 2; got {num_classes!r}.")
  if generator_mode not in GENERATOR_MODES:
    raise ValueError(f"generator conditioning {generator_mode!r}; valid: "
                     f"{', '.join(GENERATOR_MODES)}.")
  if discriminator_mode not in DISCRIMINATOR_MODES:
    raise ValueError(f"discriminator conditioning {discriminator_mode!r}; valid: "
                     f"{', '.join(DISCRIMINATOR_MODES)}.")


def condition(pair: Any, num_classes: int, generator_mode: str, discriminator_mode: str
              ) -> Tuple[ConditionalGenerator, ConditionalDiscriminator]:
  """Wraps an unconditional (G, D) pair; raises ValueError naming what is wrong (also when
  the pair lacks the conditional BatchNorm / projection head a mode needs)."""
  check_modes(num_classes, generator_mode, discriminator_mode)
  generator, discriminator = pair
  takes = _codes_use(generator)
  if generator_mode != "concat" and takes != generator_mode:
    what = {"batch_norm": "class-conditional BatchNorm", "mapping": "mapping network"}
    raise ValueError(f"{type(generator).__name__} has no {what[generator_mode]} to take the "
                     f"labels; use generator conditioning 'concat'"
                     f"{f' or {takes!r}' if takes else ''}.")
  if discriminator_mode == "projection" and not _takes_codes(discriminator):
    raise ValueError(f"{type(discriminator).__name__} has no projection head (it takes no "
                     "`codes`); use discriminator conditioning 'concat'.")
  return (ConditionalGenerator(generator, num_classes, generator_mode),
          ConditionalDiscriminator(discriminator, num_classes, discriminator_mode))


def is_conditional(module: Any) -> bool:
  return isinstance(module, (ConditionalGenerator, ConditionalDiscriminator))


def label_kwargs(module: Any, labels: Optional[jax.Array]) -> Dict[str, Any]:
  """The keyword arguments that hand `labels` to `module`: {"labels": labels} for a
  conditional module (which refuses None), {} for an unconditional one (labels ignored)."""
  return {"labels": labels} if is_conditional(module) else {}


def example_kwargs(module: Any, n: int) -> Dict[str, jax.Array]:
  """label_kwargs with n labels of class 0: for init and shape inference only."""
  return label_kwargs(module, jnp.zeros((n,), jnp.int32))


def class_labels(n: int, num_classes: int, start: int = 0) -> np.ndarray:
  """Balanced requested classes of rows [start, start + n): row i asks for class
  i mod num_classes. int32 [n]."""
  return ((start + np.arange(n)) % num_classes).astype(np.int32)
