"""The decision policy a database holds: which threshold each modality uses, the supervisor band, the pen
comparator. Changed by admins only (``Biometrix.set_policy``), audited with its old and new values."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields
from typing import Any

from biometrix.core.errors import InvalidInput
from biometrix.core.types import Modality


@dataclass(frozen=True)
class DecisionPolicy:
    """``*_threshold`` names one of the model card's calibrated thresholds ("default": the card's threshold
    for the probe's capture); ``*_target_fmr``, when set, overrides it with the threshold at that FMR on the
    card's validation DET curve. ``refer_band`` is the supervisor band as a fraction of the threshold (a
    distance within threshold x (1 ± refer_band) is referred; 0: no band). ``pen_comparator``: pen probes
    against pen references are decided by the pen comparator (when installed and trusted). ``three_zone``: where
    the deciding card names an ``accept`` and a ``reject`` threshold, Accept / Refer / Reject come from those two
    (``core.decision_band.three_zone``) instead of one threshold and the band."""

    signature_threshold: str = "default"
    signature_target_fmr: float | None = None
    face_threshold: str = "default"
    face_target_fmr: float | None = None
    refer_band: float = 0.0
    pen_comparator: bool = True
    three_zone: bool = True

    def __post_init__(self) -> None:
        for name in ("signature_threshold", "face_threshold"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip() or len(value) > 64:
                raise InvalidInput(f"{name} must name a threshold of the model card, got {value!r:.40}")
        for name in ("signature_target_fmr", "face_target_fmr"):
            value = getattr(self, name)
            if value is not None and not (_number(value) and 0.0 < float(value) < 1.0):
                raise InvalidInput(f"{name} must be a fraction in (0, 1) or none, got {value!r:.40}")
        if not (_number(self.refer_band) and 0.0 <= float(self.refer_band) < 1.0):
            raise InvalidInput(f"the refer band is a fraction of the threshold in [0, 1), got {self.refer_band!r:.40}")
        for name in ("pen_comparator", "three_zone"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidInput(f"{name} must be true or false, got {getattr(self, name)!r:.40}")

    def threshold_name(self, modality: Modality) -> str:
        return self.signature_threshold if modality is Modality.SIGNATURE else self.face_threshold

    def target_fmr(self, modality: Modality) -> float | None:
        return self.signature_target_fmr if modality is Modality.SIGNATURE else self.face_target_fmr

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: object) -> DecisionPolicy:
        """A policy from its stored form; unknown keys are an error, missing ones take the defaults."""
        if not isinstance(raw, dict):
            raise InvalidInput("a decision policy is a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise InvalidInput(f"unknown decision policy key(s): {', '.join(map(str, unknown))}")
        return cls(**raw)

    def changed(self, **changes: Any) -> DecisionPolicy:
        """A copy with ``changes`` (validated); an unknown name is an InvalidInput naming it."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise InvalidInput(f"unknown decision policy setting(s): {', '.join(unknown)}; "
                               f"known: {', '.join(sorted(known))}")
        return dataclasses.replace(self, **changes)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
