"""Verification metrics on distances: FMR/FNMR, EER, the threshold at a target FMR, DET curve points.

Convention: a comparison is accepted when its distance is <= the threshold. FMR is the share of
impostor comparisons accepted, FNMR the share of genuine comparisons rejected (ISO/IEC 19795-1).
All functions take keyword-only ``genuine=`` and ``impostor=`` 1-D arrays of distances.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from biometrix.core.errors import InvalidInput


def _scores(name: str, x: np.ndarray) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64).ravel()
    if arr.size == 0:
        raise InvalidInput(f"no {name} scores")
    if not np.isfinite(arr).all():
        raise InvalidInput(f"{name} scores contain NaN or infinite values")
    return np.sort(arr)


def fmr_fnmr(*, genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> tuple[float, float]:
    """(FMR, FNMR) when distances <= threshold are accepted."""
    g = _scores("genuine", genuine)
    i = _scores("impostor", impostor)
    fmr = np.searchsorted(i, threshold, side="right") / i.size
    # rejected / n, not 1 - accepted / n: equal fractions then give equal floats (exact EER crossings)
    fnmr = (g.size - np.searchsorted(g, threshold, side="right")) / g.size
    return float(fmr), float(fnmr)


@dataclass(frozen=True)
class DetCurve:
    """FMR and FNMR at each threshold, thresholds ascending (FMR rises, FNMR falls)."""

    thresholds: np.ndarray
    fmr: np.ndarray
    fnmr: np.ndarray
    n_genuine: int
    n_impostor: int


def det_curve(*, genuine: np.ndarray, impostor: np.ndarray) -> DetCurve:
    """Every distinct score as a threshold, plus one below all scores (FMR 0, FNMR 1)."""
    g = _scores("genuine", genuine)
    i = _scores("impostor", impostor)
    thr = np.unique(np.concatenate([g, i]))
    thr = np.concatenate([[np.nextafter(thr[0], -np.inf)], thr])
    fmr = np.searchsorted(i, thr, side="right") / i.size
    fnmr = (g.size - np.searchsorted(g, thr, side="right")) / g.size
    return DetCurve(thresholds=thr, fmr=fmr, fnmr=fnmr, n_genuine=g.size, n_impostor=i.size)


@dataclass(frozen=True)
class EerResult:
    """The equal error rate and the (interpolated) threshold where FMR and FNMR cross."""

    eer: float
    threshold: float
    n_genuine: int
    n_impostor: int


def eer(*, genuine: np.ndarray, impostor: np.ndarray) -> EerResult:
    """Equal error rate: sweep every distinct score; where FMR - FNMR changes sign, interpolate
    linearly between the two neighbouring thresholds and report the mean of FMR and FNMR there."""
    det = det_curve(genuine=genuine, impostor=impostor)
    diff = det.fmr - det.fnmr  # rises from -1 to +1
    k = int(np.argmax(diff >= 0))  # first threshold where FMR >= FNMR; diff[0] = -1 < 0, diff[-1] = 1
    d0, d1 = diff[k - 1], diff[k]
    alpha = 0.0 if d1 == d0 else -d0 / (d1 - d0)
    fmr = det.fmr[k - 1] + alpha * (det.fmr[k] - det.fmr[k - 1])
    fnmr = det.fnmr[k - 1] + alpha * (det.fnmr[k] - det.fnmr[k - 1])
    lo, hi = det.thresholds[k - 1], det.thresholds[k]
    thr = min(max(lo + alpha * (hi - lo), lo), hi)  # rounding must not step outside the two thresholds
    return EerResult(
        eer=float((fmr + fnmr) / 2), threshold=float(thr), n_genuine=det.n_genuine, n_impostor=det.n_impostor
    )


def _check_target(target_fmr: float) -> None:
    if not 0.0 <= target_fmr < 1.0:
        raise InvalidInput(f"target FMR must be in [0, 1), got {target_fmr}")


def threshold_at_fmr(*, impostor: np.ndarray, target_fmr: float) -> float:
    """The largest threshold whose FMR is <= target_fmr.

    The result lies midway between the last impostor score that may be accepted and the next distinct
    one, so it sits inside the interval where FMR is constant; when even the smallest impostor score is
    too many, it lies just below that score (FMR 0).
    """
    _check_target(target_fmr)
    i = _scores("impostor", impostor)
    values = np.unique(i)
    fmr = np.searchsorted(i, values, side="right") / i.size
    ok = np.flatnonzero(fmr <= target_fmr + 1e-12)
    if ok.size == 0:
        return float(np.nextafter(values[0], -np.inf))
    j = int(ok[-1])
    if j + 1 < values.size:
        lo, hi = values[j], values[j + 1]
        mid = lo / 2 + hi / 2  # no overflow; may round onto hi for adjacent floats, hence the guard
        return float(mid if lo <= mid < hi else lo)
    return float(values[j])


def fnmr_at_fmr(*, genuine: np.ndarray, impostor: np.ndarray, target_fmr: float) -> tuple[float, float]:
    """(threshold, FNMR) at the largest threshold whose FMR is <= target_fmr.

    Thresholds are swept over every distinct score (the DET/ROC operating points), so genuine scores
    between the last accepted and the next impostor score count as accepted."""
    _check_target(target_fmr)
    det = det_curve(genuine=genuine, impostor=impostor)
    j = int(np.flatnonzero(det.fmr <= target_fmr + 1e-12)[-1])  # row 0 (below every score) has FMR 0
    return float(det.thresholds[j]), float(det.fnmr[j])


#: FMR targets whose operating points ``det_points`` always keeps (what the settings page offers).
DET_TARGETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1)


def det_points(*, genuine: np.ndarray, impostor: np.ndarray, max_points: int = 200,
               keep_thresholds: Sequence[float] = ()) -> dict[str, object]:
    """A downsampled DET curve for a model card: at most ``max_points`` points of ``det_curve``.

    Kept: both extremes (FMR 0 / FNMR 1 and FMR 1 / FNMR 0), the operating point of each ``DET_TARGETS``
    FMR (the last point, i.e. the largest threshold, whose FMR <= target), the point of each value in
    ``keep_thresholds`` (the card's own thresholds: the last point whose threshold <= the value, which has
    exactly the FMR and FNMR at that value), and points spread over FMR on a log scale (densest between 1e-3
    and 1e-1) and over FNMR. Every point is a point of the full curve, so thresholds ascend, FMR rises and
    FNMR falls. Returns JSON-ready lists and the comparison counts."""
    if max_points < len(DET_TARGETS) + len(keep_thresholds) + 2:
        raise InvalidInput(f"max_points must be at least {len(DET_TARGETS) + len(keep_thresholds) + 2}, "
                           f"got {max_points}")
    det = det_curve(genuine=genuine, impostor=impostor)
    n = det.thresholds.size
    at_values = np.searchsorted(det.thresholds, np.asarray(keep_thresholds, dtype=np.float64), side="right") - 1

    def last_at(fmr_targets: np.ndarray) -> np.ndarray:
        # FMR is non-decreasing: the last index whose FMR <= t
        return np.searchsorted(det.fmr, np.asarray(fmr_targets) + 1e-12, side="right") - 1

    def first_at(fnmr_targets: np.ndarray) -> np.ndarray:
        # FNMR is non-increasing: the first index whose FNMR <= f
        return np.minimum(np.searchsorted(-det.fnmr, -np.asarray(fnmr_targets) - 1e-12, side="left"), n - 1)

    fixed = np.unique(np.concatenate([[0, n - 1], last_at(np.array(DET_TARGETS)), np.maximum(at_values, 0)]))
    if n <= max_points:
        keep = np.arange(n)
    else:
        lo = 1.0 / det.n_impostor
        keep = fixed
        k = max_points
        while k > 0:
            grid_mid = np.geomspace(1e-3, 1e-1, k)
            grid_low = np.geomspace(min(lo, 1e-3), 1e-3, max(k // 4, 2))
            grid_high = np.geomspace(1e-1, 1.0, max(k // 4, 2))
            fnmr_grid = np.linspace(0.0, 1.0, max(k // 2, 2))
            cand = np.unique(np.concatenate([fixed, last_at(grid_mid), last_at(grid_low), last_at(grid_high),
                                             first_at(fnmr_grid)]))
            if cand.size <= max_points:
                keep = cand
                break
            k = int(k * 0.9)
    return {
        "fmr": [float(x) for x in det.fmr[keep]],
        "fnmr": [float(x) for x in det.fnmr[keep]],
        "thresholds": [float(x) for x in det.thresholds[keep]],
        "n_genuine": int(det.n_genuine),
        "n_impostor": int(det.n_impostor),
    }
