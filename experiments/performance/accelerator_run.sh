#!/bin/bash
# The accelerator measurements of docs/performance.md, as one script (one device lease).
# Run from the repository root on a machine with a GPU, jax[cuda] and (for the peers) torch
# with CUDA; everything it prints goes to stdout and, when OUT is set, to $OUT/accelerator.log.
#   bash experiments/performance/accelerator_run.sh [SECTION...]
# Sections (default: peers cache, ~10 minutes: two calls of 5 if one call may not take 10;
# `all` = every section, ~20 minutes on one H200):
#   peers     jaxgan vs PyTorch eager / torch.compile / CUDA graphs on the same GPU: the seed
#             DCGAN at batch 64, 256 and 1024, the MLP GAN at 256; images/s, ratio, compile
#             time, peak memory, FLOPs per step and achieved TFLOP/s beside the measured
#             matmul peak (~6 minutes)
#   cache     the tutorial's schedule (11,700 steps at batch 256) from a cold and from a warm
#             persistent compilation cache, and time to the first step of the recipe's
#             command, cold and warm (~2 minutes)
#   baseline  the 2026-11-30 table: CPU parity, batch sweep, steps_per_dispatch, larger
#             recipes (~10 minutes)
# PY picks the interpreter (it must have jax and torch); every command has a time limit, so
# one that hangs costs its limit, not the lease.
set -u
PY=${PY:-python3}
LOG=${OUT:-/tmp}/accelerator.log
SECTIONS=${*:-peers cache}
[ "$SECTIONS" = all ] && SECTIONS="peers cache baseline"
export PYTHONPATH=${PYTHONPATH:-}:$PWD PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
BENCH="timeout 420 $PY -m jaxgan.benchmark"
PEERS="--peers_dir=experiments/performance/peers --torch_python=$PY --peer_timeout=150"

peers() {
  # The peers' step is the tutorial's one-pass step: jaxgan's update_order=simultaneous; at
  # batch 256 --ablation adds jaxgan's default (alternating, ~4/3 of the work). A PyTorch mode
  # whose compilation passes --peer_timeout loses its row only.
  echo "## jaxgan vs PyTorch on this GPU (synthetic MNIST-shaped data)"
  for b in 64 256 1024; do
    $BENCH --config=configs/dcgan_tutorial.py --config.batch_size=$b --config.update_order=simultaneous \
      --steps=1000 --repeats=1 $PEERS --peer_steps=300 $([ $b = 256 ] && echo --ablation) \
      | grep -v '^$'
  done
  echo "## MLP GAN at batch 256"
  $BENCH --config=configs/mlp_gan.py --config.batch_size=256 --config.update_order=simultaneous \
    --steps=1000 --repeats=1 $PEERS --peer_steps=300 | grep -v '^$'
}

cache() {
  local dir
  dir=$(mktemp -d)
  echo "## the tutorial's schedule, 11,700 steps at batch 256: cold cache, then warm (wall time of the whole command)"
  for run in cold warm; do
    local start=$SECONDS
    $BENCH --config=configs/dcgan_tutorial.py --config.batch_size=256 --steps=11700 --repeats=1 \
      --compilation_cache="$dir/xla" | grep -E '^\| jaxgan|TFLOP'
    echo "$run cache: whole command $((SECONDS - start)) s"
  done
  echo "## time to the first step of the recipe's command (20 steps; off / cold / repeat / resume)"
  timeout 300 $PY experiments/performance/compile_cache.py --config=configs/dcgan_tutorial.py --repeats=1
  rm -rf "$dir"
}

baseline() {
  echo "## parity with the CPU (5 DCGAN steps, batch 64)"
  timeout 120 $PY experiments/performance/device_parity.py --config=configs/dcgan_tutorial.py
  timeout 120 $PY experiments/performance/device_parity.py --config=configs/dcgan_tutorial.py --precision=highest
  echo "## seed DCGAN: images/s and peak memory against batch size"
  for b in 32 64 256 1024; do
    $BENCH --config=configs/dcgan_tutorial.py --config.batch_size=$b --steps=300 --repeats=3 | grep -v '^$'
  done
  echo "## the same schedule, 50 steps per call (config.steps_per_dispatch; 234 calls)"
  $BENCH --config=configs/dcgan_tutorial.py --config.batch_size=256 --config.steps_per_dispatch=50 --steps=234 --repeats=1 | grep -v '^$'
  echo "## MLP GAN"
  for b in 256 1024; do
    $BENCH --config=configs/mlp_gan.py --config.batch_size=$b --steps=300 --repeats=3 | grep -v '^$'
  done
  echo "## larger recipes"
  $BENCH --config=configs/dcgan_celeba.py --image_shape=64,64,3 --steps=100 --repeats=3 | grep -v '^$'
  $BENCH --config=configs/sngan_cifar10.py --image_shape=32,32,3 --steps=50 --repeats=3 | grep -v '^$'
}

{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  $PY -c "import jax, flax, optax, sys; print('python', sys.version.split()[0], 'jax', jax.__version__, 'flax', flax.__version__, 'optax', optax.__version__, jax.devices())"
  $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())"
  for section in $SECTIONS; do
    "$section"
  done
} 2>&1 | tee "$LOG"
