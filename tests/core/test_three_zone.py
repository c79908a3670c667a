"""The three-zone decision against a hand-written table, and the service deciding pen probes by the pen card's
accept and reject thresholds (audited with both)."""

from __future__ import annotations

import pytest

from biometrix.core.decision_band import three_zone
from biometrix.core.errors import InvalidInput


@pytest.mark.parametrize(("distance", "accept", "reject", "label"), [
    (0.5, 1.0, 2.0, "Accept"), (1.0, 1.0, 2.0, "Accept"), (1.5, 1.0, 2.0, "Refer"), (2.0, 1.0, 2.0, "Refer"),
    (2.1, 1.0, 2.0, "Reject"),
    # the thresholds crossed (the classes separate there): below both Accept, above both Reject, between Refer
    (0.5, 2.0, 1.0, "Accept"), (1.0, 2.0, 1.0, "Accept"), (1.5, 2.0, 1.0, "Refer"), (2.0, 2.0, 1.0, "Refer"),
    (2.5, 2.0, 1.0, "Reject"),
])
def test_three_zones(distance: float, accept: float, reject: float, label: str) -> None:
    assert three_zone(distance, accept=accept, reject=reject) == label


def test_non_finite_is_refused() -> None:
    for bad in (float("nan"), float("inf")):
        with pytest.raises(InvalidInput):
            three_zone(bad, accept=1.0, reject=2.0)
        with pytest.raises(InvalidInput):
            three_zone(1.0, accept=bad, reject=2.0)
