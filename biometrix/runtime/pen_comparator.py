"""The pen comparator: a signature drawn with a pen verified by its motion against references drawn with a pen.

``<models_dir>/pen-dtw-v2/comparator.json`` describes it: which local pen features each DTW compares, the band, the
statistics of the probe's distances against the references' own and the logistic model over them (plain numbers,
applied with numpy, ``runtime.pen_scoring``), the thresholds and the figures that set them. It is written by
``python bench/pen_dtw_card.py --write`` and read strictly, as model cards are. The service uses it when the probe
and every reference of the subject are pen recordings; anything else goes to the image encoder.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from biometrix.core.errors import BiometrixError, InvalidInput, ModelIntegrityError, ModelMismatch
from biometrix.core.types import Decision, Modality, SubjectId, Threshold
from biometrix.runtime.paths import models_dir as default_models_dir
from biometrix.runtime.pen_scoring import MIN_RATIO, Channel, PenScoreModel, reference_stats

PEN_MODEL_ID = "pen-dtw-v2"
#: How the comparator aggregates a probe's distances to the references (the protocol's name for it): a logistic
#: model over the probe's DTW statistics divided by the references' own (``runtime.pen_scoring``).
PEN_AGGREGATE = "reference_stats"
PEN_CARD_FILE = "comparator.json"
PEN_CARD_FORMAT = "biometrix-pen-comparator/2"
#: A card is a few kilobytes; a file far larger is not one (and is not read into memory).
MAX_CARD_BYTES = 1_000_000
#: The thresholds a card may name: ``default`` decides; ``accept`` and ``reject`` bound the three-zone policy
#: (accept at or below ``accept``, reject above ``reject``, refer to a supervisor between), set on the development
#: writers so that few skilled forgeries fall at or below ``accept`` and few genuine signatures above ``reject``.
THRESHOLD_NAMES = ("default", "accept", "reject")
_KEYS = ("format", "model_id", "modality", "capture", "step_ms", "channels", "band", "distance", "length_norm",
         "aggregate", "score_model", "thresholds", "evaluation", "created_at")


@dataclass(frozen=True)
class PenComparatorCard:
    """What ``comparator.json`` says: the score model, the thresholds in force, the figures."""

    model_id: str
    threshold: Threshold
    model: PenScoreModel
    thresholds: dict[str, Threshold] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)

    @property
    def accept_threshold(self) -> Threshold | None:
        """The three-zone policy's accept threshold (None where the card names none)."""
        return self.thresholds.get("accept")

    @property
    def reject_threshold(self) -> Threshold | None:
        """The three-zone policy's reject threshold (None where the card names none)."""
        return self.thresholds.get("reject")

    def document(self, *, created_at: str) -> dict[str, Any]:
        """The card as the JSON object ``load`` reads (what ``bench/pen_dtw_card.py --write`` writes)."""
        m = self.model
        return {
            "format": PEN_CARD_FORMAT, "model_id": self.model_id, "modality": Modality.SIGNATURE.value,
            "capture": "pen", "step_ms": m.step_ms,
            "channels": [{"name": c.name, "features": list(c.features)} for c in m.channels],
            "band": m.band, "distance": "dtw", "length_norm": m.length_norm, "aggregate": PEN_AGGREGATE,
            "score_model": {"kind": "logistic", "inputs": list(m.inputs), "weights": list(m.weights),
                            "intercept": m.intercept},
            "thresholds": [{"name": name, "value": t.value, "target_fmr": t.target_fmr, "source": t.source}
                           for name, t in {"default": self.threshold, **self.thresholds}.items()],
            "evaluation": self.evaluation, "created_at": created_at,
        }

    @classmethod
    def load(cls, path: Path) -> PenComparatorCard:
        """Read and check a card; anything unexpected (another format, a feature or statistic this code does not
        compute, a missing or unknown key, a score model that does not fit its inputs, a threshold that is not a
        positive number) is a ModelIntegrityError naming it."""
        doc = _read(path)
        missing, unknown = set(_KEYS) - set(doc), set(doc) - set(_KEYS)
        if missing or unknown:
            raise ModelIntegrityError(f"{path}: missing keys {sorted(missing)}, unknown keys {sorted(unknown)}")
        expected = {"modality": Modality.SIGNATURE.value, "capture": "pen", "distance": "dtw",
                    "aggregate": PEN_AGGREGATE}
        for key, want in expected.items():
            if doc[key] != want:
                raise ModelIntegrityError(f"{path}: {key} is {doc[key]!r}; this version computes {want!r}")
        if doc["model_id"] != path.parent.name:
            raise ModelIntegrityError(f"{path}: model_id {doc['model_id']!r} is not its folder's name")
        if not isinstance(doc["evaluation"], dict):
            raise ModelIntegrityError(f"{path}: evaluation must be a JSON object")
        model = _model(path, doc)
        thresholds = _thresholds(path, doc)
        return cls(model_id=doc["model_id"], threshold=thresholds["default"], model=model, thresholds=thresholds,
                   evaluation=dict(doc["evaluation"]))


def _read(path: Path) -> dict[str, Any]:
    try:
        if path.stat().st_size > MAX_CARD_BYTES:
            raise ModelIntegrityError(f"{path} is {path.stat().st_size} bytes: not a pen comparator card "
                                      f"(at most {MAX_CARD_BYTES})")
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise ModelIntegrityError(f"cannot read the pen comparator card {path}: {type(err).__name__}: {err}"
                                  ) from None
    if not isinstance(doc, dict):
        raise ModelIntegrityError(f"{path} is not a pen comparator card (not a JSON object)")
    if doc.get("format") != PEN_CARD_FORMAT:
        raise ModelIntegrityError(f"{path} has format {doc.get('format')!r}; this version reads "
                                  f"{PEN_CARD_FORMAT!r} (another version of biometrix wrote it)")
    return doc


def _model(path: Path, doc: dict[str, Any]) -> PenScoreModel:
    """The card's score model; anything that does not fit is a ModelIntegrityError naming the card."""
    channels, score = doc["channels"], doc["score_model"]
    try:
        if not isinstance(channels, list) or not all(isinstance(c, dict) and set(c) == {"name", "features"}
                                                     and isinstance(c["features"], list) for c in channels):
            raise InvalidInput("channels must be a list of {name, features} objects")
        if not isinstance(score, dict) or set(score) != {"kind", "inputs", "weights", "intercept"} \
                or score["kind"] != "logistic" or not isinstance(score["inputs"], list) \
                or not isinstance(score["weights"], list):
            raise InvalidInput("score_model must be {kind: 'logistic', inputs: [...], weights: [...], intercept}")
        return PenScoreModel(channels=tuple(Channel(str(c["name"]), tuple(c["features"])) for c in channels),
                             band=doc["band"], length_norm=doc["length_norm"], inputs=tuple(score["inputs"]),
                             weights=tuple(score["weights"]), intercept=score["intercept"], step_ms=doc["step_ms"])
    except (InvalidInput, TypeError) as err:
        raise ModelIntegrityError(f"{path}: {err}") from None


def _thresholds(path: Path, doc: dict[str, Any]) -> dict[str, Threshold]:
    """The card's named thresholds: exactly one ``default``, at most one each of the others in THRESHOLD_NAMES."""
    items = doc["thresholds"]
    names = [t.get("name") for t in items if isinstance(t, dict)] if isinstance(items, list) else []
    if len(names) != len(items) or names.count("default") != 1 or len(set(names)) != len(names) \
            or set(names) - set(THRESHOLD_NAMES):
        raise ModelIntegrityError(f"{path}: thresholds must be a list holding one named 'default' and at most one "
                                  f"each of {', '.join(THRESHOLD_NAMES[1:])}, got names {names}")
    out = {}
    for t in items:
        value, target = t.get("value"), t.get("target_fmr")
        if not _number(value) or value <= 0:
            raise ModelIntegrityError(f"{path}: the {t['name']} threshold must be a positive number, got {value!r}")
        if target is not None and not (_number(target) and 0 < target < 1):
            raise ModelIntegrityError(f"{path}: the {t['name']} threshold's target_fmr must lie in (0, 1), got "
                                      f"{target!r}")
        out[t["name"]] = Threshold(value=float(value), model_id=doc["model_id"], distance="dtw",
                                   target_fmr=None if target is None else float(target),
                                   source=str(t.get("source", "")))
    return out


def _number(x: object) -> bool:
    """A finite JSON number (not a boolean, which Python counts as an int)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def load_pen_card(models_dir: Path) -> PenComparatorCard | None:
    """The pen comparator's card in ``models_dir``, or None where none is installed (pen signatures are then
    verified by the image encoder, as any signature)."""
    path = models_dir / PEN_MODEL_ID / PEN_CARD_FILE
    return PenComparatorCard.load(path) if path.is_file() else None


def _installed_model(threshold: Threshold) -> PenScoreModel:
    """The score model of the card installed in the default models folder, which must be the threshold's model."""
    card = load_pen_card(default_models_dir())
    if card is None:
        raise ModelIntegrityError(f"no pen comparator card in {default_models_dir() / PEN_MODEL_ID}: pass the "
                                  "card's model to pen_verify")
    if card.model_id != threshold.model_id:
        raise ModelMismatch(f"the threshold is bound to {threshold.model_id!r}, the installed pen comparator is "
                            f"{card.model_id!r}")
    return card.model


def pen_verify(probe: Sequence[np.ndarray], references: Sequence[Sequence[np.ndarray]], *, subject_id: SubjectId,
               threshold: Threshold, model: PenScoreModel | None = None) -> Decision:
    """1:1 by pen motion: probe and references as stroke arrays (``capture.pen.stroke_arrays``).

    For each channel of ``model`` (the card's; None: the card installed in the default models folder, which must
    be the threshold's model), the DTW distances of the probe's features to each reference's and between the
    references; the distance is the model's weighted geometric mean of the probe's statistics over the
    references' (``runtime.pen_scoring``), accepted when it is <= the threshold. For display and audit, as
    ``pen-dtw-v1``'s: ``reference_scale`` is the references' mean distance to each other, its channels combined
    with the model's exponents (``PenScoreModel.channel_exponents``); ``reference_distances`` are each reference's
    DTW distances to the probe combined alike, times one factor common to all references so that the
    ``reference_scores`` (each over the scale) average to the distance: they tell which references the probe is
    nearer to, on the threshold's scale.
    """
    if len(references) < 2:
        raise InvalidInput("the pen comparator scores a probe against the spread of the references: it needs at "
                           f"least 2, the subject has {len(references)}")
    if model is None:
        model = _installed_model(threshold)
    refs = [model.features(r) for r in references]
    x = model.features(probe)
    per_ref, stats = {}, {}
    for c, channel in enumerate(model.channels):
        k = len(refs)
        rr = np.zeros((k, k))
        for i in range(k):
            for j in range(i + 1, k):
                rr[i, j] = rr[j, i] = model.cost(refs[i][c], refs[j][c])
        stats[channel.name] = reference_stats(rr)
        per_ref[channel.name] = np.array([model.cost(r[c], x[c]) for r in refs])
    distance = float(model.distance(model.log_ratios(per_ref, stats)))
    exponents = model.channel_exponents()
    combined = np.exp(sum(e * np.log(np.maximum(per_ref[c], MIN_RATIO)) for c, e in exponents.items()))
    scale = float(np.exp(sum(e * np.log(stats[c].mean) for c, e in exponents.items())))
    shown = combined * (distance * scale / float(np.mean(combined)))
    if not (math.isfinite(distance) and math.isfinite(scale) and scale > 0 and np.isfinite(shown).all()):
        raise BiometrixError(f"the pen comparator's distance is not a finite number ({distance!r}); the card's "
                             "weights are out of range for this probe")
    return Decision(subject_id=subject_id, modality=Modality.SIGNATURE, accepted=distance <= threshold.value,
                    distance=distance, threshold=threshold,
                    reference_distances=tuple(float(v) for v in shown), reference_scale=scale)
