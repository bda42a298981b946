"""An evaluation protocol: the few named things a reported number depends on.

A FID is comparable with another only when both were made with the same feature extractor
(and its weights), the same resize into it, the same number of generated samples, the same
reference set and the same sampling options. `Protocol` holds those; every evaluation record
carries `Protocol.record()` (jaxgan.evaluation.records), and `jaxgan.compare` never averages
or ranks numbers across two protocols.

Named presets (`PRESETS`, `config.eval.protocol`):

  fid50k_full          Inception, legacy_tensorflow resize, 50,000 samples against every
                       image of the split: StyleGAN2-ADA's fid50k_full, TTUR
  clean_fid50k_full    the same with clean-fid's `clean` resize: clean-fid's mode="clean"
  pytorch_fid50k_full  the same with pytorch-fid's resize: pytorch-fid, clean-fid's
                       mode="legacy_pytorch"
(docs/evaluation.md has the table, with each one's cost here.)

With `config.eval.protocol=""` (the default) the protocol is the config's own fields:
`config.eval.feature_extractor`, `resize` (Inception only), `num_samples` and `reference`
("sample": that many real images drawn by the run's seed, as before this protocol existed;
"full": every image of the split). Its name is `quick_classifier` for the offline classifier
(every MNIST recipe's default: in jaxgan's own feature space, comparable only with itself) and
`custom_inception` otherwise.

The presets use pytorch-fid's port of the Inception weights (a plain state dict jaxgan reads);
StyleGAN2-ADA and clean-fid use NVIDIA's TorchScript export of the same TensorFlow graph. The
weights are the same numbers; the two networks' agreement was not measured here (NVIDIA's file
cannot be fetched), so say which network made a number when comparing with a paper.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, Optional

from jaxgan.core import errors
from jaxgan.evaluation import resizing

REFERENCES = ("sample", "full")
FULL_SAMPLES = 50_000


@dataclasses.dataclass(frozen=True)
class Protocol:
  """What an evaluation's numbers depend on besides the generator.

  Attributes:
    name: a preset's name, or quick_classifier / custom_inception for the config's own.
    extractor: "classifier" or "inception".
    resize: how images reach the extractor (`evaluation/resizing.py`); "" for the classifier,
      which takes the data's own size.
    num_samples: generated images scored (and real ones, for reference="sample").
    reference: "sample" (num_samples real images drawn by the run's seed) or "full" (every
      image of the split).
  """
  name: str
  extractor: str
  resize: str
  num_samples: int
  reference: str

  def describe(self, data: str = "the split") -> str:
    """One line: "protocol fid50k_full: inception, resize legacy_tensorflow, 50,000 samples
    against every image of mnist/train"."""
    resize = f", resize {self.resize}" if self.resize else ""
    against = (f"every image of {data}" if self.reference == "full"
               else f"{self.num_samples:,} images of {data}")
    return (f"protocol {self.name}: {self.extractor}{resize}, {self.num_samples:,} samples "
            f"against {against}")

  def record(self, extractor_id: Optional[str] = None,
             sampling: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """What an evaluation record keeps: the protocol, the extractor's identity (a hash of its
    weights) and the sampling options (empty: the model's defaults)."""
    return {**dataclasses.asdict(self), "extractor_id": extractor_id,
            "sampling": dict(sampling or {})}


PRESETS: Dict[str, Protocol] = {
    "fid50k_full": Protocol("fid50k_full", "inception", "legacy_tensorflow", FULL_SAMPLES,
                            "full"),
    "clean_fid50k_full": Protocol("clean_fid50k_full", "inception", "clean", FULL_SAMPLES,
                                  "full"),
    "pytorch_fid50k_full": Protocol("pytorch_fid50k_full", "inception", "legacy_pytorch",
                                    FULL_SAMPLES, "full"),
}

# The config fields a preset fixes, and their defaults (configs/default.py): a preset with one
# of them changed is refused rather than silently overriding it.
PRESET_FIELDS = ("feature_extractor", "num_samples", "resize", "reference")


def check_name(name: str) -> None:
  if name and name not in PRESETS:
    raise errors.InvalidInputError(
        f"config.eval.protocol={name!r}; valid: {', '.join(PRESETS)}, or '' for the "
        "config's own (config.eval.feature_extractor, resize, num_samples, reference).")


def of_settings(eval_settings: Any) -> Protocol:
  """The protocol of `config.eval` (core.run_settings.EvalSettings, or anything with its
  fields): a preset by name, else the config's own fields."""
  ev = eval_settings
  check_name(ev.protocol)
  if ev.protocol:
    return PRESETS[ev.protocol]
  inception = ev.feature_extractor == "inception"
  if inception and ev.resize not in resizing.RESIZES:
    raise errors.InvalidInputError(
        f"config.eval.resize={ev.resize!r}; valid: {', '.join(resizing.RESIZES)}.")
  if ev.reference not in REFERENCES:
    raise errors.InvalidInputError(
        f"config.eval.reference={ev.reference!r}; valid: {', '.join(REFERENCES)}.")
  return Protocol("custom_inception" if inception else "quick_classifier",
                  ev.feature_extractor, ev.resize if inception else "", ev.num_samples,
                  ev.reference)


def unrecorded(record: Dict[str, Any]) -> bool:
  """Whether an evaluation record was written before records carried their protocol."""
  return not (record.get("provenance") or {}).get("protocol")


def label(record: Dict[str, Any]) -> str:
  """The protocol's name in a record, or "unrecorded"."""
  return "unrecorded" if unrecorded(record) else record["provenance"]["protocol"]["name"]
