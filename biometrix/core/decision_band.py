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


def three_zone(distance: float, *, accept: float, reject: float) -> BandLabel:
    """The three-zone decision: "Accept" at or below the ``accept`` threshold (set where few skilled forgeries fall
    below it), "Reject" above the ``reject`` threshold (set where few genuine signatures fall above it), "Refer"
    between. Where the two cross (``accept > reject``: the model separates the classes there), a distance that is
    both at most ``accept`` and above ``reject`` is referred."""
    d = float(distance)
    if not (math.isfinite(d) and math.isfinite(accept) and math.isfinite(reject)):
        raise InvalidInput(f"three-zone thresholds and distance must be finite, got {accept!r}, {reject!r}, "
                           f"{distance!r}")
    if d <= accept and d <= reject:
        return "Accept"
    if d > reject and d > accept:
        return "Reject"
    return "Refer"
