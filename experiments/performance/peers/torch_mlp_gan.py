"""PyTorch (eager) peer of jaxgan's MLP GAN: the model and step of keras_mlp_gan.py (both
gradients from one forward pass through the pre-update D), one step timed. Prints one JSON
line."""
import argparse

import torch
import torch.nn.functional as F
from torch import nn

import peer_timing

LATENT = 100


def generator() -> nn.Module:
  stack, width_in = [], LATENT
  for width in (256, 512, 1024):
    # Keras' BatchNormalization(momentum=0.8) keeps 0.8 of the old average: torch's 0.2.
    stack += [nn.Linear(width_in, width), nn.LeakyReLU(0.2), nn.BatchNorm1d(width, momentum=0.2)]
    width_in = width
  return nn.Sequential(*stack, nn.Linear(width_in, 784), nn.Tanh())


def discriminator() -> nn.Module:
  stack, width_in = [nn.Flatten()], 784
  for width in (1024, 512, 256):
    stack += [nn.Linear(width_in, width), nn.LeakyReLU(0.2), nn.Dropout(0.3)]
    width_in = width
  return nn.Sequential(*stack, nn.Linear(width_in, 1))


def main():
  parser = argparse.ArgumentParser()
  peer_timing.add_arguments(parser)
  args = parser.parse_args()
  torch.set_num_threads(args.threads)
  torch.manual_seed(0)
  g, d = generator(), discriminator()
  g_opt = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
  d_opt = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
  real = torch.rand(args.batch, 1, 28, 28) * 2 - 1
  ones, zeros = torch.ones(args.batch, 1), torch.zeros(args.batch, 1)

  def step() -> float:
    fake = g(torch.randn(args.batch, LATENT))
    real_logits, fake_logits = d(real), d(fake)
    d_loss = (F.binary_cross_entropy_with_logits(real_logits, ones)
              + F.binary_cross_entropy_with_logits(fake_logits, zeros))
    g_loss = F.binary_cross_entropy_with_logits(fake_logits, ones)
    d_grads = torch.autograd.grad(d_loss, list(d.parameters()), retain_graph=True)
    g_grads = torch.autograd.grad(g_loss, list(g.parameters()))
    for params, grads in ((d.parameters(), d_grads), (g.parameters(), g_grads)):
      for param, grad in zip(params, grads):
        param.grad = grad
    d_opt.step()
    g_opt.step()
    return float(d_loss)

  timing = peer_timing.time_steps(step, args.warmup, args.steps)
  peer_timing.report("torch-eager", args.batch, args.steps, args.threads, timing,
                     torch=torch.__version__)


if __name__ == "__main__":
  main()
