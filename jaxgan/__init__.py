"""jaxgan: a JAX/Flax research codebase for Generative Adversarial Networks."""

__version__ = "0.1.0"
