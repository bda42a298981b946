"""The PyTorch peers' common step, devices and compile modes (plain Python: runs where torch
is installed, without jaxgan).

The step is the TensorFlow tutorial's, as in every peer: G makes fakes from fresh normal
latents; one forward pass of D on real and fake; D's loss BCE(real, 1) + BCE(fake, 0), G's
the non-saturating BCE(fake, 1); both gradients from that pass through the pre-update D;
Adam(2e-4, beta1=0.5) for both (fused kernels on CUDA).

Compile modes (`--compile`), what a PyTorch user would reach for:
  none             eager;
  default          torch.compile of the forward pass and losses (Inductor; its backward is
                   compiled with it by AOTAutograd);
  reduce-overhead  the same with CUDA graphs (torch.compile(mode="reduce-overhead")).
Timing: `--steps` steps in one loop, synchronised once at the end (as jaxgan's benchmark
times its steps), the median of `--loops` such loops; the first call (compilation) and
`--warmup` steps untimed. Prints one JSON line (the protocol of peer_timing.py) with peak
CUDA memory on a GPU.
"""
import argparse
import json
import statistics
import time
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

COMPILE_MODES = ("none", "default", "reduce-overhead")


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--batch", type=int, default=256)
  parser.add_argument("--steps", type=int, default=30, help="timed steps per loop")
  parser.add_argument("--loops", type=int, default=3, help="timed loops (median reported)")
  parser.add_argument("--warmup", type=int, default=5)
  parser.add_argument("--threads", type=int, default=2)
  parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
  parser.add_argument("--compile", default="none", choices=COMPILE_MODES)


def main(generator: nn.Module, discriminator: nn.Module, latent_dim: int,
         image_shape: Sequence[int], description: str, name: str = "torch") -> None:
  """A peer script's command line: the shared flags (`add_arguments`), then `run`."""
  parser = argparse.ArgumentParser(description=description)
  add_arguments(parser)
  run(generator, discriminator, latent_dim, image_shape, parser.parse_args(), name)


def run(generator: nn.Module, discriminator: nn.Module, latent_dim: int,
        image_shape: Sequence[int], args: argparse.Namespace, name: str) -> None:
  """Builds the step for `args`, times it and prints the JSON line."""
  torch.set_num_threads(args.threads)
  torch.manual_seed(0)
  device = torch.device(args.device)
  g, d = generator.to(device), discriminator.to(device)
  fused = {"fused": True} if device.type == "cuda" else {}
  g_opt = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999), **fused)
  d_opt = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999), **fused)
  g_params, d_params = list(g.parameters()), list(d.parameters())
  real = torch.rand(args.batch, *image_shape, device=device) * 2 - 1

  def losses(real, z):
    real_logits, fake_logits = d(real).flatten(), d(g(z)).flatten()
    ones, zeros = torch.ones_like(real_logits), torch.zeros_like(real_logits)
    d_loss = (F.binary_cross_entropy_with_logits(real_logits, ones)
              + F.binary_cross_entropy_with_logits(fake_logits, zeros))
    return d_loss, F.binary_cross_entropy_with_logits(fake_logits, ones)

  forward = losses if args.compile == "none" else torch.compile(
      losses, mode=None if args.compile == "default" else args.compile)

  def step() -> torch.Tensor:
    if args.compile == "reduce-overhead":
      torch.compiler.cudagraph_mark_step_begin()  # The previous step's outputs are done with.
    d_loss, g_loss = forward(real, torch.randn(args.batch, latent_dim, device=device))
    d_grads = torch.autograd.grad(d_loss, d_params, retain_graph=True)
    g_grads = torch.autograd.grad(g_loss, g_params)
    for params, grads in ((d_params, d_grads), (g_params, g_grads)):
      for param, grad in zip(params, grads):
        param.grad = grad
    d_opt.step()
    g_opt.step()
    return d_loss.detach()

  def sync(value: torch.Tensor) -> None:
    float(value)  # Waits for the device.

  start = time.perf_counter()
  sync(step())
  first = time.perf_counter() - start
  for _ in range(args.warmup):
    sync(step())
  if device.type == "cuda":
    torch.cuda.reset_peak_memory_stats(device)
  loop_seconds = [_timed_loop(step, sync, args.steps) for _ in range(args.loops)]
  sec_per_step = statistics.median(loop_seconds) / args.steps
  figures = {"impl": f"{name}-{'eager' if args.compile == 'none' else args.compile}",
             "batch": args.batch, "steps": args.steps, "sec_per_step_median": sec_per_step,
             "images_per_sec": args.batch / sec_per_step, "first_step_sec": first,
             "threads": torch.get_num_threads(), "device": str(device),
             "torch": torch.__version__}
  if device.type == "cuda":
    figures["peak_device_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
    figures["gpu"] = torch.cuda.get_device_name(device)
  print(json.dumps(figures), flush=True)


def _timed_loop(step: Callable[[], torch.Tensor], sync: Callable, steps: int) -> float:
  start = time.perf_counter()
  for _ in range(steps):
    last = step()
  sync(last)
  return time.perf_counter() - start
