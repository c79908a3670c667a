"""What a request may carry: pydantic models that refuse unknown fields (no request names a model, a folder or a
threshold), and the JSON forms of the answers (decisions, candidates, subjects, audit rows, operators)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from biometrix.core.errors import InvalidInput
from biometrix.core.types import Candidate, Decision, Threshold

#: The most references one enrollment may carry per modality (the protocol uses five).
MAX_REFERENCES = 20
#: Base64 text of one image (the request's total size is limited separately: ``ServerOptions.max_body``).
MAX_IMAGE_B64 = 24 * 1024 * 1024


class Strict(BaseModel):
    """Unknown fields are an error, never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Sample(Strict):
    """One signature or face: an image file's bytes (PNG, JPEG...) in base64, or pen strokes as the stroke JSON of
    ``capture.pen.strokes_to_json`` (signatures only)."""

    image: str | None = Field(default=None, max_length=MAX_IMAGE_B64, description="base64 of an image file")
    strokes: str | None = Field(default=None, max_length=MAX_IMAGE_B64, description="pen strokes (stroke JSON)")

    def image_bytes(self) -> bytes:
        if self.image is None:
            raise InvalidInput("a face is an image: give 'image'")
        try:
            return base64.b64decode(self.image, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("'image' is not valid base64") from None


class LoginIn(Strict):
    name: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)


class EnrollIn(Strict):
    subject_id: str = Field(min_length=1, max_length=256)
    signatures: list[Sample] | None = Field(default=None, max_length=MAX_REFERENCES)
    faces: list[Sample] | None = Field(default=None, max_length=MAX_REFERENCES)
    display_name: str | None = Field(default=None, max_length=256)
    replace: bool = False


class CheckIn(Strict):
    """The candidate references of one modality, checked for an outlier before enrolling them."""

    signatures: list[Sample] | None = Field(default=None, max_length=MAX_REFERENCES)
    faces: list[Sample] | None = Field(default=None, max_length=MAX_REFERENCES)


class VerifyIn(Strict):
    subject_id: str = Field(min_length=1, max_length=256)
    signature: Sample | None = None
    face: Sample | None = None


class IdentifyIn(Strict):
    signature: Sample | None = None
    face: Sample | None = None
    top_k: int = Field(default=5, ge=1, le=100)


class ResolveIn(Strict):
    accept: bool
    note: str = Field(default="", max_length=500)


class EraseIn(Strict):
    subject_id: str = Field(min_length=1, max_length=256)


class AuditVerifyIn(Strict):
    expect_head: str | None = Field(default=None, max_length=200)


class OperatorIn(Strict):
    name: str = Field(min_length=1, max_length=128)
    role: str = Field(max_length=32)
    password: str = Field(min_length=1, max_length=1024)


class OperatorChange(Strict):
    role: str | None = Field(default=None, max_length=32)
    password: str | None = Field(default=None, min_length=1, max_length=1024)
    disabled: bool | None = None
    unlock: bool = False


# --- answers -------------------------------------------------------------------------------------------


def threshold_json(t: Threshold) -> dict[str, Any]:
    return {"value": t.value, "model_id": t.model_id, "distance": t.distance, "target_fmr": t.target_fmr,
            "source": t.source}


def decision_json(d: Decision) -> dict[str, Any]:
    return {"subject_id": d.subject_id, "modality": d.modality.value, "accepted": d.accepted, "refer": d.refer,
            "label": d.label, "distance": d.distance, "threshold": threshold_json(d.threshold),
            "reference_distances": list(d.reference_distances), "band": d.band,
            "reference_scale": d.reference_scale, "reject_threshold": d.reject_threshold}


def candidate_json(c: Candidate) -> dict[str, Any]:
    return {"rank": c.rank, "subject_id": c.subject_id, "distance": c.distance, "below_threshold": c.below_threshold}


def iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()
