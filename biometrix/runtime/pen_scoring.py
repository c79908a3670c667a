"""The arithmetic of ``pen-dtw-v2``: banded DTW of local pen features, the statistics of a probe's DTW distances to the
references divided by the same statistics among the references, and the logistic score model over them.

The method is the one that won SVC2004 (Kholmatov & Yanikoglu): a probe is not judged by its distance alone but by
how that distance compares with the references' distances to each other, so a writer who signs consistently and
one who does not are held to their own spread. The runtime (``runtime.pen_comparator``) and the evaluation
(``evaluation.pen``) both score through these functions; ``training.pen_score`` fits the model's weights.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from biometrix.core.errors import InvalidInput, RuntimeUnavailable
from biometrix.preprocess.pen_dynamics import LOCAL_FEATURES, STEP_MS, local_features

#: The statistics of a probe's distances to the references, each divided by the same statistic among the
#: references: ``min`` (the nearest reference / the mean over references of the nearest other reference), ``max``
#: (likewise the farthest), ``mean`` (the mean distance / the references' mean pairwise distance), ``medoid`` (the
#: distance to the medoid reference / the other references' mean distance to it).
STATISTICS = ("min", "max", "mean", "medoid")
#: ``sum``: the DTW distance is the least sum of point costs along the warping path; ``n+m``: that sum divided by
#: the two lengths' sum (``core.dtw``'s convention). The sum keeps a slower (longer) forgery farther.
LENGTH_NORMS = ("sum", "n+m")
#: A reference statistic below this means references that are one drawing repeated: there is no spread to score
#: against (distinct signatures of one writer lie tens to hundreds of units apart on these features).
MIN_SPREAD = 1e-6
#: A probe's ratio is floored here before its logarithm, so a probe identical to a reference scores finite.
MIN_RATIO = 1e-9


def dtaidistance_c() -> ModuleType:
    """dtaidistance's ``dtw_ndim`` with its compiled C library loaded (imported on first use: the pen comparator
    is not needed to start the app); RuntimeUnavailable where the C library is missing."""
    from dtaidistance import dtw, dtw_ndim

    if dtw.dtw_cc is None:
        raise RuntimeUnavailable("dtaidistance's compiled C library is not available: reinstall dtaidistance "
                                 "from a wheel for this platform (pip install --force-reinstall dtaidistance)")
    return dtw_ndim


def dtw_window(band: float | None, n: int, m: int) -> int | None:
    """The Sakoe-Chiba window (``dtaidistance``'s and ``core.dtw``'s ``window``) of a band given as a fraction of
    the longer sequence: ceil(band x max(n, m)), at least 2; None (no band) for None."""
    return None if band is None else max(2, math.ceil(band * max(n, m)))


def dtw_cost(a: np.ndarray, b: np.ndarray, *, band: float | None, length_norm: str) -> float:
    """The DTW distance of two (n, F) and (m, F) feature sequences: Euclidean point costs, steps in either or both,
    within the band, by dtaidistance's C code; divided by n + m where ``length_norm`` is ``n+m``."""
    raw = float(dtaidistance_c().distance_fast(a, b, window=dtw_window(band, len(a), len(b)),
                                               inner_dist="euclidean"))
    return raw / (len(a) + len(b)) if length_norm == "n+m" else raw


@dataclass(frozen=True)
class Channel:
    """Features compared together by one DTW (e.g. velocity: vx, vy)."""

    name: str
    features: tuple[str, ...]


@dataclass(frozen=True)
class ReferenceStats:
    """One channel's statistics among a subject's references (see ``STATISTICS``) and its medoid reference."""

    min: float
    max: float
    mean: float
    medoid: float
    medoid_index: int


def reference_stats(rr: np.ndarray) -> ReferenceStats:
    """The statistics of a (K, K) symmetric matrix of DTW distances between K >= 2 references (the diagonal is
    ignored). The medoid is the reference with the least summed distance to the others (the first on a tie)."""
    k = rr.shape[0]
    if rr.shape != (k, k) or k < 2:
        raise InvalidInput(f"reference statistics need a (K, K) matrix with K >= 2, got shape {rr.shape}")
    off = rr[~np.eye(k, dtype=bool)].reshape(k, k - 1)
    medoid = int(np.argmin(off.sum(axis=1)))
    stats = ReferenceStats(min=float(off.min(axis=1).mean()), max=float(off.max(axis=1).mean()),
                           mean=float(off.mean()), medoid=float(off[medoid].mean()), medoid_index=medoid)
    if not min(stats.min, stats.max, stats.mean, stats.medoid) > MIN_SPREAD:
        raise InvalidInput("the subject's pen references are identical: their spread is 0, so no probe can be "
                           "scored against it; enroll references signed separately")
    return stats


def probe_ratios(per_ref: np.ndarray, stats: ReferenceStats) -> dict[str, float]:
    """The probe's statistics over its (K,) distances to the references, each divided by the references' own."""
    raw = {"min": float(per_ref.min()), "max": float(per_ref.max()), "mean": float(per_ref.mean()),
           "medoid": float(per_ref[stats.medoid_index])}
    return {s: raw[s] / getattr(stats, s) for s in STATISTICS}


@dataclass(frozen=True)
class PenScoreModel:
    """Everything ``pen-dtw-v2`` computes with, as its card states it: the channels (which local features each DTW
    compares), the band, the length normalisation, and a logistic model over the logarithms of the probe's ratios
    (``inputs`` name them ``channel:statistic``). The comparator's distance is exp(w . x / sum(w)) for the logs x:
    the weighted geometric mean of the ratios (about 1 for a probe as far as the references are from each other),
    a monotone function of the logistic score w . x + intercept, so a threshold on it is one on the score."""

    channels: tuple[Channel, ...]
    band: float | None
    length_norm: str
    inputs: tuple[str, ...]
    weights: tuple[float, ...]
    intercept: float
    step_ms: float = STEP_MS

    def __post_init__(self) -> None:
        names = [c.name for c in self.channels]
        if not names or len(set(names)) != len(names):
            raise InvalidInput(f"the channels must be one or more, with distinct names; got {names}")
        for c in self.channels:
            unknown = [f for f in c.features if f not in LOCAL_FEATURES]
            if not c.features or unknown or len(set(c.features)) != len(c.features):
                raise InvalidInput(f"channel {c.name!r} has features {list(c.features)}: one or more distinct of "
                                   f"{', '.join(LOCAL_FEATURES)}")
        if self.band is not None and not (_finite(self.band) and 0 < self.band <= 1):
            raise InvalidInput(f"band must be null or a fraction in (0, 1], got {self.band!r}")
        if self.length_norm not in LENGTH_NORMS:
            raise InvalidInput(f"length_norm must be one of {', '.join(LENGTH_NORMS)}, got {self.length_norm!r}")
        for name in self.inputs:
            channel, _, stat = name.partition(":")
            if channel not in names or stat not in STATISTICS:
                raise InvalidInput(f"score input {name!r} is not channel:statistic (channels {names}, statistics "
                                   f"{', '.join(STATISTICS)})")
        if not self.inputs or len(set(self.inputs)) != len(self.inputs) or len(self.weights) != len(self.inputs):
            raise InvalidInput(f"the score model needs one weight per distinct input: {len(self.inputs)} inputs, "
                               f"{len(self.weights)} weights")
        if not all(_finite(w) for w in (*self.weights, self.intercept)) or not sum(self.weights) > 0:
            raise InvalidInput("the score model's weights and intercept must be finite numbers, the weights' sum "
                               f"positive; got {list(self.weights)}, {self.intercept!r}")
        if not (_finite(self.step_ms) and self.step_ms > 0):
            raise InvalidInput(f"step_ms must be a positive number, got {self.step_ms!r}")

    def features(self, strokes: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Each channel's (T, F) standardised local features of pen strokes (computed once, split by channel)."""
        every = local_features(strokes, [f for c in self.channels for f in c.features], step_ms=self.step_ms)
        ends = np.cumsum([len(c.features) for c in self.channels])
        return [np.ascontiguousarray(every[:, e - len(c.features) : e])
                for c, e in zip(self.channels, ends, strict=True)]

    def cost(self, a: np.ndarray, b: np.ndarray) -> float:
        """The DTW distance of two of one channel's feature sequences, under this model's band and length norm."""
        return dtw_cost(a, b, band=self.band, length_norm=self.length_norm)

    def log_ratios(self, per_ref: Mapping[str, np.ndarray], stats: Mapping[str, ReferenceStats]) -> np.ndarray:
        """(len(inputs),) the logarithms of the probe's ratios the model reads, from each channel's (K,) distances
        to the references and its reference statistics."""
        ratios = {c: probe_ratios(np.asarray(per_ref[c], dtype=np.float64), stats[c]) for c in per_ref}
        values = [ratios[name.split(":")[0]][name.split(":")[1]] for name in self.inputs]
        return np.log(np.maximum(values, MIN_RATIO))

    def distance(self, log_ratios: np.ndarray) -> np.ndarray:
        """exp(w . x / sum(w)) of (..., len(inputs)) log ratios: the comparator's distance."""
        w = np.asarray(self.weights, dtype=np.float64)
        return np.exp(np.asarray(log_ratios, dtype=np.float64) @ w / w.sum())

    def channel_exponents(self) -> dict[str, float]:
        """Each channel's share of the distance's exponents (w / sum(w), summed over the channel's inputs)."""
        w = np.asarray(self.weights, dtype=np.float64) / sum(self.weights)
        out = dict.fromkeys((c.name for c in self.channels), 0.0)
        for name, share in zip(self.inputs, w, strict=True):
            out[name.split(":")[0]] += float(share)
        return out


def _finite(x: object) -> bool:
    """A finite number (not a boolean, which Python counts as an int)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
