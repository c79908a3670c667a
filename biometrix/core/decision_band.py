"""The supervisor band: a three-way label (Accept / Refer / Reject) from a distance, a threshold and a band width."""

from __future__ import annotations

import math
from typing import Literal

from biometrix.core.errors import InvalidInput
from biometrix.core.types import Threshold

BandLabel = Literal["Accept", "Refer", "Reject"]


def refer_band(distance: float, threshold: Threshold | float, band: float) -> BandLabel:
    """"Accept" below ``threshold - band``, "Reject" above ``threshold + band``, "Refer" (to a supervisor) between.

    ``band`` is a distance (0 turns the band off: the label is then the plain threshold decision,
    accepted when ``distance <= threshold``). The band is symmetric around the threshold and closed:
    a distance exactly on ``threshold ± band`` is referred.
    """
    value = threshold.value if isinstance(threshold, Threshold) else float(threshold)
    d = float(distance)
    if not math.isfinite(d):
        raise InvalidInput(f"distance must be a finite number, got {distance!r}")
    if not math.isfinite(band) or band < 0:
        raise InvalidInput(f"the supervisor band must be a finite distance >= 0, got {band!r}")
    if band == 0:
        return "Accept" if d <= value else "Reject"
    if d < value - band:
        return "Accept"
    if d > value + band:
        return "Reject"
    return "Refer"
