"""A researcher's own loss and penalty, used by jaxgan without editing it (README example).

  PYTHONPATH=experiments/custom_loss python -m jaxgan.main --config=configs/dcgan_tutorial.py \
      --workdir=/tmp/my_loss --config.loss.name=my_gan_terms:wasserstein_with_drift \
      --config.loss.kwargs.drift=0.001 --config.penalty.name=my_gan_terms:lipschitz_penalty \
      --config.model.kwargs.dropout_rate=0.0 --config.n_critic=5
"""
import jax.numpy as jnp

from jaxgan.losses import GanLoss
from jaxgan.penalties import input_gradients, safe_norms


def wasserstein_with_drift(real_logits, fake_logits, drift=0.001):
  """WGAN loss plus ProGAN's drift term drift * E[D(x)^2] (Karras et al., 2018, appendix
  A.1), which keeps the critic's outputs near zero.

  real_logits, fake_logits: [N] critic outputs on the global batch. Returns scalars.
  """
  estimate = jnp.mean(real_logits) - jnp.mean(fake_logits)
  d = -estimate + drift * jnp.mean(jnp.square(real_logits))
  return GanLoss(d=d, g=-jnp.mean(fake_logits), aux={"wasserstein_estimate": estimate})


def lipschitz_penalty(critic, real, fake, keys):
  """WGAN-LP (Petzka et al., 2018): max(0, ||grad D(x)|| - 1)^2 at the real and fake images:
  penalise only gradients steeper than 1. Returns [n] per-example values."""
  del keys  # Deterministic: no random interpolation.
  both = jnp.concatenate([real, fake])
  excess = jnp.maximum(safe_norms(input_gradients(critic, both)) - 1.0, 0.0)
  n = real.shape[0]
  return 0.5 * (jnp.square(excess[:n]) + jnp.square(excess[n:]))
