#!/bin/bash
# The accelerator measurements of docs/performance.md, as one script (one device lease).
# Run from the repository root on a machine with a GPU and jax[cuda]; everything it prints
# goes to stdout and, when OUT is set, to $OUT/accelerator.log. PY picks the interpreter.
set -u
PY=${PY:-python3}
LOG=${OUT:-/tmp}/accelerator.log
export PYTHONPATH=${PYTHONPATH:-}:$PWD PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  $PY -c "import jax, flax, optax, sys; print('python', sys.version.split()[0], 'jax', jax.__version__, 'flax', flax.__version__, 'optax', optax.__version__, jax.devices())"
  echo "## parity with the CPU (5 DCGAN steps, batch 64)"
  $PY experiments/performance/device_parity.py --config=configs/dcgan.py
  $PY experiments/performance/device_parity.py --config=configs/dcgan.py --precision=highest
  echo "## seed DCGAN: images/s and peak memory against batch size"
  for b in 32 64 256 1024; do
    $PY -m jaxgan.benchmark --config=configs/dcgan.py --config.batch_size=$b --steps=300 --repeats=3 | grep -v '^$'
  done
  echo "## the tutorial's schedule: 11,700 steps at batch 256 (synthetic MNIST-shaped data)"
  $PY -m jaxgan.benchmark --config=configs/dcgan.py --config.batch_size=256 --steps=11700 --repeats=1 | grep -v '^$'
  echo "## the same schedule, 50 steps per call (config.steps_per_dispatch; 234 calls)"
  $PY -m jaxgan.benchmark --config=configs/dcgan.py --config.batch_size=256 --config.steps_per_dispatch=50 --steps=234 --repeats=1 | grep -v '^$'
  echo "## seed DCGAN, batch 64 and 256, 10 steps per call"
  for b in 64 256; do
    $PY -m jaxgan.benchmark --config=configs/dcgan.py --config.batch_size=$b --config.steps_per_dispatch=10 --steps=30 --repeats=3 | grep -v '^$'
  done
  echo "## MLP GAN"
  for b in 256 1024; do
    $PY -m jaxgan.benchmark --config=configs/mlp_gan.py --config.batch_size=$b --steps=300 --repeats=3 | grep -v '^$'
  done
  echo "## larger recipes"
  $PY -m jaxgan.benchmark --config=configs/dcgan_celeba.py --image_shape=64,64,3 --steps=100 --repeats=3 | grep -v '^$'
  $PY -m jaxgan.benchmark --config=configs/sngan_cifar10.py --image_shape=32,32,3 --steps=50 --repeats=3 | grep -v '^$'
} 2>&1 | tee "$LOG"
