"""The enrollment consistency check: which of N reference embeddings does not look like the others (pure math)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from biometrix.core.distances import format_distance
from biometrix.core.errors import InvalidInput
from biometrix.core.matcher import Matcher
from biometrix.core.templates import make_template
from biometrix.core.types import Modality, Threshold

#: The card threshold the check compares with when the card has it (FMR 1 % against random forgeries).
CONSISTENCY_THRESHOLD = "random_fmr1"
#: Robust z-score (0.6745 (x - median) / MAD, Iglewicz & Hoaglin) above which a reference is an outlier.
ROBUST_Z_LIMIT = 3.5
#: Floor of the MAD, as a fraction of the median, so N near-identical references do not flag noise.
MAD_FLOOR = 0.05


@dataclass(frozen=True)
class ReferenceCheck:
    """One reference's leave-one-out distance to the template of the others, and why it is flagged (if it is)."""

    index: int
    distance: float
    robust_z: float
    flagged: bool
    reason: str = ""


def check_references(embeddings: np.ndarray, *, threshold: Threshold, aggregate: str = "mean",
                     modality: Modality = Modality.SIGNATURE) -> list[ReferenceCheck]:
    """embeddings (N, D), N >= 3 -> one ReferenceCheck per row, in order.

    Each reference is scored against a template made of the N-1 others, with the model's own aggregate.
    A reference is flagged when its leave-one-out distance is both above ``threshold`` (pass the card's
    most lenient calibrated threshold, e.g. the random-forgery one: beyond it a sample looks like another
    person's) and a robust outlier among the N (robust z-score > ``ROBUST_Z_LIMIT``). Either test alone
    flags too many genuine sets. With signature-v6-int8 and references 1-5 (``python bench/consistency_check.py``)
    the pair flagged, on SVC2004 users 1-10 / held-out users 31-40 / held-out CEDAR signers 46-55: 0 / 0 / 0 of
    50 genuine references; 9 / 9 / 10 of 10 other signers' signatures put in as the fifth reference; 2 / 1 / 3
    of 10 skilled forgeries put in as the fifth.
    """
    emb = np.asarray(embeddings, dtype=np.float32)
    if emb.ndim != 2 or emb.shape[0] < 3:
        raise InvalidInput(f"the consistency check needs (N, D) embeddings with N >= 3, got shape {emb.shape}")
    agg = aggregate if emb.shape[0] - 1 >= 2 else "mean"
    matcher = Matcher(threshold, aggregate=agg)
    loo = np.empty(emb.shape[0], dtype=np.float64)
    for i in range(emb.shape[0]):
        others = np.delete(emb, i, axis=0)
        template = make_template(others, subject_id="check", modality=modality, model_id=threshold.model_id)
        loo[i] = matcher.score(emb[i], template)[0]
    med = float(np.median(loo))
    mad = max(float(np.median(np.abs(loo - med))), MAD_FLOOR * abs(med), 1e-9)
    z = 0.6745 * (loo - med) / mad
    out = []
    for i, (d, zi) in enumerate(zip(loo, z, strict=True)):
        flagged = bool(d > threshold.value and zi > ROBUST_Z_LIMIT)
        fmt = partial(format_distance, scale=threshold.value, digits=3)
        reason = (f"distance {fmt(d)} to the other references is above {fmt(threshold.value)} and far from "
                  f"theirs (robust z = {zi:.1f})") if flagged else ""
        out.append(ReferenceCheck(index=i, distance=float(d), robust_z=float(zi), flagged=flagged, reason=reason))
    return out
