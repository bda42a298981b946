"""PyTorch peer of jaxgan's MLP GAN: the model of keras_mlp_gan.py with the peers' step,
devices and compile modes (torch_peer.py). Prints one JSON line."""
from torch import nn

import torch_peer

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


if __name__ == "__main__":
  torch_peer.main(generator(), discriminator(), LATENT, (1, 28, 28), __doc__.split("\n")[0])
