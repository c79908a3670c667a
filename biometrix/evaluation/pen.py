"""Pen dynamics under the signature protocol: the pen comparators' scores of SVC2004, and fusion with the image.

A signature drawn on a pen pad keeps its motion (``capture.pen`` strokes, stored as the raw sample). The image
encoder sees the ink only. ``pen-dtw-v2`` (``runtime.pen_scoring``) compares the motion channel by channel:
:func:`distance_table` holds one channel's DTW distances for every comparison the protocol makes,
:func:`log_ratio_rows` turns a few tables into the score model's inputs, and :func:`comparator_scores` into the
comparator's distances, as the runtime computes them. ``pen-dtw-v1`` (one DTW of ``pen_features``, the
``normalized`` aggregate) is scored by :func:`dtw_protocol_scores`; :func:`fuse_scores` combines two scorers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from biometrix.capture.pen import stroke_arrays
from biometrix.core.dtw import dtw_distance
from biometrix.core.errors import InvalidInput
from biometrix.evaluation.datasets import SignatureRecord, iter_svc2004_strokes
from biometrix.evaluation.protocol import Comparison, ProtocolScores, pair_protocol_scores, subject_plans
from biometrix.preprocess.pen_dynamics import pen_features
from biometrix.runtime.pen_comparator import PEN_AGGREGATE
from biometrix.runtime.pen_scoring import PenScoreModel, dtw_cost, probe_ratios, reference_stats

#: The aggregate both scores are fused on: the mean distance to the references divided by the mean distance
#: between the references, a unitless figure (about 1 for a genuine probe) for either kind of distance.
FUSED_ON = "normalized"
SOURCE = "svc2004"


def dtw_protocol_scores(records: Sequence[SignatureRecord], features: Sequence[np.ndarray], *,
                        source: str = SOURCE) -> ProtocolScores:
    """``pen-dtw-v1``: the protocol's comparisons of ``source`` scored by the DTW distance (``core.dtw``) of
    ``features[i]`` (record i's pen features, (T, F)): mean, min and normalized over the references."""
    if len(features) != len(records):
        raise InvalidInput(f"{len(records)} records but {len(features)} feature sequences")

    def distances(left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return np.array([dtw_distance(features[a], features[b]) for a, b in zip(left, right, strict=True)])

    return pair_protocol_scores(records, distances, source=source)


def svc2004_v1_scores(root: Path, users: Sequence[int]) -> ProtocolScores:
    """``pen-dtw-v1``'s scores under the protocol of the given SVC2004 users' pen recordings (``core.dtw``)."""
    recordings = list(iter_svc2004_strokes(root, users))
    return dtw_protocol_scores([r for r, _ in recordings],
                               [pen_features(stroke_arrays(strokes)) for _, strokes in recordings])


@dataclass(frozen=True)
class PenRecordings:
    """SVC2004 pen recordings under the protocol: the records, their stroke arrays, and each subject's plan
    (reference rows, then (probe row, kind) with every other subject's random-forgery sample)."""

    records: tuple[SignatureRecord, ...]
    strokes: tuple[list[np.ndarray], ...]
    plans: dict[int, tuple[list[int], list[tuple[int, str]]]]

    @classmethod
    def read(cls, root: Path, users: Sequence[int]) -> PenRecordings:
        recordings = list(iter_svc2004_strokes(root, users))
        records = tuple(r for r, _ in recordings)
        plans = {s: (refs, probes) for s, refs, probes in subject_plans(records, SOURCE)}
        return cls(records, tuple(stroke_arrays(s) for _, s in recordings), plans)

    def features(self, featurize: Callable[[list[np.ndarray]], np.ndarray]) -> list[np.ndarray]:
        """Every recording's features, in record order."""
        return [featurize(s) for s in self.strokes]

    def probes(self, subject: int, among: Sequence[int]) -> list[tuple[int, int, str]]:
        """(position in the subject's plan, row, kind) of the subject's probes, random forgeries only from subjects
        in ``among`` (the protocol over those subjects alone)."""
        keep = set(among)
        return [(i, row, kind) for i, (row, kind) in enumerate(self.plans[subject][1])
                if kind != "random" or self.records[row].subject in keep]


@dataclass(frozen=True)
class DistanceTable:
    """One channel's DTW distances for every comparison of ``PenRecordings.plans``: per subject, the (K, K)
    distances between its references and the (P, K) distances of its plan's probes to them."""

    name: str
    refs: dict[int, np.ndarray]
    probes: dict[int, np.ndarray]


def distance_table(recordings: PenRecordings, features: Sequence[np.ndarray], *, name: str,
                   cost: Callable[[np.ndarray, np.ndarray], float]) -> DistanceTable:
    """The table of ``cost(reference features, other features)`` over every subject's plan."""
    refs, probes = {}, {}
    for s, (ref_rows, plan) in recordings.plans.items():
        k = len(ref_rows)
        rr = np.zeros((k, k))
        for i in range(k):
            for j in range(i + 1, k):
                rr[i, j] = rr[j, i] = cost(features[ref_rows[i]], features[ref_rows[j]])
        refs[s] = rr
        probes[s] = np.array([[cost(features[r], features[p]) for r in ref_rows] for p, _ in plan])
    return DistanceTable(name, refs, probes)


def length_normalised(recordings: PenRecordings, table: DistanceTable, lengths: Sequence[int]) -> DistanceTable:
    """A table of DTW sums divided by the two sequences' lengths' sum (``length_norm`` ``n+m``); ``lengths[i]``
    is record i's number of points."""
    n = np.asarray(lengths, dtype=np.float64)
    refs, probes = {}, {}
    for s, (ref_rows, plan) in recordings.plans.items():
        r = n[ref_rows]
        refs[s] = table.refs[s] / (r[:, None] + r[None, :])
        probes[s] = table.probes[s] / (n[[p for p, _ in plan]][:, None] + r[None, :])
    return DistanceTable(table.name, refs, probes)


def channel_tables(recordings: PenRecordings, model: PenScoreModel) -> dict[str, DistanceTable]:
    """The tables of every channel of ``model`` (its features, band and length normalisation)."""
    feats = recordings.features(model.features)
    return {c.name: distance_table(recordings, [f[i] for f in feats], name=c.name, cost=model.cost)
            for i, c in enumerate(model.channels)}


@dataclass(frozen=True)
class LogRatioRows:
    """The score model's inputs for each comparison of some subjects: ``x`` (N, len(inputs)) and what each row is."""

    inputs: tuple[str, ...]
    x: np.ndarray
    comparisons: tuple[Comparison, ...]  # distances empty until scored

    def kinds(self) -> np.ndarray:
        return np.array([c.kind for c in self.comparisons])


def log_ratio_rows(recordings: PenRecordings, tables: Mapping[str, DistanceTable], inputs: Sequence[str],
                   subjects: Sequence[int]) -> LogRatioRows:
    """Each comparison of ``subjects`` (random forgeries from among them) as the logarithms of the probe's ratios
    named by ``inputs`` (``channel:statistic``), as ``PenScoreModel.log_ratios`` computes them at run time."""
    channels = sorted({name.split(":")[0] for name in inputs})
    rows, comps = [], []
    for s in subjects:
        stats = {c: reference_stats(tables[c].refs[s]) for c in channels}
        for i, row, kind in recordings.probes(s, subjects):
            ratios = {c: probe_ratios(tables[c].probes[s][i], stats[c]) for c in channels}
            rows.append([ratios[n.split(":")[0]][n.split(":")[1]] for n in inputs])
            rec = recordings.records[row]
            comps.append(Comparison(claimed=f"{SOURCE}:{s}", real=rec.key, probe=rec.sample_id, kind=kind,
                                    distances={}))
    x = np.log(np.maximum(np.array(rows, dtype=np.float64).reshape(len(rows), len(inputs)), 1e-9))
    return LogRatioRows(tuple(inputs), x, tuple(comps))


def scored(rows: LogRatioRows, distances: np.ndarray, *, aggregate: str, n_subjects: int) -> ProtocolScores:
    """The rows as protocol scores, ``distances[i]`` under ``aggregate`` for row i."""
    comps = tuple(Comparison(c.claimed, c.real, c.probe, c.kind, {aggregate: float(d)})
                  for c, d in zip(rows.comparisons, distances, strict=True))
    return ProtocolScores(SOURCE, comps, n_subjects, 5)


def comparator_scores(recordings: PenRecordings, tables: Mapping[str, DistanceTable], model: PenScoreModel,
                      subjects: Sequence[int]) -> ProtocolScores:
    """``pen-dtw-v2``'s distances (aggregate ``PEN_AGGREGATE``) for the comparisons of ``subjects``."""
    rows = log_ratio_rows(recordings, tables, model.inputs, subjects)
    return scored(rows, model.distance(rows.x), aggregate=PEN_AGGREGATE, n_subjects=len(subjects))


def svc2004_pen_scores(root: Path, users: Sequence[int], model: PenScoreModel) -> ProtocolScores:
    """The pen comparator's scores (aggregate ``PEN_AGGREGATE``) of the given SVC2004 users' pen recordings."""
    recordings = PenRecordings.read(root, users)
    return comparator_scores(recordings, channel_tables(recordings, model), model, users)


def v1_table(recordings: PenRecordings) -> DistanceTable:
    """``pen-dtw-v1``'s table: one DTW of ``pen_features``, no band, divided by the lengths' sum (``core.dtw``'s
    distance, computed by dtaidistance; tests/runtime/test_pen_scoring.py holds them equal)."""
    return distance_table(recordings, recordings.features(pen_features), name="v1",
                          cost=lambda a, b: dtw_cost(a, b, band=None, length_norm="n+m"))


def v1_scores(recordings: PenRecordings, table: DistanceTable, subjects: Sequence[int]) -> ProtocolScores:
    """``pen-dtw-v1``'s ``normalized`` distance (the mean DTW distance to the references over their mean distance
    to each other) for the comparisons of ``subjects``."""
    rows = log_ratio_rows(recordings, {"v1": table}, ("v1:mean",), subjects)
    return scored(rows, np.exp(rows.x[:, 0]), aggregate=FUSED_ON, n_subjects=len(subjects))


def fuse_scores(image: ProtocolScores, pen: ProtocolScores, *, weight: float = 0.5) -> ProtocolScores:
    """(1 - weight) x the image's and weight x the pen's ``normalized`` distance of every comparison, as the
    aggregate ``fused``; both must hold the same comparisons (claimed subject, probe, kind) in the same order."""
    if not 0.0 <= weight <= 1.0:
        raise InvalidInput(f"weight must lie in [0, 1], got {weight}")
    key = lambda c: (c.claimed, c.probe, c.kind)  # noqa: E731
    if [key(c) for c in image.comparisons] != [key(c) for c in pen.comparisons]:
        raise InvalidInput("the image and pen scores do not hold the same comparisons")
    comps = tuple(
        Comparison(claimed=a.claimed, real=a.real, probe=a.probe, kind=a.kind,
                   distances={"fused": (1.0 - weight) * a.distances[FUSED_ON] + weight * b.distances[FUSED_ON]})
        for a, b in zip(image.comparisons, pen.comparisons, strict=True))
    return ProtocolScores(image.source, comps, image.n_subjects, image.n_references)
