"""Metrics from features against independent NumPy/SciPy references and hand-computed values.

The references below are the direct, slow forms of each definition (scipy's general matrix
square root, full pairwise distance matrices, full kernel matrices, scipy's KL divergence), so
an error in the batched / eigendecomposition-based implementations shows up as a mismatch.
"""
import math

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
import scipy.special
import scipy.stats
from scipy.spatial.distance import cdist

from jaxgan.evaluation import metrics


# ----------------------------------------------------------------------------- references


def ref_fid(real, fake):
  """FID with scipy.linalg.sqrtm of the (non-symmetric) product S1 S2."""
  mu1, mu2 = real.mean(axis=0), fake.mean(axis=0)
  s1, s2 = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
  covmean = np.real(scipy.linalg.sqrtm(s1 @ s2))
  return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def ref_mmd2(x, y):
  """Unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3: full kernel matrices, diagonals removed."""
  m, d = x.shape

  def kernel(a, b):
    return (a @ b.T / d + 1.0) ** 3

  off_diagonal = ~np.eye(m, dtype=bool)
  k_xx, k_yy, k_xy = kernel(x, x), kernel(y, y), kernel(x, y)
  return (k_xx[off_diagonal].mean() + k_yy[off_diagonal].mean() - 2.0 * k_xy.mean())


def ref_inception_score(p, splits):
  scores = []
  for chunk in np.array_split(p, splits):
    marginal = chunk.mean(axis=0)
    scores.append(np.exp(np.mean([scipy.stats.entropy(row, marginal) for row in chunk])))
  return np.mean(scores), np.std(scores)


def ref_radii(x, k):
  # Row i of the sorted self-distance matrix starts with d(i, i) = 0: index k is the k-th other.
  return np.sort(cdist(x, x), axis=1)[:, k]


def ref_precision_recall(real, fake, k):
  r_real, r_fake = ref_radii(real, k), ref_radii(fake, k)
  d = cdist(fake, real)  # [M, N]
  precision = np.mean(np.any(d <= r_real[None, :], axis=1))
  recall = np.mean(np.any(d.T <= r_fake[None, :], axis=1))
  return precision, recall


def ref_density_coverage(real, fake, k):
  r_real = ref_radii(real, k)
  d = cdist(fake, real)  # [M, N]
  density = np.sum(d <= r_real[None, :]) / (k * len(fake))
  coverage = np.mean(np.any(d <= r_real[None, :], axis=0))
  return density, coverage


def two_sets(n_real=400, n_fake=350, dim=16, seed=0):
  """Real: correlated Gaussian; fake: a shifted, wider, differently correlated one."""
  rng = np.random.default_rng(seed)
  real = rng.normal(size=(n_real, dim)) @ rng.normal(size=(dim, dim)) * 0.5 + 1.0
  fake = rng.normal(size=(n_fake, dim)) @ rng.normal(size=(dim, dim)) * 0.6 + 1.3
  return real, fake


# ----------------------------------------------------------------------------- FeatureStats


def test_feature_stats_streamed_in_uneven_chunks_matches_numpy():
  rng = np.random.default_rng(1)
  # A large common offset: a naive sum / sum-of-squares accumulator loses ~8 digits here.
  x = rng.normal(size=(1000, 12)) * np.linspace(0.1, 3.0, 12) + 1e4
  stats = metrics.FeatureStats(12)
  start = 0
  for size in [1, 0, 7, 300, 92, 600]:
    stats.update(x[start:start + size])
    start += size
  assert stats.count == 1000
  np.testing.assert_allclose(stats.mean(), x.mean(axis=0), rtol=1e-13)
  np.testing.assert_allclose(stats.covariance(), np.cov(x, rowvar=False), rtol=1e-9, atol=1e-12)
  assert stats.mean().dtype == np.float64 and stats.covariance().dtype == np.float64


def test_feature_stats_internal_chunking_and_jax_input(monkeypatch):
  monkeypatch.setattr(metrics, "_STATS_CHUNK", 3)  # Force many internal merges.
  x = np.random.default_rng(2).normal(size=(50, 5)).astype(np.float32)
  stats = metrics.FeatureStats(5)
  stats.update(jnp.asarray(x))
  x64 = x.astype(np.float64)
  np.testing.assert_allclose(stats.mean(), x64.mean(axis=0), rtol=1e-12, atol=1e-15)
  np.testing.assert_allclose(stats.covariance(), np.cov(x64, rowvar=False), rtol=1e-12,
                             atol=1e-15)


def test_feature_stats_save_load_round_trip(tmp_path):
  x = np.random.default_rng(3).normal(size=(120, 6))
  stats = metrics.FeatureStats(6)
  stats.update(x[:100])
  path = tmp_path / "reference_stats"  # No extension: must be written at exactly this path.
  stats.save(path)
  assert path.exists()
  loaded = metrics.FeatureStats.load(path)
  assert loaded.count == 100 and loaded.dim == 6
  np.testing.assert_array_equal(loaded.mean(), stats.mean())
  np.testing.assert_array_equal(loaded.covariance(), stats.covariance())
  with np.load(path) as data:  # The standard names other FID tools read.
    np.testing.assert_array_equal(data["mu"], stats.mean())
    np.testing.assert_allclose(data["sigma"], stats.covariance())
  loaded.update(x[100:])  # Resumable: equals statistics of all 120.
  np.testing.assert_allclose(loaded.covariance(), np.cov(x, rowvar=False), rtol=1e-12)


def test_feature_stats_refuses_bad_input(tmp_path):
  stats = metrics.FeatureStats(4)
  with pytest.raises(ValueError, match="shape"):
    stats.update(np.zeros((3, 5)))
  with pytest.raises(ValueError, match="non-finite"):
    stats.update(np.array([[0.0, np.nan, 0.0, 0.0]]))
  with pytest.raises(ValueError, match="floating"):
    stats.update(np.zeros((3, 4), np.int32))
  with pytest.raises(ValueError, match="at least 1"):
    stats.mean()
  stats.update(np.ones((1, 4)))
  with pytest.raises(ValueError, match="at least 2"):
    stats.covariance()
  with pytest.raises(ValueError, match="dim"):
    metrics.FeatureStats(0)
  bad = tmp_path / "bad.npz"
  np.savez(bad, mu=np.zeros(3))
  with pytest.raises(ValueError, match="missing"):
    metrics.FeatureStats.load(bad)


# ----------------------------------------------------------------------------- FID


def test_fid_matches_scipy_sqrtm_reference():
  real, fake = two_sets(dim=32)
  expected = ref_fid(real, fake)
  assert expected > 1.0  # Non-trivial: differing means and non-commuting covariances.
  np.testing.assert_allclose(metrics.fid_from_features(real, fake), expected, rtol=1e-7)
  # The same through explicit statistics and frechet_distance, in the other order.
  mu1, s1 = fake.mean(axis=0), np.cov(fake, rowvar=False)
  mu2, s2 = real.mean(axis=0), np.cov(real, rowvar=False)
  np.testing.assert_allclose(metrics.frechet_distance(mu1, s1, mu2, s2), expected, rtol=1e-7)


def test_fid_of_a_set_with_itself_is_zero():
  real, _ = two_sets(dim=32)
  value = metrics.fid_from_features(real, real)
  scale = np.trace(np.cov(real, rowvar=False))
  assert abs(value) < 1e-9 * scale


def test_fid_of_a_shifted_copy_is_the_squared_shift():
  real, _ = two_sets(dim=16)
  v = np.linspace(-1.0, 2.0, 16)
  np.testing.assert_allclose(metrics.fid_from_features(real, real + v), v @ v, rtol=1e-9)


def test_fid_hand_computed_diagonal_case():
  mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
  a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 4.0, 1.0])
  # ||dmu||^2 = 1 + 0 + 4; sum (sqrt a - sqrt b)^2 = 1 + 0 + 4.
  value = metrics.frechet_distance(mu1, np.diag(a), mu2, np.diag(b))
  assert isinstance(value, float)
  np.testing.assert_allclose(value, 10.0, rtol=1e-12)


def test_fid_refuses_bad_input():
  eye = np.eye(3)
  with pytest.raises(ValueError, match="same length"):
    metrics.frechet_distance(np.zeros(3), eye, np.zeros(4), np.eye(4))
  with pytest.raises(ValueError, match="sigma2"):
    metrics.frechet_distance(np.zeros(3), eye, np.zeros(3), np.eye(4))
  with pytest.raises(ValueError, match="non-finite"):
    metrics.frechet_distance(np.array([0.0, np.inf, 0.0]), eye, np.zeros(3), eye)
  with pytest.raises(ValueError, match="different dimensions"):
    metrics.fid_from_features(np.zeros((5, 3)), np.zeros((5, 4)))
  with pytest.raises(ValueError, match="2-D"):
    metrics.fid_from_features(np.zeros(5), np.zeros((5, 1)))
  with pytest.raises(ValueError, match="at least 2"):
    metrics.fid_from_features(np.zeros((1, 3)), np.zeros((5, 3)))
  with pytest.raises(ValueError, match="floating"):
    metrics.fid_from_features(np.zeros((5, 3), np.int64), np.zeros((5, 3)))
  with pytest.raises(ValueError, match="non-finite"):
    metrics.fid_from_features(np.full((5, 3), np.nan), np.zeros((5, 3)))


# ----------------------------------------------------------------------------- KID


def test_kid_hand_computed():
  # d = 1, k(a, b) = (ab + 1)^3. Kxx off-diagonal: k(0,1) = 1 twice -> mean 1; Kyy: k(1,2) = 27
  # -> 27; Kxy: k(0,1) + k(0,2) + k(1,1) + k(1,2) = 1 + 1 + 8 + 27 = 37 -> mean 9.25.
  # MMD^2 = 1 + 27 - 2 * 9.25 = 9.5.
  out = metrics.kernel_inception_distance(np.array([[0.0], [1.0]]), np.array([[1.0], [2.0]]),
                                          num_subsets=1, subset_size=2)
  np.testing.assert_allclose(out["mean"], 9.5, rtol=1e-12)
  assert out["std"] == 0.0


def test_kid_full_set_matches_reference():
  real, fake = two_sets(n_real=300, n_fake=300, dim=24)
  # One subset of all points: only a permutation, to which MMD^2 is invariant.
  out = metrics.kernel_inception_distance(real, fake, num_subsets=1, subset_size=10_000)
  np.testing.assert_allclose(out["mean"], ref_mmd2(real, fake), rtol=1e-10)


def test_kid_subsets_match_reference_per_subset():
  real, fake = two_sets(n_real=400, n_fake=350, dim=24, seed=4)
  out = metrics.kernel_inception_distance(real, fake, num_subsets=7, subset_size=120, seed=5)
  subsets = list(metrics.kid_subset_indices(400, 350, 7, 120, seed=5))
  assert len(subsets) == 7
  for ri, fi in subsets:
    assert len(ri) == len(fi) == 120
    assert len(set(ri)) == 120 and len(set(fi)) == 120  # Without replacement.
  values = [ref_mmd2(real[ri], fake[fi]) for ri, fi in subsets]
  np.testing.assert_allclose(out["mean"], np.mean(values), rtol=1e-10)
  np.testing.assert_allclose(out["std"], np.std(values), rtol=1e-8)
  assert out["std"] > 0
  # The seed decides the subsets.
  other = metrics.kernel_inception_distance(real, fake, num_subsets=7, subset_size=120, seed=6)
  assert other["mean"] != out["mean"]


def test_kid_is_unbiased_near_zero_for_one_distribution_and_positive_for_two():
  rng = np.random.default_rng(7)
  a, b = rng.normal(size=(500, 8)), rng.normal(size=(500, 8))
  same = metrics.kernel_inception_distance(a, b, num_subsets=50, subset_size=100)
  assert abs(same["mean"]) < 2 * same["std"]
  different = metrics.kernel_inception_distance(a, b * 1.5 + 0.5, num_subsets=50,
                                                subset_size=100)
  assert different["mean"] > 3 * different["std"] > 0
  assert different["mean"] > 20 * abs(same["mean"])


def test_kid_refuses_bad_input():
  x = np.zeros((10, 3))
  with pytest.raises(ValueError, match="different dimensions"):
    metrics.kernel_inception_distance(x, np.zeros((10, 4)))
  with pytest.raises(ValueError, match="subset_size"):
    metrics.kernel_inception_distance(x, x, subset_size=1)
  with pytest.raises(ValueError, match="num_subsets"):
    metrics.kernel_inception_distance(x, x, num_subsets=0)


# ----------------------------------------------------------------------------- IS


def test_inception_score_of_confident_uniform_predictions_is_the_class_count():
  labels = np.arange(1000) % 10  # Each consecutive split of 100 holds every class 10 times.
  out = metrics.inception_score(np.eye(10)[labels], num_splits=10)
  np.testing.assert_allclose(out["mean"], 10.0, rtol=1e-12)
  np.testing.assert_allclose(out["std"], 0.0, atol=1e-12)


def test_inception_score_of_identical_predictions_is_one():
  p = np.random.default_rng(8).dirichlet(np.ones(7))
  out = metrics.inception_score(np.tile(p, (200, 1)), num_splits=4)
  np.testing.assert_allclose(out["mean"], 1.0, rtol=1e-12)


@pytest.mark.parametrize("n", [500, 503])  # 503: splits of unequal size.
def test_inception_score_matches_scipy_reference(n):
  rng = np.random.default_rng(9)
  p = rng.dirichlet(np.full(12, 0.3), size=n)
  p[::5, :3] = 0.0  # Exact zeros: 0 log 0 = 0.
  p /= p.sum(axis=1, keepdims=True)
  out = metrics.inception_score(p, num_splits=10)
  mean, std = ref_inception_score(p, 10)
  assert out["mean"] > 1.5 and out["std"] > 0
  np.testing.assert_allclose(out["mean"], mean, rtol=1e-10)
  np.testing.assert_allclose(out["std"], std, rtol=1e-8)


def test_inception_score_from_logits_uses_a_stable_softmax():
  logits = np.random.default_rng(10).normal(size=(300, 6)) * 3.0
  logits[0] = [1000.0, -1000.0, 0.0, 0.0, 0.0, 0.0]  # exp overflows without the max shift.
  out = metrics.inception_score_from_logits(logits.astype(np.float32), num_splits=3)
  mean, std = ref_inception_score(scipy.special.softmax(logits.astype(np.float64), axis=1), 3)
  np.testing.assert_allclose(out["mean"], mean, rtol=1e-6)
  np.testing.assert_allclose(out["std"], std, rtol=1e-5)


def test_inception_score_refuses_bad_input():
  with pytest.raises(ValueError, match="sum to 1"):
    metrics.inception_score(np.full((10, 4), 0.3))
  with pytest.raises(ValueError, match="negative"):
    metrics.inception_score(np.array([[1.5, -0.5]] * 10))
  with pytest.raises(ValueError, match="2-D"):
    metrics.inception_score(np.full(10, 0.1))
  with pytest.raises(ValueError, match="num_splits"):
    metrics.inception_score(np.eye(4), num_splits=5)
  with pytest.raises(ValueError, match="non-finite"):
    metrics.inception_score_from_logits(np.array([[np.nan, 0.0]]), num_splits=1)


# ----------------------------------------------------------------------------- k-NN metrics


def test_knn_radii_match_cdist_reference():
  real, _ = two_sets()
  for batch_size in [1000, 64]:
    np.testing.assert_allclose(metrics.knn_radii(real, k=3, batch_size=batch_size),
                               ref_radii(real, 3), rtol=1e-12)
  # Duplicated points: the k-th *other* point is the copy, at distance exactly 0 (k = 1), or
  # the (k-1)-th other point of the original (k = 2: each neighbour comes twice).
  dup = np.concatenate([real[:50], real[:50]])
  np.testing.assert_array_equal(metrics.knn_radii(dup, k=1, batch_size=32), np.zeros(100))
  np.testing.assert_allclose(metrics.knn_radii(dup, k=3, batch_size=32),
                             np.tile(ref_radii(real[:50], 1), 2), rtol=1e-12)


@pytest.mark.parametrize("batch_size", [1000, 64, 37])
def test_precision_recall_match_cdist_reference(batch_size):
  real, fake = two_sets()
  out = metrics.precision_recall(real, fake, k=3, batch_size=batch_size)
  precision, recall = ref_precision_recall(real, fake, 3)
  assert 0.05 < precision < 0.95 and 0.05 < recall < 0.95  # Non-trivial values.
  # Exact: both are counts over a few hundred points.
  assert out["precision"] == precision
  assert out["recall"] == recall


def test_knn_metrics_with_a_large_common_offset():
  # Features far from the origin: the float32 screen works on centred copies.
  real, fake = two_sets(dim=8, seed=3)
  real, fake = real + 1e4, fake + 1e4
  out = {**metrics.precision_recall(real, fake, k=3), **metrics.density_coverage(real, fake)}
  precision, recall = ref_precision_recall(real, fake, 3)
  density, coverage = ref_density_coverage(real, fake, 5)
  assert out == pytest.approx({"precision": precision, "recall": recall, "density": density,
                               "coverage": coverage}, rel=1e-12)


@pytest.mark.parametrize("batch_size", [1000, 64, 37])
def test_density_coverage_match_cdist_reference(batch_size):
  real, fake = two_sets()
  out = metrics.density_coverage(real, fake, k=5, batch_size=batch_size)
  density, coverage = ref_density_coverage(real, fake, 5)
  assert 0.05 < density and 0.05 < coverage < 0.95
  assert out["density"] == pytest.approx(density, rel=1e-12)
  assert out["coverage"] == coverage


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_knn_metrics_of_identical_sets(dtype):
  real = two_sets()[0].astype(dtype)
  pr = metrics.precision_recall(real, real.copy(), k=3, batch_size=64)
  assert pr == {"precision": 1.0, "recall": 1.0}
  dc = metrics.density_coverage(real, real.copy(), k=5, batch_size=64)
  assert dc["coverage"] == 1.0
  # Every real ball holds its centre and its k nearest neighbours, the k-th exactly on the
  # boundary: density = (k + 1) / k exactly (float32 distances alone lose some of those).
  assert dc["density"] == pytest.approx(6 / 5, rel=1e-12)


def test_knn_metrics_hand_computed_with_points_on_ball_boundaries():
  # 1-D, k = 1. Real 0, 1, 3, 6, 10 have radii 1, 1, 2, 3, 4. Fake -1 lies exactly on ball 0's
  # boundary (and in no other ball); fake 8 is inside balls 6 and 10; fake 14 exactly on ball
  # 10's boundary. Fake radii (to the nearest other fake): 9, 6, 6, which hold every real point.
  real = np.array([0.0, 1.0, 3.0, 6.0, 10.0])[:, None]
  fake = np.array([-1.0, 8.0, 14.0])[:, None]
  assert metrics.precision_recall(real, fake, k=1) == {"precision": 1.0, "recall": 1.0}
  np.testing.assert_array_equal(metrics.knn_radii(real, k=1), [1.0, 1.0, 2.0, 3.0, 4.0])
  out = metrics.density_coverage(real, fake, k=1, batch_size=2)
  # density = (1 + 2 + 1) / (k * 3); coverage: balls 0, 6 and 10 of 5 hold a fake.
  assert out == pytest.approx({"density": 4 / 3, "coverage": 3 / 5}, rel=1e-12)
  # Without fake -1, ball 0 is empty and the remaining boundary point still counts.
  out = metrics.density_coverage(real, fake[1:], k=1)
  assert out == pytest.approx({"density": 3 / 2, "coverage": 2 / 5}, rel=1e-12)


def test_knn_metrics_of_far_apart_sets_are_zero():
  real, _ = two_sets()
  far = real + 1000.0
  assert metrics.precision_recall(real, far, k=3) == {"precision": 0.0, "recall": 0.0}
  assert metrics.density_coverage(real, far, k=5) == {"density": 0.0, "coverage": 0.0}


def test_knn_metrics_refuse_bad_input():
  real, fake = two_sets(n_real=10, n_fake=4, dim=3)
  with pytest.raises(ValueError, match="fake points"):
    metrics.precision_recall(real, fake, k=4)  # Fake balls need k < 4.
  assert metrics.density_coverage(real, fake, k=4)["coverage"] >= 0  # Only real balls needed.
  with pytest.raises(ValueError, match="real points"):
    metrics.density_coverage(real, fake, k=10)
  with pytest.raises(ValueError, match="different dimensions"):
    metrics.precision_recall(real, np.zeros((10, 4)))
  with pytest.raises(ValueError, match="non-finite"):
    metrics.density_coverage(real, np.full((10, 3), np.inf))
  with pytest.raises(ValueError, match="2-D"):
    metrics.knn_radii(np.zeros(10), k=1)
  with pytest.raises(ValueError, match="batch_size"):
    metrics.knn_radii(real, k=1, batch_size=0)
  with pytest.raises(ValueError, match="k "):
    metrics.knn_radii(real, k=0)


# ----------------------------------------------------------------------------- modes


def test_class_coverage_single_class():
  out = metrics.class_coverage(np.full(50, 3), num_classes=10)
  assert out["covered"] == 1 and out["num_classes"] == 10
  assert out["histogram"] == [0.0] * 3 + [1.0] + [0.0] * 6
  np.testing.assert_allclose(out["kl"], math.log(10), rtol=1e-12)


def test_class_coverage_uniform_min_count_and_reference():
  out = metrics.class_coverage(np.arange(100) % 10, num_classes=10)
  assert out["covered"] == 10 and out["kl"] == pytest.approx(0.0, abs=1e-15)
  # Counts 5, 1, 0, 0: with min_count 2 only class 0 counts as covered.
  out = metrics.class_coverage([0, 0, 0, 0, 0, 1], num_classes=4, min_count=2)
  assert out["covered"] == 1
  # Histogram (3/4, 1/4) against (1/2, 1/2): KL = 3/4 log(3/2) + 1/4 log(1/2).
  out = metrics.class_coverage(np.array([0, 0, 0, 1]), num_classes=2,
                               reference_probs=[0.5, 0.5])
  np.testing.assert_allclose(out["kl"], 0.75 * math.log(1.5) + 0.25 * math.log(0.5),
                             rtol=1e-12)
  # A reference that rules out a predicted class: infinite KL.
  out = metrics.class_coverage(np.array([0, 1]), num_classes=2, reference_probs=[1.0, 0.0])
  assert out["kl"] == float("inf")


def test_stacked_mode_ids_hand_values():
  ids = metrics.stacked_mode_ids(np.array([[1, 2, 3], [0, 0, 0], [9, 9, 9], [0, 9, 5]]))
  np.testing.assert_array_equal(ids, [123, 0, 999, 95])
  out = metrics.class_coverage(ids, num_classes=1000)
  assert out["covered"] == 4 and len(out["histogram"]) == 1000
  np.testing.assert_allclose(out["kl"], math.log(1000 / 4), rtol=1e-12)


def test_mode_metrics_refuse_bad_input():
  with pytest.raises(ValueError, match=r"\[0, 10\)"):
    metrics.class_coverage(np.array([0, 10]), num_classes=10)
  with pytest.raises(ValueError, match="integers"):
    metrics.class_coverage(np.array([0.0, 1.0]), num_classes=10)
  with pytest.raises(ValueError, match="shape"):
    metrics.class_coverage(np.array([0, 1]), num_classes=3, reference_probs=[0.5, 0.5])
  with pytest.raises(ValueError, match="sum to 1"):
    metrics.class_coverage(np.array([0, 1]), num_classes=2, reference_probs=[0.5, 0.6])
  with pytest.raises(ValueError, match="0..9"):
    metrics.stacked_mode_ids(np.array([[1, 2, 10]]))
  with pytest.raises(ValueError, match=r"\[N, 3\]"):
    metrics.stacked_mode_ids(np.array([[1, 2]]))
