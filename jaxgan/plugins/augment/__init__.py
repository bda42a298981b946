"""Differentiable augmentation of what D sees: DiffAugment (`diffaugment.py`) and ADA's
pipeline (`ada.py`, with `resample.py`), per example, in pure JAX. The plug-in that applies
them and ADA's controller is `jaxgan.plugins.augmentation` (config.augment)."""
