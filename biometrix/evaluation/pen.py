"""Pen dynamics under the signature protocol: dynamic time warping of pen features, and its fusion with the image.

A signature drawn on a pen pad keeps its motion (``capture.pen`` strokes, stored as the raw sample). The image
encoder sees the ink only; :func:`dtw_protocol_scores` compares the motion (``preprocess.pen_dynamics``
features, ``core.dtw`` distance), each probe against each reference, through the same protocol, and
:func:`fuse_scores` combines the two on the comparisons they share.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from biometrix.capture.pen import stroke_arrays
from biometrix.core.dtw import dtw_distance
from biometrix.core.errors import InvalidInput
from biometrix.evaluation.datasets import SignatureRecord, iter_svc2004_strokes
from biometrix.evaluation.protocol import Comparison, ProtocolScores, pair_protocol_scores
from biometrix.preprocess.pen_dynamics import pen_features

#: The aggregate both scores are fused on: the mean distance to the references divided by the mean distance
#: between the references, a unitless figure (about 1 for a genuine probe) for either kind of distance.
FUSED_ON = "normalized"


def dtw_protocol_scores(records: Sequence[SignatureRecord], features: Sequence[np.ndarray], *,
                        source: str = "svc2004") -> ProtocolScores:
    """The protocol's comparisons of ``source`` scored by the DTW distance of ``features[i]`` (record i's pen
    features, (T, F)): mean, min and normalized over the references, as a pair scorer's."""
    if len(features) != len(records):
        raise InvalidInput(f"{len(records)} records but {len(features)} feature sequences")

    def distances(left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return np.array([dtw_distance(features[a], features[b]) for a, b in zip(left, right, strict=True)])

    return pair_protocol_scores(records, distances, source=source)


def svc2004_pen_scores(root: Path, users: Sequence[int]) -> ProtocolScores:
    """DTW scores under the protocol of the given SVC2004 users' pen recordings (read from ``root``)."""
    recordings = list(iter_svc2004_strokes(root, users))
    return dtw_protocol_scores([r for r, _ in recordings],
                               [pen_features(stroke_arrays(strokes)) for _, strokes in recordings])


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
