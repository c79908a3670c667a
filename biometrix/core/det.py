"""A model card's validation DET curve: read it, and find the threshold at a target FMR (the decision policy's
``target_fmr``; the settings page draws it).

The card keeps ``evaluation["validation_det"]`` = {"fmr", "fnmr", "thresholds", "n_genuine", "n_impostor",
"source"}: points of the full DET curve of the validation comparisons, thresholds ascending. Plain Python (the
card comes from the service; the GUI does not import the runtime or the evaluation code)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from biometrix.core.errors import InvalidInput
from biometrix.core.types import Threshold

DET_KEY = "validation_det"
#: The target FMRs the settings page offers.
TARGET_FMRS = (0.001, 0.005, 0.01, 0.02, 0.05)


@dataclass(frozen=True)
class DetCurve:
    fmr: tuple[float, ...]
    fnmr: tuple[float, ...]
    thresholds: tuple[float, ...]
    n_genuine: int
    n_impostor: int
    source: str


@dataclass(frozen=True)
class DetPoint:
    threshold: float
    fmr: float
    fnmr: float


def card_det(evaluation: Mapping[str, Any] | None) -> DetCurve | None:
    """The card's validation DET curve, or None when the card holds none (or a malformed one)."""
    raw = evaluation.get(DET_KEY) if isinstance(evaluation, Mapping) else None
    if not isinstance(raw, Mapping):
        return None
    try:
        fmr, fnmr, thr = (tuple(float(v) for v in raw[k]) for k in ("fmr", "fnmr", "thresholds"))
    except (KeyError, TypeError, ValueError):
        return None
    if not fmr or not len(fmr) == len(fnmr) == len(thr) or not all(map(math.isfinite, fmr + fnmr + thr)):
        return None
    if any(b < a for a, b in zip(thr, thr[1:], strict=False)) or any(b < a for a, b in zip(fmr, fmr[1:],
                                                                                           strict=False)):
        return None
    return DetCurve(fmr, fnmr, thr, int(raw.get("n_genuine", 0) or 0), int(raw.get("n_impostor", 0) or 0),
                    str(raw.get("source", "")))


def point_at_fmr(det: DetCurve, target_fmr: float) -> DetPoint:
    """The point with the largest threshold whose FMR <= target_fmr (the first point, FMR 0, at worst)."""
    if not 0.0 < target_fmr < 1.0:
        raise InvalidInput(f"target FMR must be in (0, 1), got {target_fmr}")
    best = 0
    for i, f in enumerate(det.fmr):
        if f <= target_fmr + 1e-12:
            best = i
    return DetPoint(det.thresholds[best], det.fmr[best], det.fnmr[best])


def point_at_threshold(det: DetCurve, value: float) -> DetPoint:
    """Where a threshold falls on the curve: the last point whose threshold <= value."""
    best = 0
    for i, t in enumerate(det.thresholds):
        if t <= value:
            best = i
    return DetPoint(value, det.fmr[best], det.fnmr[best])


def threshold_at_fmr(det: DetCurve, target_fmr: float, *, model_id: str, distance: str) -> Threshold:
    """The core Threshold at ``target_fmr`` on the card's validation DET curve, naming where it comes from."""
    p = point_at_fmr(det, target_fmr)
    return Threshold(value=p.threshold, model_id=model_id, distance=distance, target_fmr=target_fmr,
                     source=f"FMR {100 * target_fmr:g} % on the validation DET curve of {model_id}'s card "
                            f"(FMR {100 * p.fmr:.3g} %, FNMR {100 * p.fnmr:.3g} % there; {det.n_genuine} genuine / "
                            f"{det.n_impostor} impostor comparisons: {det.source})")
