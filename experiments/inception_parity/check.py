"""Parity of jaxgan's FID Inception-v3 with pytorch-fid's, on random weights (needs torch).

  PYTHON_TORCH=/tmp/peer-torch/bin/python   # any Python with torch, torchvision, pytorch-fid
  $PYTHON_TORCH experiments/inception_parity/check.py [--jax_python=/work/venv/bin/python]

The torch side (this process) builds pytorch-fid's `fid_inception_v3()` without downloading
anything (its weight download is patched to return the fresh model's own state dict), gives it
random weights and BatchNorm statistics, and runs pytorch-fid's `InceptionV3` wrapper (its
bilinear resize and [0,1] -> [-1,1] rescale) plus the 1008-way fc on random images. It writes
the state dict under torch names to an .npz and the images to another; the JAX side
(`--jax_python`, a subprocess running this file with --side=jax) converts the state dict with
`python -m jaxgan.convert_inception` and runs `InceptionV3`. The differences of the
pool features and logits are printed per input kind. See README.md for the results.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import types

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# (name, n, h, w, c, resize): images in [-1, 1] NHWC; grayscale is repeated to RGB on the torch
# side, as pytorch-fid's image loader does (PIL .convert("RGB")).
CASES = (
    ("299x299x3", 4, 299, 299, 3, True),      # resize 299 -> 299 is the identity in both
    ("28x28x1 upsampled", 4, 28, 28, 1, True),
    ("64x64x3 upsampled", 4, 64, 64, 3, True),
    ("400x400x3 downsampled", 2, 400, 400, 3, True),
    ("75x75x3 no resize", 4, 75, 75, 3, False),
)


# ---------------------------------------------------------------------------------------------
# Torch side.

def _import_pytorch_fid():
  """pytorch_fid.inception, importing torchvision's inception module only if need be.

  pytorch-fid needs torchvision only for `torchvision.models.inception` (pure Python). Where
  torchvision's compiled ops cannot load (e.g. a CUDA torchvision wheel next to a CPU torch),
  `import torchvision` fails; then package stubs let that one submodule import by itself.
  """
  import importlib
  try:
    importlib.import_module("torchvision")
  except Exception as e:  # pylint: disable=broad-except
    print(f"(import torchvision failed: {type(e).__name__}: {str(e)[:80]}; importing "
          "torchvision.models.inception alone)")
    import importlib.util  # pylint: disable=redefined-outer-name
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
      del sys.modules[name]
    root = os.path.dirname(importlib.util.find_spec("torchvision").origin)
    tv = types.ModuleType("torchvision")
    tv.__path__, tv.__version__ = [root], "0.28.0"
    tvm = types.ModuleType("torchvision.models")
    tvm.__path__ = [os.path.join(root, "models")]
    sys.modules["torchvision"], sys.modules["torchvision.models"] = tv, tvm
    tv.models = tvm
    import torchvision.models.inception as tv_inception
    tvm.inception, tvm.inception_v3 = tv_inception, tv_inception.inception_v3
  import pytorch_fid.inception as pfi
  return pfi


def build_random_torch_model(pfi, seed: int):
  """pytorch-fid's FID Inception with random weights and realistic random BN statistics."""
  import torch
  torch.manual_seed(seed)
  built = {}
  original = pfi._inception_v3

  def capture(*args, **kwargs):
    built["model"] = original(*args, **kwargs)
    return built["model"]

  # fid_inception_v3() builds torchvision's Inception3, swaps in the FID blocks, then loads the
  # downloaded weights: hand it the model's own (random) state dict instead.
  pfi._inception_v3 = capture
  pfi.load_state_dict_from_url = lambda *args, **kwargs: built["model"].state_dict()
  net = pfi.fid_inception_v3()
  pfi._inception_v3 = original
  # Running statistics measured on random images (train-mode pass, cumulative average), then
  # perturbed, so that activations stay O(1) through all 94 layers and the outputs depend on
  # the input; BN scale/bias random too.
  gen = torch.Generator().manual_seed(seed + 1)
  with torch.no_grad():
    for m in net.modules():
      if isinstance(m, torch.nn.BatchNorm2d):
        m.weight.uniform_(0.5, 1.5, generator=gen)
        m.bias.normal_(0.0, 0.2, generator=gen)
        m.momentum = None
        m.reset_running_stats()
    net.train()
    net(torch.rand(4, 3, 299, 299, generator=gen) * 2 - 1)
    net.eval()
    for m in net.modules():
      if isinstance(m, torch.nn.BatchNorm2d):
        m.running_mean.add_(0.1 * torch.randn(m.running_mean.shape, generator=gen)
                            * m.running_var.sqrt())
        m.running_var.mul_(torch.empty(m.running_var.shape).uniform_(0.8, 1.25, generator=gen))
    net.fc.weight.normal_(0.0, 0.05, generator=gen)
    net.fc.bias.normal_(0.0, 0.1, generator=gen)
  return net


def torch_features(pfi, net, images: np.ndarray, resize: bool) -> dict[str, np.ndarray]:
  """pytorch-fid's path: NCHW in [0,1] -> (resize) -> 2x-1 -> blocks -> pool; fc -> logits."""
  import torch
  original = pfi.fid_inception_v3
  pfi.fid_inception_v3 = lambda: net  # The wrapper then shares `net`'s modules.
  try:
    wrapper = pfi.InceptionV3([3], resize_input=resize, normalize_input=True).eval()
  finally:
    pfi.fid_inception_v3 = original
  x = torch.from_numpy(images).permute(0, 3, 1, 2)
  if x.shape[1] == 1:
    x = x.repeat(1, 3, 1, 1)
  with torch.no_grad():
    pool = wrapper((x + 1) / 2)[0].flatten(1)
    logits = net.fc(pool)
  return {"pool": pool.numpy(), "logits": logits.numpy()}


def torch_side(args) -> None:
  import torch
  torch.set_num_threads(os.cpu_count() or 1)
  pfi = _import_pytorch_fid()
  net = build_random_torch_model(pfi, args.seed)
  state_dict = {k: v.numpy() for k, v in net.state_dict().items()}
  params = sum(p.numel() for p in net.parameters())
  stats = sum(v.numel() for k, v in net.state_dict().items() if "running" in k)
  print(f"torch FID Inception: {len(state_dict)} state-dict entries, {params:,} parameters, "
        f"{stats:,} BN running statistics")
  rng = np.random.default_rng(args.seed)
  with tempfile.TemporaryDirectory() as tmp:
    sd_npz = os.path.join(tmp, "torch_state_dict.npz")
    np.savez(sd_npz, **state_dict)
    pth = os.path.join(tmp, "torch_state_dict.pth")
    torch.save(net.state_dict(), pth)
    inputs, reference = {}, {}
    for name, n, h, w, c, resize in CASES:
      key = name.split()[0]
      inputs[key] = rng.uniform(-1, 1, (n, h, w, c)).astype(np.float32)
      reference[key] = torch_features(pfi, net, inputs[key], resize)
    np.savez(os.path.join(tmp, "inputs.npz"), **inputs)
    cmd = [args.jax_python, os.path.abspath(__file__), "--side=jax", f"--dir={tmp}"]
    subprocess.run(cmd, check=True, cwd=ROOT, env=dict(os.environ, JAX_PLATFORMS="cpu"))
    with np.load(os.path.join(tmp, "jax_outputs.npz")) as data:
      ours = {k: data[k] for k in data.files}
    if args.pth_pythonpath:
      # The converter's .pth path, with torch importable: this Python plus the JAX venv.
      env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, args.pth_pythonpath]),
                 JAX_PLATFORMS="cpu")
      out = os.path.join(tmp, "from_pth.npz")
      subprocess.run([sys.executable, "-m", "jaxgan.convert_inception",
                      f"--torch_weights={pth}", f"--output={out}"], check=True, cwd=ROOT,
                     env=env)
      with np.load(out) as a, np.load(os.path.join(tmp, "ours.npz")) as b:
        same = sorted(a.files) == sorted(b.files) and all(
            np.array_equal(a[k], b[k]) for k in a.files)
      print(f".pth -> converter -> .npz identical to the .npz route: {same}")

  # spread: how much the outputs vary between the images of a case (relative L2 distance from
  # the batch mean), so that a small difference is not small merely because the random network
  # ignores its input.
  print(f"\n{'input':46s} {'output':7s} {'max|diff|':>10s} {'max|ref|':>9s} "
        f"{'rel (max/max)':>13s} {'rel (L2)':>9s} {'spread':>7s}")
  for name, *_ in CASES:
    key = name.split()[0]
    for variant in ("", "+antialias", "+include_pad"):
      if f"{key}{variant}/pool" not in ours:
        continue
      label = name + {"": "", "+antialias": " [control: antialias=True]",
                      "+include_pad": " [control: count_include_pad]"}[variant]
      for out in ("pool", "logits"):
        ref, got = reference[key][out], ours[f"{key}{variant}/{out}"]
        diff = np.abs(ref - got).max()
        scale = np.abs(ref).max()
        l2 = np.linalg.norm(ref - got) / np.linalg.norm(ref)
        spread = np.linalg.norm(ref - ref.mean(0)) / np.linalg.norm(ref)
        print(f"{label:46s} {out:7s} {diff:10.2e} {scale:9.3f} {diff / scale:13.2e} "
              f"{l2:9.2e} {spread:7.3f}")


# ---------------------------------------------------------------------------------------------
# JAX side (run by --jax_python).

def jax_side(args) -> None:
  sys.path.insert(0, ROOT)
  import jax
  from jaxgan.evaluation import inception
  subprocess.run([sys.executable, "-m", "jaxgan.convert_inception",
                  f"--torch_weights={os.path.join(args.dir, 'torch_state_dict.npz')}",
                  f"--output={os.path.join(args.dir, 'ours.npz')}"], check=True, cwd=ROOT)
  variables = inception.load_variables(os.path.join(args.dir, "ours.npz"))
  outputs = {}
  with np.load(os.path.join(args.dir, "inputs.npz")) as data:
    for name, n, h, w, c, resize in CASES:
      key = name.split()[0]
      result = inception.extract_features(variables, data[key], batch_size=n, resize=resize)
      for out, value in result.items():
        outputs[f"{key}/{out}"] = value
      if resize and (h, w) != (inception.INPUT_SIZE,) * 2:
        # Control: jax.image.resize's default antialias=True instead of our antialias=False.
        x = np.repeat(data[key], 3 // c, axis=-1)
        x = jax.image.resize(x, (n, inception.INPUT_SIZE, inception.INPUT_SIZE, 3), "bilinear",
                             antialias=True)
        result = inception.extract_features(variables, np.asarray(x), batch_size=n,
                                            resize=False)
        for out, value in result.items():
          outputs[f"{key}+antialias/{out}"] = value
    # Control: the pool branches with count_include_pad=True (torchvision's, not TF's, pooling).
    exclude_pad = inception.avg_pool_3x3_exclude_pad
    inception.avg_pool_3x3_exclude_pad = lambda x: jax.lax.reduce_window(
        x, 0.0, jax.lax.add, (1, 3, 3, 1), (1, 1, 1, 1), ((0, 0), (1, 1), (1, 1), (0, 0))) / 9
    try:
      result = inception.InceptionV3().apply(variables, data["299x299x3"])
    finally:
      inception.avg_pool_3x3_exclude_pad = exclude_pad
    for out, value in result.items():
      outputs[f"299x299x3+include_pad/{out}"] = np.asarray(value)
  np.savez(os.path.join(args.dir, "jax_outputs.npz"), **outputs)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--side", choices=("torch", "jax"), default="torch")
  parser.add_argument("--jax_python", default="/work/venv/bin/python",
                      help="A Python with jaxgan's dependencies.")
  parser.add_argument("--pth_pythonpath", default="",
                      help="If set, also convert a .pth with this Python (which has torch) plus "
                           "this extra sys.path entry (the JAX venv's site-packages).")
  parser.add_argument("--dir", default="")
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args()
  if args.side == "jax":
    jax_side(args)
  else:
    torch_side(args)


if __name__ == "__main__":
  main()
