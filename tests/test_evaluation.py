"""Evaluation plumbing: Stacked MNIST, the classifier, extractors, the evaluator, in-loop
evaluation and jaxgan.evaluate. (The metrics' math is tested in test_metrics.py.)"""
import json
import os

import numpy as np
import pytest
from PIL import Image

from jaxgan import evaluate, train
from jaxgan.data import pipeline, sources, stacked
from jaxgan.evaluation import domain_classifier, features, metrics, pictures
from jaxgan.evaluation import evaluator as evaluator_lib
from jaxgan.evaluation import records as eval_records
from jaxgan.experiment import builders, saved_config
from tests import helpers


def _squares(n: int, seed: int, num_classes: int = 10, channels: int = 1):
  """Images whose class c is a bright 6x6 square at position c of a 28x28 canvas, plus noise."""
  rng = np.random.default_rng(seed)
  labels = rng.integers(0, num_classes, n).astype(np.int32)
  images = rng.integers(0, 60, (n, 28, 28, channels)).astype(np.uint8)
  for i, c in enumerate(labels):
    r, col = divmod(int(c), 4)
    images[i, 2 + 7 * r: 8 + 7 * r, 2 + 7 * col: 8 + 7 * col] = 250
  return sources.ImageData(images, labels, num_classes)


@pytest.fixture(scope="module")
def trained_classifier():
  data = _squares(600, seed=0)
  return domain_classifier.train(data, steps=120, batch_size=32, holdout=200, seed=0,
                          dataset_name="squares")


def test_classifier_learns_and_round_trips(trained_classifier, tmp_path):
  module, variables, meta = trained_classifier
  assert meta["holdout_accuracy"] > 0.95, meta  # Chance is 0.1: it learned the task.
  fresh = _squares(100, seed=1)
  logits, feats = domain_classifier.predict(module, variables,
                                     pipeline.to_model_range(fresh.images))
  assert logits.shape == (100, 10) and feats.shape == (100, 128)
  assert np.mean(np.argmax(logits, -1) == fresh.labels) > 0.95
  domain_classifier.save(str(tmp_path), variables, meta)
  module2, variables2, meta2 = domain_classifier.load(str(tmp_path))
  assert meta2 == meta
  logits2, _ = domain_classifier.predict(module2, variables2, pipeline.to_model_range(fresh.images))
  np.testing.assert_array_equal(logits, logits2)
  # load_or_train reuses a saved classifier instead of training another.
  before = os.path.getmtime(tmp_path / domain_classifier.VARIABLES_FILE)
  domain_classifier.load_or_train(str(tmp_path), fresh, "squares", steps=120)
  assert os.path.getmtime(tmp_path / domain_classifier.VARIABLES_FILE) == before


def test_classifier_errors(tmp_path, trained_classifier):
  _, variables, meta = trained_classifier
  with pytest.raises(domain_classifier.ClassifierError, match="No classifier"):
    domain_classifier.load(str(tmp_path))
  domain_classifier.save(str(tmp_path), variables, meta)
  # Variables that load but are not the recorded ones (another classifier's file copied in).
  meta_path = tmp_path / domain_classifier.META_FILE
  recorded = json.loads(meta_path.read_text())
  meta_path.write_text(json.dumps({**recorded, "id": "0" * 16}))
  with pytest.raises(domain_classifier.ClassifierError, match="does not match classifier.json"):
    domain_classifier.load(str(tmp_path))
  (tmp_path / domain_classifier.VARIABLES_FILE).write_bytes(b"not msgpack")
  with pytest.raises(domain_classifier.ClassifierError, match="corrupt"):
    domain_classifier.load(str(tmp_path))
  unlabelled = sources.ImageData(np.zeros((4, 28, 28, 1), np.uint8), None, 0)
  with pytest.raises(domain_classifier.ClassifierError, match="inception"):
    domain_classifier.train(unlabelled, steps=1)
  other_shape = sources.ImageData(np.zeros((4, 8, 8, 1), np.uint8), np.zeros(4, np.int32), 10)
  domain_classifier.save(str(tmp_path), variables, meta)
  with pytest.raises(domain_classifier.ClassifierError, match="takes images"):
    domain_classifier.load_or_train(str(tmp_path), other_shape, "x", steps=1)


def test_stacked_mnist_labels_are_the_channel_digits():
  # Base digit i is an image filled with 10 * label, so each channel shows its digit.
  labels = np.arange(50, dtype=np.int32) % 10
  base = sources.ImageData(np.broadcast_to((labels * 10).astype(np.uint8)[:, None, None, None],
                                           (50, 28, 28, 1)).copy(), labels, 10)
  data = stacked.stack_digits(base, num_images=400, seed=3)
  assert data.images.shape == (400, 28, 28, 3) and data.num_classes == 1000
  digits = data.images[:, 0, 0, :].astype(np.int32) // 10  # [400, 3], R, G, B
  np.testing.assert_array_equal(data.labels, metrics.stacked_mode_ids(digits))
  assert len(np.unique(data.labels)) > 300  # Triples are drawn independently.
  again = stacked.stack_digits(base, num_images=400, seed=3)
  np.testing.assert_array_equal(again.images, data.images)
  with pytest.raises(ValueError, match="single-channel"):
    stacked.stack_digits(data)


def test_stacked_mnist_from_local_files(tmp_path):
  helpers.write_fake_mnist(str(tmp_path), n=40)
  data = sources.load("stacked_mnist", "test", str(tmp_path), None)
  assert data.images.shape == (40, 28, 28, 3) and data.labels.max() < 1000


def test_per_channel_classifier_probabilities_are_products(trained_classifier):
  module, variables, meta = trained_classifier
  extractor = features.ClassifierFeatures(module, variables, meta, (28, 28, 3), batch_size=8)
  assert extractor.per_channel and extractor.num_classes == 1000
  rgb = [_squares(12, seed=s) for s in (4, 5, 6)]
  images = pipeline.to_model_range(np.concatenate([d.images for d in rgb], axis=-1))
  out = extractor(images)
  assert out["features"].shape == (12, 3 * 128) and out["probs"].shape == (12, 1000)
  per_channel = [domain_classifier.predict(module, variables, images[..., c:c + 1])
                 for c in range(3)]
  p = [np.exp(l - l.max(-1, keepdims=True)) for l, _ in per_channel]
  p = [q / q.sum(-1, keepdims=True) for q in p]
  joint = np.einsum("na,nb,nc->nabc", *p).reshape(12, 1000)
  np.testing.assert_allclose(out["probs"], joint, rtol=2e-4, atol=1e-9)
  np.testing.assert_array_equal(out["features"][:, 128:256], per_channel[1][1])
  modes = np.argmax(out["probs"], -1)
  np.testing.assert_array_equal(
      modes, metrics.stacked_mode_ids(np.stack([np.argmax(q, -1) for q in p], 1)))
  np.testing.assert_array_equal(modes, metrics.stacked_mode_ids(
      np.stack([d.labels for d in rgb], 1)))  # The classifier reads each channel right.


class _PixelFeatures:
  """A fake extractor: features are the flattened pixels, classes the brightest quadrant."""
  has_classes = True
  num_classes = 4
  class_prior = np.full(4, 0.25)
  name = "pixels"

  def __call__(self, images):
    flat = np.asarray(images, np.float32).reshape(len(images), -1)
    q = np.stack([images[:, :4, :4].mean((1, 2, 3)), images[:, :4, 4:].mean((1, 2, 3)),
                  images[:, 4:, :4].mean((1, 2, 3)), images[:, 4:, 4:].mean((1, 2, 3))], 1)
    probs = np.eye(4)[np.argmax(q, 1)] * 0.97 + 0.0075
    return {"features": flat, "probs": probs}


def test_evaluator_matches_metric_functions_and_floor():
  rng = np.random.default_rng(0)
  real = rng.integers(0, 256, (200, 8, 8, 1)).astype(np.uint8)
  ev = evaluator_lib.Evaluator(_PixelFeatures(), real, num_samples=80, seed=1, kid_subsets=5,
                               kid_subset_size=40)
  ref = pipeline.to_model_range(ev.reference_images)
  same = ev.evaluate(ref)  # The reference set against itself.
  assert abs(same["fid"]) < 1e-6
  assert same["precision"] == same["recall"] == same["coverage"] == 1.0
  fake = np.clip(ref * 0.5 + 0.3, -1, 1)
  result = ev.evaluate(fake)
  real_f, fake_f = ref.reshape(80, -1), fake.reshape(80, -1)
  assert result["fid"] == pytest.approx(metrics.fid_from_features(real_f, fake_f), rel=1e-9)
  assert result["precision"] == metrics.precision_recall(real_f, fake_f, k=3)["precision"]
  assert result["coverage"] == metrics.density_coverage(real_f, fake_f, k=5)["coverage"]
  coverage = metrics.class_coverage(result["predicted_classes"], 4, np.full(4, 0.25))
  assert result["class_kl"] == coverage["kl"] and result["classes_covered"] == coverage["covered"]
  scalars = evaluator_lib.scalars(result)
  assert "eval_fid" in scalars and "eval_images" not in scalars
  # The floor's real images are disjoint from the reference set.
  floor = ev.real_reference_split()
  assert floor.shape == (80, 8, 8, 1)
  assert not ({r.tobytes() for r in floor} & {r.tobytes() for r in ev.reference_images})
  assert evaluator_lib.Evaluator(_PixelFeatures(), real[:100], num_samples=80
                                 ).real_reference_split() is None


def test_lerp_and_slerp():
  rng = np.random.default_rng(0)
  z0, z1 = rng.standard_normal(16), rng.standard_normal(16)
  t = np.linspace(0, 1, 5)
  for fn in (pictures.lerp, pictures.slerp):
    path = fn(z0, z1, t)
    np.testing.assert_allclose(path[0], z0, atol=1e-12)
    np.testing.assert_allclose(path[-1], z1, atol=1e-12)
  np.testing.assert_allclose(pictures.lerp(z0, z1, t)[2], (z0 + z1) / 2)
  # Orthogonal unit vectors: slerp stays on the unit circle at equal angles.
  e0, e1 = np.eye(2)
  arc = pictures.slerp(e0, e1, np.array([0.0, 1 / 3, 0.5, 1.0]))
  np.testing.assert_allclose(np.linalg.norm(arc, axis=1), 1.0, atol=1e-12)
  np.testing.assert_allclose(arc[1], [np.cos(np.pi / 6), np.sin(np.pi / 6)], atol=1e-12)
  np.testing.assert_allclose(pictures.slerp(e0, e0, t), pictures.lerp(e0, e0, t))


def test_nearest_neighbours_against_brute_force():
  rng = np.random.default_rng(2)
  samples = rng.integers(0, 256, (5, 6, 6, 1)).astype(np.uint8)
  real = rng.integers(0, 256, (30, 6, 6, 1)).astype(np.uint8)
  real[7] = samples[3]  # A memorised sample is found at distance 0.
  index, dist = pictures.nearest_neighbours(samples, real, k=3)
  for i in range(5):
    d = [np.linalg.norm((samples[i].astype(float) - r.astype(float)) / 255) for r in real]
    np.testing.assert_array_equal(index[i], np.argsort(d, kind="stable")[:3])
    np.testing.assert_allclose(dist[i], np.sort(d)[:3], atol=1e-6)
  assert index[3, 0] == 7 and dist[3, 0] < 1e-6


def test_pictures_are_written(tmp_path):
  rng = np.random.default_rng(0)
  images = rng.uniform(-1, 1, (40, 8, 8, 1)).astype(np.float32)
  classes = rng.integers(0, 3, 40)
  classes[classes == 2] = 1  # Class 2 missing: its row stays blank.
  pictures.save_per_class_grid(images, classes, 3, str(tmp_path / "per_class.png"), 5)
  pictures.save_class_histogram(np.bincount(classes, minlength=3) / 40,
                                str(tmp_path / "hist.png"))
  pictures.save_class_histogram(rng.dirichlet(np.ones(1000)), str(tmp_path / "modes.png"))
  pictures.save_nearest_neighbours(images, rng.integers(0, 256, (20, 8, 8, 1)).astype(np.uint8),
                                   str(tmp_path / "nn.png"), num_samples=4, k=3)
  pictures.save_interpolations(lambda z: np.tanh(np.repeat(z[:, :64], 1, 0)).reshape(-1, 8, 8, 1),
                               64, str(tmp_path / "interp.png"), rows=3, columns=5)
  for name in ("per_class.png", "hist.png", "modes.png", "nn.png", "interp.png"):
    with Image.open(tmp_path / name) as im:
      assert im.size[0] > 100 and im.size[1] > 50, name


def test_eval_config_errors():
  for overrides, match in (({"eval.feature_extractor": "inceptoin"}, "classifier, inception"),
                           ({"eval.num_samples": 5}, "num_samples"),
                           ({"eval.every_steps": -1}, "every_steps"),
                           ({"eval.kid_subset_size": 0}, "kid_subset_size"),
                           ({"eval.every_steps": 10, "eval.feature_extractor": "inception",
                             "eval.inception_weights": "/nonexistent.npz"},
                            "'/nonexistent.npz' is not a file.*convert_inception"),
                           # A preset's Inception reports no classes, whatever the field says.
                           ({"eval.every_steps": 10, "eval.protocol": "fid50k_full",
                             "eval.best_metric": "class_kl"}, "class_kl' is not a metric"),
                           ({"eval.protocol": "fid50k"}, "valid: fid50k_full"),
                           ({"eval.protocol": "fid50k_full", "eval.num_samples": 100},
                            "num_samples=100 would be ignored"),
                           ({"eval.feature_extractor": "inception", "eval.resize": "bicubic"},
                            "resize='bicubic'; valid: clean, legacy_tensorflow, legacy_pytorch")):
    with pytest.raises(builders.ConfigError, match=match):
      builders.check_config(helpers.tiny_config(**overrides))


def test_saved_config_fills_fields_added_later():
  old = helpers.tiny_config().to_dict()
  del old["eval"]
  old["model"]["kwargs"] = {"hidden": 4}
  old["g_optimizer"]["name"] = "rmsprop"
  old["g_optimizer"]["kwargs"] = {}
  config = saved_config.saved_config(old)
  assert config.eval.num_samples == 5000 and config.model.kwargs.hidden == 4
  assert config.model.name == "tiny"
  assert config.g_optimizer.kwargs.to_dict() == {}  # Not the default's Adam b1/b2.
  assert config.d_optimizer.kwargs.to_dict() == {"b1": 0.5, "b2": 0.999}
  builders.get_optimizers(config)
  partial = saved_config.saved_config({"model": {"name": "dcgan_tutorial"}})
  assert partial.model.kwargs.to_dict() == {} and partial.model.latent_dim == 100
  with pytest.raises(AttributeError):  # Still locked: a typo is an error.
    partial.modle = 1


def test_training_evaluates_periodically_then_evaluate_cli(tmp_path, monkeypatch, caplog):
  mnist = helpers.write_fake_mnist(str(tmp_path / "data"), n=96)
  workdir = str(tmp_path / "run")
  config = helpers.tiny_config(mnist, **{
      "eval.every_steps": 2, "eval.num_samples": 40, "eval.batch_size": 16,
      "eval.classifier_steps": 3, "eval.kid_subsets": 3, "eval.kid_subset_size": 20})
  # The first run with this data on a machine: the GAN's step compiles (and runs) first, the
  # classifier is trained when the first evaluation needs it, and the log says so.
  monkeypatch.setenv(domain_classifier.CACHE_ENV, str(tmp_path / "classifier_cache"))
  monkeypatch.setenv("JAXGAN_CACHE", str(tmp_path / "cache"))
  events = []
  pmapped_step, train_classifier = builders.Experiment.pmapped_step, domain_classifier.train
  monkeypatch.setattr(builders.Experiment, "pmapped_step", lambda self, **kw: (
      events.append("step compiled"), pmapped_step(self, **kw))[1])
  monkeypatch.setattr(domain_classifier, "train", lambda *args, **kw: (
      events.append("classifier trained"), train_classifier(*args, **kw))[1])
  caplog.set_level("INFO")
  train.train_and_evaluate(config, workdir)
  assert events == ["step compiled", "classifier trained"]
  assert "Setting up the evaluation: training the evaluation classifier (3 steps on " \
         "mnist/test" in caplog.text
  assert "Evaluation set up in " in caplog.text
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    records = [json.loads(line) for line in f]
  evals = [r for r in records if "eval_fid" in r]
  assert [r["step"] for r in evals] == [2, 4]
  assert all(np.isfinite(r["eval_fid"]) and 0 <= r["eval_coverage"] <= 1 for r in evals)
  assert evals[0]["eval_num_classes"] == 10
  for name in ("eval_curves.png", "samples.gif", "curves.png"):
    assert os.path.exists(os.path.join(workdir, name)), name
  with Image.open(os.path.join(workdir, "samples.gif")) as gif:
    assert gif.n_frames == 2  # Sample grids at steps 2 and 4.
  # The classifier is the shared cache's for (data, shape, steps, seed), not the workdir's.
  data = sources.from_spec(builders.settings_of(config).dataset)
  cached = domain_classifier.cache_directory(data, "mnist/test", steps=3)
  assert cached.startswith(domain_classifier.cache_root()) and "_28x28x1_3steps_seed0_" in cached
  assert not os.path.exists(os.path.join(workdir, "eval", "classifier"))
  _, _, meta = domain_classifier.load(cached)
  with open(os.path.join(cached, domain_classifier.VARIABLES_FILE), "rb") as f:
    assert meta["id"] == domain_classifier.identity(f.read())
  # Every evaluation record says which classifier made it.
  assert all(r["eval_classifier_steps"] == 3 for r in evals)
  assert all(r["eval_classifier_holdout_accuracy"] == meta["holdout_accuracy"] for r in evals)

  report = evaluate.evaluate_workdir(workdir, baselines=True)
  assert report["step"] == 4 and report["num_samples"] == 40
  # Same checkpoint, latents and classifier as the in-loop evaluation at step 4.
  assert report["generator"]["fid"] == pytest.approx(evals[-1]["eval_fid"], rel=1e-6)
  for key in ("real_floor", "untrained"):
    assert np.isfinite(report[key]["fid"])
  assert os.path.exists(os.path.join(workdir, "eval", "step_0000004.json"))
  for path in report["pictures"]:
    assert os.path.exists(path), path
  table = evaluate.report_table(report)
  assert "floor" in table and "ceiling" in table and "FID" in table
  assert f"Feature space: classifier {meta['id']} (mnist/test, 3 steps" in table
  with pytest.raises(FileNotFoundError, match="No checkpoint of step 3"):
    evaluate.evaluate_workdir(workdir, step=3)

  # A second evaluation without baselines is appended; the step's report keeps them.
  again = evaluate.evaluate_workdir(workdir, pictures_too=False)
  assert again["real_floor"] == report["real_floor"] and again["baselines_from"]
  history = eval_records.read(workdir)
  assert [(r["source"], r["step"]) for r in history] == [
      ("training", 2), ("training", 4), ("jaxgan.evaluate", 4), ("jaxgan.evaluate", 4)]
  assert "real_floor" in history[2] and "real_floor" not in history[3]
  assert len({eval_records.feature_space_key(r) for r in history}) == 1
  assert history[0]["provenance"]["feature_extractor"]["id"] == meta["id"]
  assert {r["provenance"]["protocol"]["name"] for r in history} == {"quick_classifier"}
  # The reference set's features were extracted once (training), then read from the cache.
  assert len(os.listdir(tmp_path / "cache" / "reference_stats")) == 1
  assert "Reference features from the cache" in caplog.text

  # jaxgan.fid samples a workdir as its evaluation does (a stub extractor: no Inception here).
  from jaxgan import fid
  from tests.test_protocols import StubExtractor
  text = fid.run(["data:mnist/test", workdir], fid.protocol_of("fid50k_full", 40),
                 StubExtractor(), local_dir=mnist, kid_subsets=2, kid_subset_size=20)
  assert "B: workdir " in text and "(step 4) (40 images, 28x28x1)" in text
  assert "fid50k_full with 40 samples (not comparable with fid50k_full's numbers)" in text
  # kid_subset_size 20 < 40 samples: KID's spread is a real spread.
  assert not again["kid_std_zero_by_construction"]

  # A classifier trained for other steps than the config says is refused, not reused, by
  # the evaluator and by training, before its step compiles.
  with pytest.raises(domain_classifier.ClassifierError, match="trained for 3 steps, but config.eval"
                     ".classifier_steps is 7"):
    evaluate.evaluate_workdir(workdir, overrides={"classifier_dir": cached,
                                                  "classifier_steps": 7})
  events.clear()
  config.eval.classifier_dir, config.eval.classifier_steps = cached, 7
  with pytest.raises(domain_classifier.ClassifierError, match="trained for 3 steps"):
    train.train_and_evaluate(config, str(tmp_path / "another_run"))
  assert events == []
  with pytest.raises(builders.ConfigError, match="no field 'num_sample' \\(did you mean "
                     "'num_samples'"):
    evaluate.evaluate_workdir(workdir, overrides={"num_sample": 10})


def test_inception_extractor_from_a_weights_file(tmp_path):
  """The config path to Inception: a converted weights file -> features and probabilities."""
  from jaxgan.evaluation import inception
  from tests.test_inception import _random_variables

  path = str(tmp_path / "inception_fid.npz")
  inception.save_variables(_random_variables(), path)
  builders.check_config(helpers.tiny_config(**{
      "eval.every_steps": 10, "eval.feature_extractor": "inception",
      "eval.inception_weights": path}))  # The file exists: accepted.
  extractor = features.InceptionFeatures(path, batch_size=2)
  images = np.random.default_rng(0).uniform(-1, 1, (3, 28, 28, 1)).astype(np.float32)
  out = extractor(images)
  assert out["features"].shape == (3, 2048) and out["probs"].shape == (3, 1008)
  np.testing.assert_allclose(out["probs"].sum(1), 1.0, rtol=1e-12)
  direct = inception.features_of(inception.load_variables(path), images[2:], "legacy_pytorch")
  np.testing.assert_allclose(out["features"][2:], direct["pool"], rtol=1e-5, atol=1e-5)
  assert extractor.provenance()["resize"] == "legacy_pytorch"
