"""The Enroll page's outlying-reference check (core.consistency): the leave-one-out distances and robust z-scores
against a hand computation, both conditions needed to flag, and on real pen signatures through the shipped model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from biometrix.core.consistency import CONSISTENCY_THRESHOLD, MAD_FLOOR, ROBUST_Z_LIMIT, check_references
from biometrix.core.errors import InvalidInput
from biometrix.core.types import Modality, Threshold
from biometrix.gui import ops
from biometrix.service import Biometrix


def at(*degrees: float) -> np.ndarray:
    return np.array([[np.cos(np.deg2rad(a)), np.sin(np.deg2rad(a))] for a in degrees], np.float32)


def threshold(value: float) -> Threshold:
    return Threshold(value=value, model_id="m", distance="cosine")


def by_hand(degrees: tuple[float, ...], thr: float) -> tuple[np.ndarray, np.ndarray, list[bool]]:
    """Leave-one-out mean cosine distance of each reference to the others, robust z, flag (mean aggregate)."""
    a = np.deg2rad(np.array(degrees))
    loo = np.array([np.mean([1 - np.cos(a[i] - a[j]) for j in range(len(a)) if j != i]) for i in range(len(a))])
    med = np.median(loo)
    mad = max(np.median(np.abs(loo - med)), MAD_FLOOR * abs(med), 1e-9)
    z = 0.6745 * (loo - med) / mad
    return loo, z, [bool(d > thr and zi > ROBUST_Z_LIMIT) for d, zi in zip(loo, z, strict=True)]


@pytest.mark.parametrize(("degrees", "thr", "flagged"), [
    ((0, 2, 4, 6, 60), 0.1, [4]),          # one far reference, beyond the threshold: flagged, alone
    ((0, 1, 2, 3, 30), 0.5, []),           # an outlier of the five, but closer than the threshold: kept
    ((0, 30, 60, 90, 120), 0.05, []),      # all beyond the threshold, none an outlier: kept
    ((0, 0, 0, 0, 0), 0.0, []),            # identical references: the MAD floor keeps noise from flagging
])
def test_leave_one_out_distances_and_flags_match_a_hand_computation(degrees: tuple[float, ...], thr: float,
                                                                    flagged: list[int]) -> None:
    checks = check_references(at(*degrees), threshold=threshold(thr), aggregate="mean")
    loo, z, flags = by_hand(degrees, thr)
    np.testing.assert_allclose([c.distance for c in checks], loo, atol=1e-6)
    np.testing.assert_allclose([c.robust_z for c in checks], z, rtol=1e-4, atol=1e-4)
    assert [c.index for c in checks if c.flagged] == [i for i, f in enumerate(flags) if f] == flagged
    assert all(("above" in c.reason) == c.flagged for c in checks)


def test_the_models_aggregate_is_used_and_fewer_than_three_references_are_refused() -> None:
    emb = at(0, 2, 4, 6, 60)
    normalized = check_references(emb, threshold=threshold(0.1), aggregate="normalized")
    plain = check_references(emb, threshold=threshold(0.1), aggregate="mean")
    for i, (n, p) in enumerate(zip(normalized, plain, strict=True)):  # the mean over the others' own spread
        others = np.delete(np.arange(5), i)
        a = np.deg2rad(np.array([0, 2, 4, 6, 60])[others])
        spread = np.mean([1 - np.cos(a[j] - a[k]) for j in range(4) for k in range(j + 1, 4)])
        np.testing.assert_allclose(n.distance, p.distance / spread, rtol=1e-4)
    with pytest.raises(InvalidInput, match="N >= 3"):
        check_references(at(0, 10), threshold=threshold(0.1))


def test_real_pen_signatures_another_signers_fifth_reference_is_flagged(svc_strokes, tmp_path: Path) -> None:
    """SVC2004 user 1 (with signature-v6-int8, bench/consistency_check.py measures users 1-10: 0 of 50 genuine
    references flagged, 9 of 10 other signers' signatures flagged as the fifth reference)."""
    with Biometrix(tmp_path / "c.db", prefer_gpu=False) as bx:
        own = [svc_strokes(1, n) for n in range(1, 6)]
        assert not any(c.flagged for c in ops.check_signatures(bx, own))
        checks = ops.check_signatures(bx, own[:4] + [svc_strokes(2, 1)])
        assert [c.index for c in checks if c.flagged] == [4]
        assert checks[4].distance > bx.card(Modality.SIGNATURE).threshold(CONSISTENCY_THRESHOLD).value
