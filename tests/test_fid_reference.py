"""FID's input path and network against golden outputs of the references themselves
(tests/data/fid_reference.npz, written by tests/data/make_fid_reference.py with clean-fid,
pytorch-fid, torch, PIL and TensorFlow: tests/data/README.md)."""
from __future__ import annotations

import os

import numpy as np
import pytest

from jaxgan.evaluation import inception, resizing
from tests import golden_weights

GOLDEN = os.path.join(os.path.dirname(__file__), "data", "fid_reference.npz")


@pytest.fixture(scope="module")
def golden():
  with np.load(GOLDEN) as data:
    return {k: data[k] for k in data.files}


@pytest.mark.parametrize("name", resizing.RESIZES)
def test_resizes_match_their_references(golden, name):
  """clean: clean-fid's PIL bicubic resizer; legacy_pytorch: clean-fid's F.interpolate resizer;
  legacy_tensorflow: tf.compat.v1.image.resize_bilinear. Up and down, by non-integer factors,
  non-square.

  Tolerance 2e-3 on [0, 255] pixels: the references compute source coordinates and weights in
  float32 (the largest difference seen is 1.3e-3, bilinear shrinking 120x90 -> 31x23; 5e-5 for
  PIL, which works in float64); a half-pixel shift, a wrong antialias or a swapped axis moves
  pixels by tens.
  """
  for i in range(4):
    image = golden[f"resize_input_{i}"][None].astype(np.float32)
    size = tuple(int(v) for v in golden[f"resize_size_{i}"])
    got = np.asarray(resizing.resize(image, size, name))[0]
    np.testing.assert_allclose(got, golden[f"{name}_{i}"], atol=2e-3, rtol=0, err_msg=str(i))


def test_range_and_rounding_by_hand():
  pixels = np.array([0.0, 127.5, 128.0, 255.0], np.float32)
  np.testing.assert_allclose(resizing.to_network_range(pixels, "legacy_pytorch"),
                             [-1.0, 0.0, 1 / 255, 1.0], atol=1e-7)
  np.testing.assert_allclose(resizing.to_network_range(pixels, "clean"),
                             [-1.0, -0.5 / 128, 0.0, 127 / 128], atol=1e-7)
  # 2 * (x + 1) * 127.5 rounded: -1 -> 0, 1 -> 255; 0.5/127.5 below 0 rounds to 127.
  np.testing.assert_array_equal(
      resizing.quantize(np.array([-1.2, -1.0, -0.5 / 127.5 - 1e-4, 0.0, 1.0, 1.3])),
      [0, 0, 127, 128, 255, 255])
  with pytest.raises(ValueError, match="valid: clean, legacy_tensorflow, legacy_pytorch"):
    resizing.resize_matrix("bicubic", 28, 299)


def _golden_variables(golden):
  """pytorch-fid's random network: regenerated conv/fc weights + the stored BN arrays."""
  shapes = {inception._torch_name(n): inception._torch_shape(s)  # pylint: disable=protected-access
            for n, s in inception._expected_shapes().items()}  # pylint: disable=protected-access
  state = golden_weights.inception_weights(shapes.items(), int(golden["seed"]))
  state.update({k[len("bn/"):]: v for k, v in golden.items() if k.startswith("bn/")})
  return inception.torch_state_dict_to_variables(state)


def test_inception_features_match_pytorch_fid(golden):
  """Fixed 28x28 grey and 64x48 RGB uint8 images through two protocols' input paths and the
  network, against pytorch-fid on the same weights:
    legacy_pytorch: pytorch-fid's own wrapper (resize inside, 2x - 1);
    clean: clean-fid's `clean` resizer, (x - 128) / 128, pytorch-fid's blocks.

  Tolerance: relative L2 error 1e-4 per output. Seen: <= 2e-6 (float32 round-off through 94
  layers); the two images of a batch differ by 5e-2 relative, and the wrong normalisation
  (2x - 1 instead of (x - 128) / 128), a resize without its clip or its half-pixel offset
  fail it (tried).
  """
  variables = _golden_variables(golden)
  for kind in ("gray", "rgb"):
    images = golden[f"images_{kind}"].astype(np.float32) / 127.5 - 1.0
    for protocol in ("legacy_pytorch", "clean"):
      out = inception.features_of(variables, images, protocol)
      for output in ("pool", "logits"):
        want = golden[f"{protocol}_{output}_{kind}"]
        error = np.linalg.norm(np.asarray(out[output]) - want) / np.linalg.norm(want)
        assert error < 1e-4, (kind, protocol, output, error)
