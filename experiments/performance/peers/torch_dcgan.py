"""PyTorch peer of jaxgan's seed DCGAN (configs/dcgan.py): the TensorFlow tutorial's model
(tutorial_keras.py) in PyTorch, with the peers' step, devices and compile modes
(torch_peer.py). `python torch_dcgan.py --batch 256 [--device cuda] [--compile default]`."""
import torch.nn.functional as F
from torch import nn

import torch_peer

LATENT = 100


class Generator(nn.Module):
  """Dense 7x7x256 -> ConvT 128 /1 -> ConvT 64 /2 -> ConvT 1 /2 (5x5, no biases), BatchNorm
  and LeakyReLU(0.3) between, tanh. Keras' "same" transposed convolutions are padding 2 with
  output_padding stride - 1."""

  def __init__(self):
    super().__init__()
    self.dense = nn.Linear(LATENT, 7 * 7 * 256, bias=False)
    self.norm0 = nn.BatchNorm1d(7 * 7 * 256)
    self.up1 = nn.ConvTranspose2d(256, 128, 5, 1, padding=2, bias=False)
    self.norm1 = nn.BatchNorm2d(128)
    self.up2 = nn.ConvTranspose2d(128, 64, 5, 2, padding=2, output_padding=1, bias=False)
    self.norm2 = nn.BatchNorm2d(64)
    self.up3 = nn.ConvTranspose2d(64, 1, 5, 2, padding=2, output_padding=1, bias=False)

  def forward(self, z):
    x = F.leaky_relu(self.norm0(self.dense(z)), 0.3).view(-1, 256, 7, 7)
    x = F.leaky_relu(self.norm1(self.up1(x)), 0.3)
    x = F.leaky_relu(self.norm2(self.up2(x)), 0.3)
    return self.up3(x).tanh()


class Discriminator(nn.Module):
  """Conv 64 /2 -> Conv 128 /2 (5x5, padding 2), LeakyReLU(0.3) and Dropout 0.3 after each,
  Dense 1."""

  def __init__(self):
    super().__init__()
    self.down1 = nn.Conv2d(1, 64, 5, 2, padding=2)
    self.down2 = nn.Conv2d(64, 128, 5, 2, padding=2)
    self.head = nn.Linear(7 * 7 * 128, 1)

  def forward(self, x):
    x = F.dropout(F.leaky_relu(self.down1(x), 0.3), 0.3, self.training)
    x = F.dropout(F.leaky_relu(self.down2(x), 0.3), 0.3, self.training)
    return self.head(x.flatten(1))


if __name__ == "__main__":
  torch_peer.main(Generator(), Discriminator(), LATENT, (1, 28, 28), __doc__.split("\n")[0])
