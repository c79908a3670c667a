"""The pen comparator: a signature drawn with a pen verified by its motion against references drawn with a pen.

``<models_dir>/pen-dtw-v1/comparator.json`` describes it (there is no network: DTW of pen features is not
trained): the features, the aggregate, the threshold and the figures that set it. It is written by
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

from biometrix.core.dtw import dtw_distance
from biometrix.core.errors import InvalidInput, ModelIntegrityError
from biometrix.core.types import Decision, Modality, SubjectId, Threshold
from biometrix.preprocess.pen_dynamics import FEATURES, STEP_MS, pen_features

PEN_MODEL_ID = "pen-dtw-v1"
#: How the comparator aggregates a probe's distances to the references (the protocol's name for it): the mean
#: DTW distance divided by the mean distance between the references.
PEN_AGGREGATE = "normalized"
#: References whose mean DTW distance to each other is below this are one drawing repeated (distinct signatures
#: of one writer lie 0.3 to 1 apart on these standardised features): there is no spread to score against.
MIN_SPREAD = 1e-6
PEN_CARD_FILE = "comparator.json"
PEN_CARD_FORMAT = "biometrix-pen-comparator/1"
#: A card is a few kilobytes; a file far larger is not one (and is not read into memory).
MAX_CARD_BYTES = 1_000_000
_KEYS = ("format", "model_id", "modality", "capture", "features", "step_ms", "distance", "aggregate",
         "thresholds", "evaluation", "created_at")


@dataclass(frozen=True)
class PenComparatorCard:
    """What ``comparator.json`` says: the features it was measured with, the threshold in force, the figures."""

    model_id: str
    threshold: Threshold
    evaluation: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> PenComparatorCard:
        """Read and check a card; anything unexpected (a newer format, other features than this code computes, a
        missing or unknown key, a threshold that is not a positive number) is a ModelIntegrityError naming it."""
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
                                      f"{PEN_CARD_FORMAT!r} (a newer card needs a newer biometrix)")
        missing, unknown = set(_KEYS) - set(doc), set(doc) - set(_KEYS)
        if missing or unknown:
            raise ModelIntegrityError(f"{path}: missing keys {sorted(missing)}, unknown keys {sorted(unknown)}")
        expected = {"modality": Modality.SIGNATURE.value, "capture": "pen", "features": list(FEATURES),
                    "step_ms": STEP_MS, "distance": "dtw", "aggregate": PEN_AGGREGATE}
        for key, want in expected.items():
            if doc[key] != want:
                raise ModelIntegrityError(f"{path}: {key} is {doc[key]!r}; this version computes {want!r}")
        default = [t for t in doc["thresholds"] if isinstance(t, dict) and t.get("name") == "default"] \
            if isinstance(doc["thresholds"], list) else []
        if len(default) != 1:
            raise ModelIntegrityError(f"{path}: thresholds must be a list holding one named 'default'")
        value, target = default[0].get("value"), default[0].get("target_fmr")
        if not _number(value) or value <= 0:
            raise ModelIntegrityError(f"{path}: the default threshold must be a positive number, got {value!r}")
        if target is not None and not (_number(target) and 0 < target < 1):
            raise ModelIntegrityError(f"{path}: the default threshold's target_fmr must lie in (0, 1), got {target!r}")
        if not isinstance(doc["evaluation"], dict):
            raise ModelIntegrityError(f"{path}: evaluation must be a JSON object")
        if doc["model_id"] != path.parent.name:
            raise ModelIntegrityError(f"{path}: model_id {doc['model_id']!r} is not its folder's name")
        threshold = Threshold(value=float(value), model_id=doc["model_id"], distance="dtw",
                              target_fmr=None if target is None else float(target),
                              source=str(default[0].get("source", "")))
        return cls(model_id=doc["model_id"], threshold=threshold, evaluation=dict(doc["evaluation"]))


def _number(x: object) -> bool:
    """A finite JSON number (not a boolean, which Python counts as an int)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def load_pen_card(models_dir: Path) -> PenComparatorCard | None:
    """The pen comparator's card in ``models_dir``, or None where none is installed (pen signatures are then
    verified by the image encoder, as any signature)."""
    path = models_dir / PEN_MODEL_ID / PEN_CARD_FILE
    return PenComparatorCard.load(path) if path.is_file() else None


def pen_verify(probe: Sequence[np.ndarray], references: Sequence[Sequence[np.ndarray]], *, subject_id: SubjectId,
               threshold: Threshold) -> Decision:
    """1:1 by pen motion: probe and references as stroke arrays (``capture.pen.stroke_arrays``). The distance is
    the mean DTW distance of the probe's features to each reference's divided by the mean DTW distance between
    the references (``PEN_AGGREGATE``); accepted when it is <= the threshold."""
    if len(references) < 2:
        raise InvalidInput("the pen comparator scores a probe against the spread of the references: it needs at "
                           f"least 2, the subject has {len(references)}")
    refs = [pen_features(r) for r in references]
    x = pen_features(probe)
    per_ref = tuple(dtw_distance(r, x) for r in refs)
    spread = float(np.mean([dtw_distance(a, b) for i, a in enumerate(refs) for b in refs[i + 1 :]]))
    if not spread > MIN_SPREAD:
        raise InvalidInput("the subject's pen references are identical: their spread is 0, so no probe can be "
                           "scored against it; enroll references signed separately")
    distance = float(np.mean(per_ref)) / spread
    return Decision(subject_id=subject_id, modality=Modality.SIGNATURE, accepted=distance <= threshold.value,
                    distance=distance, threshold=threshold, reference_distances=per_ref, reference_scale=spread)
