"""Fitting ``pen-dtw-v2`` on development writers: choose the channels, band, length normalisation and statistics by
an inner cross-validation over those writers, then fit the logistic score model on all of them (scikit-learn).

Nothing here runs in the app: the card stores the fitted weights as plain numbers (``runtime.pen_comparator``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from biometrix.core.metrics import eer
from biometrix.evaluation.pen import (
    DistanceTable,
    LogRatioRows,
    PenRecordings,
    distance_table,
    length_normalised,
    log_ratio_rows,
)
from biometrix.preprocess.pen_dynamics import local_features
from biometrix.runtime.pen_scoring import STATISTICS, Channel, PenScoreModel, dtw_cost

#: The channels the grid draws on: features compared together by one DTW.
CHANNELS = {
    "position": ("x", "y"),
    "velocity": ("vx", "vy"),
    "acceleration": ("ax", "ay"),
    "pressure": ("pressure", "dpressure"),
    "direction": ("cos_dir", "sin_dir"),
    "curvature": ("curvature",),
    "joint": ("x", "y", "vx", "vy", "ax", "ay", "pressure", "dpressure", "cos_dir", "sin_dir", "curvature"),
}
#: Channel sets (the feature-set choice): every local feature in one DTW (the SVC2004 winner's way), or one DTW per
#: kind of feature with the score model weighing them.
CHANNEL_SETS = {
    "joint": ("joint",),
    "pos-vel-acc": ("position", "velocity", "acceleration"),
    "pos-vel-acc-pres": ("position", "velocity", "acceleration", "pressure"),
    "all-kinds": ("position", "velocity", "acceleration", "pressure", "direction", "curvature"),
}
BANDS = (0.1, 0.2, None)
LENGTH_NORMS = ("sum", "n+m")
STATISTIC_SETS = (("mean",), STATISTICS)
#: Logistic regression's inverse L2 strength (scikit-learn's C): a handful of weights on hundreds of comparisons.
C = 1.0


@dataclass(frozen=True)
class Candidate:
    """One point of the grid."""

    channel_set: str
    band: float | None
    length_norm: str
    statistics: tuple[str, ...]

    @property
    def channels(self) -> tuple[str, ...]:
        return CHANNEL_SETS[self.channel_set]

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(f"{c}:{s}" for c in self.channels for s in self.statistics)

    def label(self) -> str:
        band = "none" if self.band is None else f"{self.band:g}"
        return f"{self.channel_set} band={band} length={self.length_norm} stats={'+'.join(self.statistics)}"


def grid() -> list[Candidate]:
    """Every candidate, cheapest first (fewest channels, narrowest band): the first of equals is chosen."""
    return [Candidate(cs, b, ln, st) for cs in CHANNEL_SETS for b in BANDS for ln in LENGTH_NORMS
            for st in STATISTIC_SETS]


TableKey = tuple[str, float | None, str]  # channel, band, length_norm


def build_tables(recordings: PenRecordings, channels: Sequence[str], bands: Sequence[float | None], *,
                 log: Callable[[str], None] = print) -> dict[TableKey, DistanceTable]:
    """Every channel's DTW table under every band, as sums along the path and divided by the lengths' sum."""
    lengths = [len(f) for f in recordings.features(lambda s: local_features(s, ("x",)))]
    tables: dict[TableKey, DistanceTable] = {}
    for ch in channels:
        feats = recordings.features(lambda s, ch=ch: local_features(s, CHANNELS[ch]))
        for band in bands:
            t0 = time.perf_counter()
            raw = distance_table(recordings, feats, name=ch,
                                 cost=lambda a, b, band=band: dtw_cost(a, b, band=band, length_norm="sum"))
            tables[(ch, band, "sum")] = raw
            tables[(ch, band, "n+m")] = length_normalised(recordings, raw, lengths)
            log(f"  table {ch:12s} band {band!s:4s}: {time.perf_counter() - t0:5.1f} s")
    return tables


def candidate_tables(tables: Mapping[TableKey, DistanceTable], c: Candidate) -> dict[str, DistanceTable]:
    return {ch: tables[(ch, c.band, c.length_norm)] for ch in c.channels}


def labels(rows: LogRatioRows) -> np.ndarray:
    """1 for a forgery (skilled or random), 0 for a genuine probe."""
    return (rows.kinds() != "genuine").astype(int)


def fit_logistic(rows: LogRatioRows) -> tuple[tuple[float, ...], float]:
    """(weights, intercept) of an L2 logistic regression of forgery on the rows' log ratios (scikit-learn)."""
    from sklearn.linear_model import LogisticRegression

    fit = LogisticRegression(C=C, max_iter=5000).fit(rows.x, labels(rows))
    return tuple(float(w) for w in fit.coef_[0]), float(fit.intercept_[0])


def to_model(c: Candidate, weights: Sequence[float], intercept: float) -> PenScoreModel:
    return PenScoreModel(channels=tuple(Channel(ch, CHANNELS[ch]) for ch in c.channels), band=c.band,
                         length_norm=c.length_norm, inputs=c.inputs, weights=tuple(weights), intercept=intercept)


def fit(recordings: PenRecordings, tables: Mapping[TableKey, DistanceTable], c: Candidate,
        users: Sequence[int]) -> PenScoreModel | None:
    """The candidate's model fitted on ``users``; None where the fit's weights sum to <= 0 (no usable distance)."""
    weights, intercept = fit_logistic(log_ratio_rows(recordings, candidate_tables(tables, c), c.inputs, users))
    return to_model(c, weights, intercept) if sum(weights) > 0 else None


def inner_folds(users: Sequence[int], k: int = 3) -> list[tuple[int, ...]]:
    """``users`` in k consecutive blocks (sorted)."""
    return [tuple(b) for b in np.array_split(np.array(sorted(users)), k)]


def inner_eers(recordings: PenRecordings, tables: Mapping[TableKey, DistanceTable], c: Candidate,
               users: Sequence[int], k: int = 3) -> tuple[float, float]:
    """The candidate's (skilled, random) EER, each the mean over k inner folds of ``users`` (the model fitted on the
    other inner folds, scored on one with its own random forgeries)."""
    out: dict[str, list[float]] = {"skilled": [], "random": []}
    for held in inner_folds(users, k):
        model = fit(recordings, tables, c, [u for u in users if u not in held])
        rows = log_ratio_rows(recordings, candidate_tables(tables, c), c.inputs, held)
        if model is None:
            return 1.0, 1.0
        d, kinds = model.distance(rows.x), rows.kinds()
        for kind in out:
            out[kind].append(eer(genuine=d[kinds == "genuine"], impostor=d[kinds == kind]).eer)
    return float(np.mean(out["skilled"])), float(np.mean(out["random"]))


@dataclass(frozen=True)
class Selection:
    """The chosen candidate, its inner-CV figures, every candidate's, and the model fitted on all the users."""

    candidate: Candidate
    inner: dict[str, tuple[float, float]]  # label -> (skilled, random) inner EER
    model: PenScoreModel


def select(recordings: PenRecordings, tables: Mapping[TableKey, DistanceTable], users: Sequence[int],
           candidates: Sequence[Candidate]) -> Selection:
    """The candidate with the least inner-CV skilled + random EER on ``users`` (the first of equals), refitted on
    all of them."""
    inner = {c.label(): inner_eers(recordings, tables, c, users) for c in candidates}
    best = min(candidates, key=lambda c: sum(inner[c.label()]))
    model = fit(recordings, tables, best, users)
    if model is None:
        raise ValueError(f"{best.label()} fitted weights that sum to <= 0 on users {list(users)}")
    return Selection(best, inner, model)
