"""refer_band against a brute-force reading of its definition."""

from __future__ import annotations

import numpy as np
import pytest

from biometrix.core.decision_band import refer_band
from biometrix.core.errors import InvalidInput
from biometrix.core.types import Decision, Modality, SubjectId, Threshold


def test_three_regions_and_closed_band() -> None:
    t = Threshold(0.6, "m")
    assert refer_band(0.3, t, 0.1) == "Accept"
    assert refer_band(0.55, t, 0.1) == "Refer"
    assert refer_band(0.5, t, 0.1) == "Refer"  # on the lower edge: referred
    assert refer_band(0.7, t, 0.1) == "Refer"  # on the upper edge: referred
    assert refer_band(0.71, t, 0.1) == "Reject"


def test_zero_band_is_the_threshold_decision() -> None:
    rng = np.random.default_rng(0)
    for d in rng.uniform(0, 2, 200):
        assert refer_band(d, 0.6, 0.0) == ("Accept" if d <= 0.6 else "Reject")
    assert refer_band(0.6, 0.6, 0.0) == "Accept"


def test_matches_brute_force() -> None:
    rng = np.random.default_rng(1)
    for d, thr, band in zip(rng.uniform(0, 2, 300), rng.uniform(0.2, 1.5, 300), rng.uniform(0.01, 0.3, 300),
                            strict=True):
        expected = "Accept" if d < thr - band else "Reject" if d > thr + band else "Refer"
        assert refer_band(d, thr, band) == expected


@pytest.mark.parametrize("distance, band", [(float("nan"), 0.1), (0.5, -0.1), (0.5, float("inf"))])
def test_bad_input(distance: float, band: float) -> None:
    with pytest.raises(InvalidInput):
        refer_band(distance, 0.6, band)


def test_decision_refer_label_is_not_accepted() -> None:
    t = Threshold(0.6, "m")
    base = {"subject_id": SubjectId("a"), "modality": Modality.SIGNATURE, "distance": 0.58, "threshold": t}
    assert Decision(accepted=True, **base).label == "Accept"  # no band: the old two-way answer, unchanged
    assert Decision(accepted=False, **base).label == "Reject"
    refer = Decision(accepted=False, band=0.06, refer=True, **base)
    assert refer.label == "Refer" and not refer.accepted
    with pytest.raises(InvalidInput, match="referred"):
        Decision(accepted=True, refer=True, **base)
