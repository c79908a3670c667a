"""Figures of a pen comparator on held-out writers: pooled and per-user EERs, and the three-zone decision table.

SVC2004 reports the mean over users of each user's EER (a threshold per user); a deployed comparator has one
threshold for everyone, so both are given. The three-zone policy accepts at or below an ``accept`` threshold,
rejects above a ``reject`` threshold and refers to a supervisor between them; both are set on development writers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from biometrix.core.errors import InvalidInput
from biometrix.core.metrics import eer, fmr_fnmr, threshold_at_fmr
from biometrix.evaluation.protocol import ProtocolScores

#: The consecutive folds of 10 SVC2004 users that issue 27 cross-validates over (every choice on the other 30).
SVC2004_FOLDS = tuple(tuple(range(lo, lo + 10)) for lo in (1, 11, 21, 31))
ZONES = ("accepted", "referred", "rejected")
KINDS = ("genuine", "skilled", "random")


def kind_scores(scores: ProtocolScores, aggregate: str) -> dict[str, np.ndarray]:
    """Each kind's distances."""
    return {k: scores.scores(k, aggregate) for k in KINDS}


def per_user_eers(scores: ProtocolScores, aggregate: str, kind: str) -> dict[str, float]:
    """Each claimed subject's EER of its genuine against its ``kind`` comparisons (a threshold of its own)."""
    by: dict[str, tuple[list[float], list[float]]] = {}
    for c in scores.comparisons:
        if c.kind in ("genuine", kind):
            by.setdefault(c.claimed, ([], []))[c.kind != "genuine"].append(c.distances[aggregate])
    order = sorted(by, key=lambda s: (len(s), s))  # svc2004:9 before svc2004:10
    return {s: eer(genuine=np.array(by[s][0]), impostor=np.array(by[s][1])).eer for s in order if by[s][0] and by[s][1]}


def three_zone_thresholds(*, genuine: np.ndarray, skilled: np.ndarray, rate: float = 0.03) -> tuple[float, float]:
    """(accept, reject): the largest distance at or below which at most ``rate`` of the skilled forgeries fall, and
    the smallest above which at most ``rate`` of the genuine signatures fall (both midway between scores)."""
    if not 0 < rate < 1:
        raise InvalidInput(f"rate must lie in (0, 1), got {rate}")
    accept = threshold_at_fmr(impostor=np.asarray(skilled, dtype=np.float64), target_fmr=rate)
    reject = -threshold_at_fmr(impostor=-np.asarray(genuine, dtype=np.float64), target_fmr=rate)
    return accept, reject


def zones(distances: np.ndarray, *, accept: float, reject: float) -> dict[str, float]:
    """The fractions accepted (distance <= accept), rejected (> max(accept, reject)) and referred (between)."""
    d = np.asarray(distances, dtype=np.float64)
    if d.size == 0:
        raise InvalidInput("no distances to place in zones")
    acc = d <= accept
    rej = ~acc & (d > max(accept, reject))
    return {"accepted": float(acc.mean()), "referred": float((~acc & ~rej).mean()), "rejected": float(rej.mean())}


@dataclass(frozen=True)
class Thresholds:
    """What a fold's development writers fix: the default threshold and the three-zone pair."""

    default: float
    accept: float
    reject: float

    @classmethod
    def fit(cls, scores: ProtocolScores, aggregate: str, *, target_fmr: float = 0.01,
            rate: float = 0.03) -> Thresholds:
        """The default at FMR ``target_fmr`` against skilled forgeries; accept / reject at ``rate``."""
        k = kind_scores(scores, aggregate)
        accept, reject = three_zone_thresholds(genuine=k["genuine"], skilled=k["skilled"], rate=rate)
        return cls(threshold_at_fmr(impostor=k["skilled"], target_fmr=target_fmr), accept, reject)


@dataclass(frozen=True)
class FoldFigures:
    """One comparator's figures on one fold's held-out users, at thresholds set on the fold's other users."""

    users: tuple[int, ...]
    skilled_eer: float
    random_eer: float
    per_user_skilled: dict[str, float]
    per_user_random: dict[str, float]
    at_default: dict[str, float]  # fnmr, skilled_fmr, random_fmr
    zones: dict[str, dict[str, float]]  # kind -> zone -> fraction
    counts: dict[str, int]  # kind -> comparisons

    @property
    def mean_user_skilled_eer(self) -> float:
        return float(np.mean(list(self.per_user_skilled.values())))

    @property
    def mean_user_random_eer(self) -> float:
        return float(np.mean(list(self.per_user_random.values())))


def fold_figures(scores: ProtocolScores, aggregate: str, thresholds: Thresholds,
                 users: Sequence[int]) -> FoldFigures:
    """The figures of held-out ``scores`` at ``thresholds`` (set elsewhere)."""
    k = kind_scores(scores, aggregate)
    at = {}
    for kind in ("skilled", "random"):
        fmr, fnmr = fmr_fnmr(genuine=k["genuine"], impostor=k[kind], threshold=thresholds.default)
        at[f"{kind}_fmr"], at["fnmr"] = fmr, fnmr
    return FoldFigures(
        users=tuple(users),
        skilled_eer=eer(genuine=k["genuine"], impostor=k["skilled"]).eer,
        random_eer=eer(genuine=k["genuine"], impostor=k["random"]).eer,
        per_user_skilled=per_user_eers(scores, aggregate, "skilled"),
        per_user_random=per_user_eers(scores, aggregate, "random"),
        at_default=at,
        zones={kind: zones(k[kind], accept=thresholds.accept, reject=thresholds.reject) for kind in KINDS},
        counts={kind: int(k[kind].size) for kind in KINDS})


def mean_figures(folds: Sequence[FoldFigures]) -> dict[str, float]:
    """The mean over folds of each figure (zones as ``<kind>_<zone>``)."""
    out = {"skilled_eer": float(np.mean([f.skilled_eer for f in folds])),
           "random_eer": float(np.mean([f.random_eer for f in folds])),
           "mean_user_skilled_eer": float(np.mean([f.mean_user_skilled_eer for f in folds])),
           "mean_user_random_eer": float(np.mean([f.mean_user_random_eer for f in folds]))}
    for key in ("fnmr", "skilled_fmr", "random_fmr"):
        out[f"at_default_{key}"] = float(np.mean([f.at_default[key] for f in folds]))
    for kind in KINDS:
        for zone in ZONES:
            out[f"{kind}_{zone}"] = float(np.mean([f.zones[kind][zone] for f in folds]))
    return out
