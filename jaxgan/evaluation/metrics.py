"""Sample-quality metrics computed from feature arrays; every result is a plain Python value.

The feature extractor (an Inception network, an MNIST classifier, ...) lives elsewhere; the
functions here take its outputs, NumPy or JAX arrays of shape [N, D], and return floats or
dicts of floats, ready for logging and JSON:

  FID        `FeatureStats` (streamed mean/covariance), `frechet_distance`, `fid_from_features`
  KID        `kernel_inception_distance` (unbiased MMD^2, cubic polynomial kernel)
  IS         `inception_score`, `inception_score_from_logits` (from class probabilities)
  P/R, D/C   `precision_recall`, `density_coverage`, sharing the k-NN radii of `knn_radii`
  modes      `class_coverage`, `stacked_mode_ids` (MNIST's 10 classes, Stacked MNIST's 1000),
             `mixture_modes` (2-D Gaussian mixtures: modes within 3 std, high-quality share)

Statistics (means, covariances, kernels, KL divergences) are computed in float64 NumPy: FID
subtracts traces of size ~1e2-1e3 to get differences of ~1, which float32 cannot resolve. The
k-NN metrics need N x N distance comparisons: a jitted float32 screen does those in batches on
the accelerator, and the few comparisons too close to call in float32 (including every ball's
own boundary point) are redone in float64, so they equal a float64 brute-force computation.

Invalid input (wrong rank, non-float features, mismatched dimensions, non-finite values, too few
points for k) raises ValueError naming the argument and the problem.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import os
from typing import Dict, Iterator, Tuple, Union

import jax
import jax.numpy as jnp
import numpy as np
from jaxgan.runtime import storage

PathLike = Union[str, "os.PathLike[str]"]

# Rows converted to float64 at a time by FeatureStats.update: bounds the float64 copy of a
# large feature array (50k x 2048 would be 800 MB at once) to 4096 x dim.
_STATS_CHUNK = 4096


# ----------------------------------------------------------------------------- validation


def _as_features(x, name: str, min_points: int = 1, keep_dtype: bool = False) -> np.ndarray:
  """Validates a feature array and returns it as NumPy [N, D]: float64, or with keep_dtype its
  own float dtype (the k-NN metrics convert rows to float64 as needed, not a 50k x 2048 copy)."""
  x = np.asarray(x)
  if x.ndim != 2:
    raise ValueError(f"{name} must be a 2-D feature array [N, D]; got shape {x.shape}.")
  # jnp.issubdtype also recognises bfloat16, which NumPy does not count as floating.
  if not jnp.issubdtype(x.dtype, jnp.floating):
    raise ValueError(f"{name} must hold floating-point features; got dtype {x.dtype}.")
  if x.shape[1] < 1:
    raise ValueError(f"{name} has feature dimension 0 (shape {x.shape}).")
  if x.shape[0] < min_points:
    raise ValueError(f"{name} needs at least {min_points} points; got {x.shape[0]}.")
  if not keep_dtype:
    x = x.astype(np.float64)
  if not np.all(np.isfinite(x)):
    raise ValueError(f"{name} contains non-finite values (NaN or inf).")
  return x


def _check_same_dim(real: np.ndarray, fake: np.ndarray) -> None:
  if real.shape[1] != fake.shape[1]:
    raise ValueError(f"real and fake features have different dimensions: {real.shape[1]} vs "
                     f"{fake.shape[1]}.")


def _check_positive_int(name: str, value, minimum: int = 1) -> int:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
    raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")
  return int(value)


def _as_int_array(x, name: str, ndim: int) -> np.ndarray:
  x = np.asarray(x)
  if x.ndim != ndim:
    raise ValueError(f"{name} must be a {ndim}-D integer array; got shape {x.shape}.")
  if not np.issubdtype(x.dtype, np.integer):
    raise ValueError(f"{name} must hold integers; got dtype {x.dtype}.")
  return x.astype(np.int64)


# ----------------------------------------------------------------------------- FID


class FeatureStats:
  """Running float64 mean and covariance of features that arrive in batches.

  Each batch contributes its own mean and centred scatter matrix sum (x - mean_b)(x - mean_b)^T,
  merged with the running ones by Chan et al.'s parallel formula:
    M2 = M2_a + M2_b + delta delta^T * n_a n_b / n,   delta = mean_b - mean_a.
  Unlike accumulating sum(x) and sum(x x^T), this never subtracts two large nearly equal
  numbers, so features with a large common offset lose no precision.
  """

  def __init__(self, dim: int):
    self.dim = _check_positive_int("dim", dim)
    self._count = 0
    self._mean = np.zeros(self.dim, np.float64)
    self._m2 = np.zeros((self.dim, self.dim), np.float64)  # Sum of centred outer products.

  @property
  def count(self) -> int:
    """Number of feature vectors seen so far."""
    return self._count

  def update(self, features) -> None:
    """Adds a batch of features [n, dim] (any float dtype; n = 0 is a no-op)."""
    x = np.asarray(features)
    if x.ndim != 2 or x.shape[1] != self.dim:
      raise ValueError(f"features must have shape [n, {self.dim}]; got {x.shape}.")
    if not jnp.issubdtype(x.dtype, jnp.floating):
      raise ValueError(f"features must be floating point; got dtype {x.dtype}.")
    for start in range(0, x.shape[0], _STATS_CHUNK):
      chunk = x[start:start + _STATS_CHUNK].astype(np.float64)
      if not np.all(np.isfinite(chunk)):
        raise ValueError("features contain non-finite values (NaN or inf).")
      self._merge(chunk)

  def _merge(self, chunk: np.ndarray) -> None:
    n_b = chunk.shape[0]
    mean_b = chunk.mean(axis=0)
    centred = chunk - mean_b
    m2_b = centred.T @ centred
    n_a = self._count
    n = n_a + n_b
    delta = mean_b - self._mean
    self._mean = self._mean + delta * (n_b / n)
    self._m2 = self._m2 + m2_b + np.outer(delta, delta) * (n_a * n_b / n)
    self._count = n

  def mean(self) -> np.ndarray:
    """The mean [dim] float64."""
    if self._count < 1:
      raise ValueError("FeatureStats.mean needs at least 1 feature vector; got none.")
    return self._mean.copy()

  def covariance(self) -> np.ndarray:
    """The unbiased (ddof=1) covariance [dim, dim] float64, as np.cov(x, rowvar=False)."""
    if self._count < 2:
      raise ValueError(f"FeatureStats.covariance needs at least 2 feature vectors; got "
                       f"{self._count}.")
    # Symmetrise away the last-bit asymmetry of the matrix products.
    return (self._m2 + self._m2.T) / (2.0 * (self._count - 1))

  @classmethod
  def from_features(cls, features) -> "FeatureStats":
    """Statistics of one feature array [N, D]."""
    x = _as_features(features, "features")
    stats = cls(x.shape[1])
    stats.update(x)
    return stats

  def save(self, path: PathLike) -> None:
    """Writes mu, sigma (nan when count < 2), m2 and count to an .npz file at exactly `path`.

    m2 (the scatter sum) makes a loaded object resumable with further `update`s; mu and sigma
    are what other FID tools read.
    """
    sigma = (self.covariance() if self._count >= 2 else
             np.full((self.dim, self.dim), np.nan))
    # An open file: np.savez given a name would append ".npz" to names without it.
    with storage.output_file(path) as f:
      np.savez(f, mu=self._mean, sigma=sigma, m2=self._m2, count=np.int64(self._count))

  @classmethod
  def load(cls, path: PathLike) -> "FeatureStats":
    """Reads a file written by `save`."""
    with storage.input_file(str(path)) as f, np.load(f) as data:
      missing = {"mu", "m2", "count"} - set(data.files)
      if missing:
        raise ValueError(f"{path} is not a FeatureStats file: missing {sorted(missing)}.")
      mu = np.asarray(data["mu"], np.float64)
      m2 = np.asarray(data["m2"], np.float64)
      count = int(data["count"])
    if mu.ndim != 1 or m2.shape != (mu.shape[0], mu.shape[0]) or count < 0:
      raise ValueError(f"{path} holds inconsistent statistics: mu {mu.shape}, m2 {m2.shape}, "
                       f"count {count}.")
    stats = cls(mu.shape[0])
    stats._mean, stats._m2, stats._count = mu, m2, count
    return stats


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
  """Symmetric square root of a symmetric PSD matrix [D, D] via eigh (negative rounding -> 0)."""
  w, v = np.linalg.eigh(matrix)
  return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
  """Frechet distance between Gaussians N(mu1, sigma1), N(mu2, sigma2): mu [D], sigma [D, D].

    d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2})
  S1 S2 is not symmetric, but it is similar to sqrt(S1) S2 sqrt(S1), which is symmetric PSD, so
  Tr((S1 S2)^{1/2}) = sum_i sqrt(lambda_i(sqrt(S1) S2 sqrt(S1))): two eigh calls instead of a
  general matrix square root, with no complex parts to discard. Float64 throughout. The result
  can be a rounding error below 0 for identical inputs; it is not clipped.
  """
  mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
  sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
  if mu1.ndim != 1 or mu1.shape != mu2.shape:
    raise ValueError(f"mu1 and mu2 must be vectors of the same length; got {mu1.shape} and "
                     f"{mu2.shape}.")
  dim = mu1.shape[0]
  for name, sigma in (("sigma1", sigma1), ("sigma2", sigma2)):
    if sigma.shape != (dim, dim):
      raise ValueError(f"{name} must have shape ({dim}, {dim}) to match the means; got "
                       f"{sigma.shape}.")
  for name, value in (("mu1", mu1), ("sigma1", sigma1), ("mu2", mu2), ("sigma2", sigma2)):
    if not np.all(np.isfinite(value)):
      raise ValueError(f"{name} contains non-finite values (NaN or inf).")
  sqrt1 = _sqrt_psd(sigma1)
  inner = sqrt1 @ sigma2 @ sqrt1
  inner = (inner + inner.T) / 2.0  # eigh reads one triangle: make both agree.
  tr_covmean = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(inner), 0.0, None)))
  diff = mu1 - mu2
  return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr_covmean)


def fid_from_features(real, fake) -> float:
  """FID between feature sets real [N, D] and fake [M, D] (N, M >= 2)."""
  real = _as_features(real, "real", min_points=2)
  fake = _as_features(fake, "fake", min_points=2)
  _check_same_dim(real, fake)
  a, b = FeatureStats.from_features(real), FeatureStats.from_features(fake)
  return frechet_distance(a.mean(), a.covariance(), b.mean(), b.covariance())


# ----------------------------------------------------------------------------- KID


def kid_subset_indices(num_real: int, num_fake: int, num_subsets: int, subset_size: int,
                       seed: int = 0) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
  """The subsets `kernel_inception_distance` uses: yields (real_idx [m], fake_idx [m]) per subset.

  m = min(subset_size, num_real, num_fake); each subset draws without replacement, subsets are
  independent, all from one np.random.default_rng(seed).
  """
  m = min(subset_size, num_real, num_fake)
  rng = np.random.default_rng(seed)
  for _ in range(num_subsets):
    yield (rng.choice(num_real, size=m, replace=False),
           rng.choice(num_fake, size=m, replace=False))


def _polynomial_mmd2(x: np.ndarray, y: np.ndarray) -> float:
  """Unbiased MMD^2 of x [m, d] and y [m, d] with k(a, b) = (a.b / d + 1)^3.

    MMD^2 = sum_{i!=j} k(x_i, x_j) / (m(m-1)) + sum_{i!=j} k(y_i, y_j) / (m(m-1))
            - 2 sum_{i,j} k(x_i, y_j) / m^2
  (Binkowski et al., 2018, eq. 2 with equal sample sizes): the diagonals k(x_i, x_i) are what
  make the plain V-statistic biased upwards.
  """
  m, d = x.shape
  k_xx = (x @ x.T / d + 1.0) ** 3
  k_yy = (y @ y.T / d + 1.0) ** 3
  k_xy = (x @ y.T / d + 1.0) ** 3
  within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
  return float(within - 2.0 * k_xy.sum() / (m * m))


def kernel_inception_distance(real, fake, num_subsets: int = 100, subset_size: int = 1000,
                              seed: int = 0) -> Dict[str, float]:
  """KID between real [N, D] and fake [M, D]: {"mean", "std"} of the unbiased MMD^2 estimate.

  One estimate per subset (see `kid_subset_indices`); "std" is the population std (ddof=0)
  over subsets, the spread of one subset's estimate, not the standard error of the mean.
  Unbiased, so the mean can be slightly negative when the distributions match.
  """
  real = _as_features(real, "real", min_points=2)
  fake = _as_features(fake, "fake", min_points=2)
  _check_same_dim(real, fake)
  num_subsets = _check_positive_int("num_subsets", num_subsets)
  subset_size = _check_positive_int("subset_size", subset_size, minimum=2)
  values = [_polynomial_mmd2(real[ri], fake[fi]) for ri, fi in
            kid_subset_indices(len(real), len(fake), num_subsets, subset_size, seed)]
  return {"mean": float(np.mean(values)), "std": float(np.std(values))}


# ----------------------------------------------------------------------------- IS


def inception_score(probs, num_splits: int = 10) -> Dict[str, float]:
  """IS from class probabilities probs [N, C] (rows sum to 1): {"mean", "std"} over splits.

  The N rows are cut into `num_splits` consecutive chunks (np.array_split: sizes differ by at
  most one, no row dropped; identical to the reference implementation when num_splits divides
  N). Per chunk: exp(mean_i KL(p(y|x_i) || p(y))), with p(y) the chunk's mean prediction.
  Terms with p(y|x_i) = 0 contribute 0 (0 log 0 = 0); std is ddof=0, as is customary.
  """
  p = np.asarray(probs)
  if p.ndim != 2 or p.shape[1] < 1:
    raise ValueError(f"probs must be a 2-D array [N, C]; got shape {p.shape}.")
  if not jnp.issubdtype(p.dtype, jnp.floating):
    raise ValueError(f"probs must be floating point; got dtype {p.dtype}.")
  p = p.astype(np.float64)
  if not np.all(np.isfinite(p)):
    raise ValueError("probs contains non-finite values (NaN or inf).")
  if np.any(p < 0):
    raise ValueError("probs contains negative entries; pass logits to "
                     "inception_score_from_logits instead.")
  row_sums = p.sum(axis=1)
  if not np.allclose(row_sums, 1.0, rtol=0.0, atol=1e-3):
    worst = row_sums[np.argmax(np.abs(row_sums - 1.0))]
    raise ValueError(f"probs rows must sum to 1 (class probabilities); one sums to {worst}.")
  num_splits = _check_positive_int("num_splits", num_splits)
  if num_splits > p.shape[0]:
    raise ValueError(f"num_splits ({num_splits}) exceeds the number of samples ({p.shape[0]}).")
  scores = []
  for chunk in np.array_split(p, num_splits):
    marginal = chunk.mean(axis=0, keepdims=True)
    positive = chunk > 0
    # Where p(y|x) > 0 the marginal is > 0 too, so the log never sees 0 where it is used.
    log_ratio = np.log(np.where(positive, chunk, 1.0)) - np.log(np.where(positive, marginal, 1.0))
    kl = np.sum(np.where(positive, chunk * log_ratio, 0.0), axis=1)
    scores.append(np.exp(np.mean(kl)))
  return {"mean": float(np.mean(scores)), "std": float(np.std(scores))}


def softmax64(logits) -> np.ndarray:
  """Class probabilities [N, C] in float64 from logits (or log-probabilities) [N, C]."""
  z = np.asarray(logits, np.float64)
  e = np.exp(z - z.max(axis=1, keepdims=True))
  return e / e.sum(axis=1, keepdims=True)


def inception_score_from_logits(logits, num_splits: int = 10) -> Dict[str, float]:
  """IS from classifier logits [N, C]: float64 softmax (max subtracted), then inception_score."""
  return inception_score(softmax64(_as_features(logits, "logits")), num_splits=num_splits)


# ----------------------------------------------------------------------------- k-NN metrics
#
# Two stages. (1) Screening, jitted, float32, batch_size query rows against all N points:
# squared distances by ||q||^2 + ||p||^2 - 2 q.p (one matmul). (2) Decisions that float32 cannot
# make reliably, on the host in float64 from the original features: the k-NN radii (from the
# few nearest candidates the screen returns) and every (query, ball) pair whose float32 distance
# lies within rounding slack of the ball's radius. Borderline pairs are not rare: the k-th
# neighbour of a ball's centre sits exactly on its boundary, and any copy of it (identical sets,
# duplicated samples) must count as inside. With the float64 decisions the results equal a
# float64 brute-force computation, whatever the batch size or the device.

# Float32 candidates beyond the k+1 needed for a radius, so that rounding cannot push the true
# k-th neighbour out of the set the float64 stage sorts.
_EXTRA_CANDIDATES = 8
# Pairs decided in float64 per host step: bounds the float64 difference rows to ~32 MB.
_EXACT_ELEMENTS = 1 << 22


def _squared_distance_parts(queries: jax.Array, points: jax.Array):
  """Squared distances [b, N] (clipped at 0), and squared norms [b, 1], [1, N]."""
  q2 = jnp.sum(queries * queries, axis=1)[:, None]
  p2 = jnp.sum(points * points, axis=1)[None, :]
  # HIGHEST: full float32 on GPU/TPU too (not TF32 / bfloat16 passes), as the slack assumes.
  cross = jnp.matmul(queries, points.T, precision=jax.lax.Precision.HIGHEST)
  return jnp.maximum(q2 + p2 - 2.0 * cross, 0.0), q2, p2


@functools.partial(jax.jit, static_argnames="n")
def _nearest_candidates(queries: jax.Array, points: jax.Array, offset: jax.Array,
                        n: int) -> jax.Array:
  """Indices [b, n] of the n nearest points to each query, itself (row offset + i) first.

  The queries are rows offset.. of `points`; a row's own column is forced to the front so the
  float64 stage always finds it, whatever float32 makes of its distance to itself.
  """
  d2, _, _ = _squared_distance_parts(queries, points)
  rows = offset + jnp.arange(queries.shape[0])
  own = jnp.arange(points.shape[0])[None, :] == rows[:, None]
  _, indices = jax.lax.top_k(-jnp.where(own, -1.0, d2), n)
  return indices


@jax.jit
def _screen_balls(queries: jax.Array, centres: jax.Array, radii_sq: jax.Array,
                  num_valid: jax.Array, tolerance: jax.Array):
  """Float32 ball membership of queries [b, D] in balls (centres [N, D], radii_sq [N]).

  A pair is surely inside when d2 <= r2 - slack, undecided when r2 - slack < d2 <= r2 + slack
  (left to float64), surely outside beyond; slack = tolerance * (||q||^2 + ||c||^2 + r2) covers
  the float32 rounding of d2 and of r2.
  Rows >= num_valid are batch padding and count nowhere.
  Returns (sure inside per query int32 [b], any sure inside per centre bool [N],
  undecided mask bool [b, N], number undecided).
  """
  d2, q2, p2 = _squared_distance_parts(queries, centres)
  r2 = radii_sq[None, :]
  slack = tolerance * (q2 + p2 + r2)
  valid = (jnp.arange(queries.shape[0]) < num_valid)[:, None]
  sure = (d2 <= r2 - slack) & valid
  undecided = (d2 > r2 - slack) & (d2 <= r2 + slack) & valid
  return (jnp.sum(sure, axis=1, dtype=jnp.int32), jnp.any(sure, axis=0), undecided,
          jnp.sum(undecided, dtype=jnp.int32))


def _exact_sq(a: np.ndarray, rows: np.ndarray, b: np.ndarray, cols: np.ndarray) -> np.ndarray:
  """Float64 ||a[rows] - b[cols]||^2 [len(rows)], by direct differences (bitwise symmetric)."""
  out = np.empty(len(rows), np.float64)
  step = max(1, _EXACT_ELEMENTS // a.shape[1])
  for start in range(0, len(rows), step):
    diff = (a[rows[start:start + step]].astype(np.float64) -
            b[cols[start:start + step]].astype(np.float64))
    out[start:start + step] = np.einsum("ij,ij->i", diff, diff)
  return out


def _padded(batch: np.ndarray, batch_size: int, total: int) -> np.ndarray:
  """Pads a final short batch with zero rows, so the jitted screens compile one shape per call
  (only when there is more than one batch: a single batch keeps its own size)."""
  rows = batch.shape[0]
  if rows == batch_size or total <= batch_size:
    return batch
  return np.concatenate([batch, np.zeros((batch_size - rows,) + batch.shape[1:], batch.dtype)])


def _screen_tolerance(dim: int) -> float:
  # Float32 rounding of a length-D dot product grows like sqrt(D) ulps in practice (the worst
  # case, D ulps, is not met by real data); 8x margin. Wider only costs more float64 pairs.
  return 8.0 * (math.sqrt(dim) + 2.0) * float(np.finfo(np.float32).eps)


@dataclasses.dataclass
class _PointSet:
  """One validated feature set: original values (float64 decisions) and centred float32."""
  exact: np.ndarray  # [N, D], the caller's float dtype.
  screen: np.ndarray  # [N, D] float32, minus the common centre.

  @property
  def size(self) -> int:
    return self.exact.shape[0]


def _point_sets(centre: np.ndarray, *arrays: np.ndarray):
  """Centres (translation leaves distances unchanged) and casts to float32 in row chunks, so a
  large float32 input is never copied whole to float64. Small norms keep the float32
  ||q||^2 + ||p||^2 - 2 q.p from cancelling the distance away."""
  sets = []
  for x in arrays:
    screen = np.empty(x.shape, np.float32)
    for start in range(0, x.shape[0], _STATS_CHUNK):
      screen[start:start + _STATS_CHUNK] = x[start:start + _STATS_CHUNK] - centre
    sets.append(_PointSet(exact=x, screen=screen))
  return sets


def _knn_radii_sq(points: _PointSet, k: int, batch_size: int) -> np.ndarray:
  """Float64 squared distance [N] from each point to its k-th nearest other point.

  The float32 screen proposes the k+1+extra nearest (the point itself first); their distances
  are recomputed in float64 and sorted; entry k (entry 0 is the point itself, at distance 0) is
  the k-th nearest other point, duplicates included.
  """
  n = min(k + 1 + _EXTRA_CANDIDATES, points.size)
  all_points = jnp.asarray(points.screen)
  radii_sq = np.empty(points.size, np.float64)
  for start in range(0, points.size, batch_size):
    batch = points.screen[start:start + batch_size]
    rows = batch.shape[0]
    candidates = np.asarray(_nearest_candidates(
        jnp.asarray(_padded(batch, batch_size, points.size)), all_points,
        jnp.int32(start), n=n))[:rows]
    row_ids = np.repeat(np.arange(start, start + rows), n)
    exact = _exact_sq(points.exact, row_ids, points.exact, candidates.reshape(-1))
    radii_sq[start:start + rows] = np.sort(exact.reshape(rows, n), axis=1)[:, k]
  return radii_sq


def _ball_membership(queries: _PointSet, centres: _PointSet, radii_sq: np.ndarray,
                     batch_size: int) -> Tuple[np.ndarray, np.ndarray]:
  """Which queries lie in which balls (distance <= radius), batched: never more than
  batch_size x len(centres) pairs at once.

  Returns (number of balls containing each query, int64 [Nq]; whether each ball contains at
  least one query, bool [Nc]).
  """
  centres_j = jnp.asarray(centres.screen)
  radii_j = jnp.asarray(radii_sq.astype(np.float32))
  tolerance = jnp.float32(_screen_tolerance(queries.screen.shape[1]))
  counts = np.zeros(queries.size, np.int64)
  occupied = np.zeros(centres.size, bool)
  for start in range(0, queries.size, batch_size):
    batch = queries.screen[start:start + batch_size]
    rows = batch.shape[0]
    sure_counts, sure_occupied, undecided, num_undecided = _screen_balls(
        jnp.asarray(_padded(batch, batch_size, queries.size)), centres_j, radii_j,
        jnp.int32(rows), tolerance)
    counts[start:start + rows] = np.asarray(sure_counts)[:rows]
    occupied |= np.asarray(sure_occupied)
    if int(num_undecided):
      q, c = np.nonzero(np.asarray(undecided))
      inside = _exact_sq(queries.exact, start + q, centres.exact, c) <= radii_sq[c]
      counts[start:start + rows] += np.bincount(q[inside], minlength=rows)
      occupied[c[inside]] = True
  return counts, occupied


def _check_k(k, batch_size, **sets: np.ndarray) -> Tuple[int, int]:
  k = _check_positive_int("k", k)
  batch_size = _check_positive_int("batch_size", batch_size)
  for name, x in sets.items():
    if k >= x.shape[0]:
      raise ValueError(f"k ({k}) must be smaller than the number of {name} points "
                       f"({x.shape[0]}): each point needs k other points.")
  return k, batch_size


def knn_radii(features, k: int, batch_size: int = 1000) -> np.ndarray:
  """Distance [N] float64 from each point of features [N, D] to its k-th nearest other point.

  Needs k < N. Batched: never more than batch_size x N distances at once.
  """
  x = _as_features(features, "features", keep_dtype=True)
  k, batch_size = _check_k(k, batch_size, features=x)
  (points,) = _point_sets(np.mean(x, axis=0, dtype=np.float64), x)
  return np.sqrt(_knn_radii_sq(points, k, batch_size))


def _prepare_knn(real, fake, k, batch_size, fake_balls: bool):
  real = _as_features(real, "real", keep_dtype=True)
  fake = _as_features(fake, "fake", keep_dtype=True)
  _check_same_dim(real, fake)
  sets = {"real": real, "fake": fake} if fake_balls else {"real": real}
  k, batch_size = _check_k(k, batch_size, **sets)
  real_set, fake_set = _point_sets(np.mean(real, axis=0, dtype=np.float64), real, fake)
  return real_set, fake_set, k, batch_size


def precision_recall(real, fake, k: int = 3, batch_size: int = 1000) -> Dict[str, float]:
  """Improved precision and recall (Kynkaanniemi et al., 2019) of fake [M, D] vs real [N, D].

  The real manifold is the union of balls around real points, each with radius the distance to
  its k-th nearest other real point. precision = fraction of fake points inside at least one
  real ball (distance <= radius); recall = fraction of real points inside at least one fake
  ball (the same with the roles swapped). Needs k < N and k < M.
  """
  real_set, fake_set, k, batch_size = _prepare_knn(real, fake, k, batch_size, True)
  fake_in_real, _ = _ball_membership(fake_set, real_set,
                                     _knn_radii_sq(real_set, k, batch_size), batch_size)
  real_in_fake, _ = _ball_membership(real_set, fake_set,
                                     _knn_radii_sq(fake_set, k, batch_size), batch_size)
  return {"precision": float(np.mean(fake_in_real > 0)),
          "recall": float(np.mean(real_in_fake > 0))}


def density_coverage(real, fake, k: int = 5, batch_size: int = 1000) -> Dict[str, float]:
  """Density and coverage (Naeem et al., 2020) of fake [M, D] vs real [N, D].

  Real balls as in `precision_recall` (k-th nearest other real point; needs k < N).
    density  = (1 / (k M)) sum_j #{real balls containing fake j}   (about 1 when fake and
               real follow one distribution; above 1 where fakes crowd dense real regions)
    coverage = fraction of real points whose ball contains at least one fake point
  Only real balls are used, so both are robust to fake outliers, unlike precision/recall.
  """
  real_set, fake_set, k, batch_size = _prepare_knn(real, fake, k, batch_size, False)
  counts, occupied = _ball_membership(fake_set, real_set,
                                      _knn_radii_sq(real_set, k, batch_size), batch_size)
  return {"density": float(np.sum(counts) / (k * fake_set.size)),
          "coverage": float(np.mean(occupied))}


# ----------------------------------------------------------------------------- modes


def class_coverage(predicted, num_classes: int, reference_probs=None,
                   min_count: int = 1) -> Dict[str, object]:
  """Class histogram of generated samples and its KL divergence from a reference.

  predicted: int [N] predicted class of each sample, in [0, num_classes).
  reference_probs: [num_classes] reference class distribution; uniform when None.
  Returns {"histogram": [num_classes] list of counts / N, "kl": KL(histogram || reference) in
  nats (float64; histogram-0 terms contribute 0; inf if the reference is 0 where the histogram
  is not), "covered": number of classes predicted >= min_count times, "num_classes"}.
  Used for MNIST's 10 digits and Stacked MNIST's 1000 modes (see `stacked_mode_ids`).
  """
  num_classes = _check_positive_int("num_classes", num_classes)
  min_count = _check_positive_int("min_count", min_count)
  labels = _as_int_array(predicted, "predicted", ndim=1)
  if labels.size == 0:
    raise ValueError("predicted is empty: no samples to count.")
  if labels.min() < 0 or labels.max() >= num_classes:
    raise ValueError(f"predicted classes must lie in [0, {num_classes}); got values in "
                     f"[{labels.min()}, {labels.max()}].")
  counts = np.bincount(labels, minlength=num_classes)
  histogram = counts / labels.size
  if reference_probs is None:
    reference = np.full(num_classes, 1.0 / num_classes)
  else:
    reference = np.asarray(reference_probs, np.float64)
    if reference.shape != (num_classes,):
      raise ValueError(f"reference_probs must have shape ({num_classes},); got "
                       f"{reference.shape}.")
    if not np.all(np.isfinite(reference)) or np.any(reference < 0):
      raise ValueError("reference_probs must be finite and non-negative.")
    if not np.isclose(reference.sum(), 1.0, rtol=0.0, atol=1e-6):
      raise ValueError(f"reference_probs must sum to 1; got {reference.sum()}.")
  present = histogram > 0
  if np.any(reference[present] == 0):
    kl = float("inf")
  else:
    kl = float(np.sum(histogram[present] * np.log(histogram[present] / reference[present])))
  return {"histogram": histogram.tolist(), "kl": kl,
          "covered": int(np.sum(counts >= min_count)), "num_classes": num_classes}


def class_accuracy(predicted, requested) -> float:
  """Share of a conditional generator's samples whose predicted class is the requested one.

  predicted, requested: int [N]. 1.0 means the classifier reads every sample as the class it
  was made for; a generator that ignores its labels scores about 1 / num_classes (for
  balanced requests).
  """
  got = _as_int_array(predicted, "predicted", ndim=1)
  wanted = _as_int_array(requested, "requested", ndim=1)
  if got.shape != wanted.shape or got.size == 0:
    raise ValueError(f"predicted and requested must be equal-length, non-empty int [N]; got "
                     f"{got.shape} and {wanted.shape}.")
  return float(np.mean(got == wanted))


def stacked_mode_ids(channel_classes) -> np.ndarray:
  """Stacked MNIST mode of each sample: channel_classes int [N, 3] digits -> int64 [N] in 0..999.

  mode = 100 c0 + 10 c1 + c2: the three channels' digits read as a three-digit number.
  """
  c = _as_int_array(channel_classes, "channel_classes", ndim=2)
  if c.shape[1] != 3:
    raise ValueError(f"channel_classes must have shape [N, 3]; got {c.shape}.")
  if c.size and (c.min() < 0 or c.max() > 9):
    raise ValueError(f"channel_classes must be digits 0..9; got values in [{c.min()}, "
                     f"{c.max()}].")
  return c @ np.array([100, 10, 1], np.int64)


def mixture_modes(samples, centres, std: float, min_count: int = 1,
                  radius_stds: float = 3.0) -> Dict[str, float]:
  """Mode coverage of 2-D samples of a Gaussian mixture (VEEGAN's and PacGAN's protocol).

  A sample is high-quality when it lies within `radius_stds` standard deviations (Euclidean)
  of its nearest centre; it then registers with that mode. A mode is covered when at least
  `min_count` high-quality samples register with it (PacGAN's code, pacgan/extensions.py:
  one, of 2,500 samples; the distance there is in standard deviations, the same for these
  isotropic components).

  samples: float [N, 2] (or [N, 1, 1, 2]); centres: float [K, 2]; std: the components' std.
  Returns {"modes": modes covered (of K), "high_quality": share of high-quality samples,
  "kl": KL(histogram of the high-quality samples over the modes || uniform) in nats (inf
  when no sample is high-quality), "num_modes": K}.
  """
  points = np.asarray(samples, np.float64).reshape(-1, 2)
  centres = np.asarray(centres, np.float64)
  if points.shape[0] == 0 or centres.ndim != 2 or centres.shape[1] != 2:
    raise ValueError(f"need samples [N, 2] with N > 0 and centres [K, 2]; got {points.shape} "
                     f"and {centres.shape}.")
  distances = np.linalg.norm(points[:, None, :] - centres[None, :, :], axis=-1)  # [N, K]
  nearest = np.argmin(distances, axis=1)
  good = distances[np.arange(len(points)), nearest] <= radius_stds * std
  counts = np.bincount(nearest[good], minlength=len(centres))
  kl = float("inf")
  if counts.sum():
    histogram = counts / counts.sum()
    present = histogram > 0
    kl = float(np.sum(histogram[present] * np.log(histogram[present] * len(centres))))
  return {"modes": int(np.sum(counts >= min_count)), "high_quality": float(np.mean(good)),
          "kl": kl, "num_modes": len(centres)}
