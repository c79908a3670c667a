"""The client's side of the wire format: probes and references as JSON samples (an image file's bytes in base64, or
pen strokes as stroke JSON), and the server's answers back into the core types."""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from biometrix.capture.files import encode_png
from biometrix.capture.pen import Stroke, load_strokes, strokes_to_json
from biometrix.core import errors
from biometrix.core.consistency import ReferenceCheck
from biometrix.core.errors import BiometrixError, InvalidInput
from biometrix.core.records import AuditCheck, AuditEntry, AuditProblem, OperatorInfo, StoredSample, SubjectInfo
from biometrix.core.types import Candidate, Decision, Modality, SubjectId, Threshold

#: Signature files read as pen strokes (as ``service.inputs.PEN_SUFFIXES``): SVC2004 text and stroke JSON.
PEN_SUFFIXES = (".txt", ".json")


@dataclass(frozen=True)
class EnrolledTemplate:
    """What the server says it enrolled for one modality (the template itself stays on the server)."""

    subject_id: SubjectId
    modality: Modality
    model_id: str
    n_references: int


@dataclass(frozen=True)
class ServerLocation:
    """Where a remote service's database is, for display: the server's URL."""

    path: str
    reason: str = "--server"


def signature_sample(sample: Any) -> dict[str, str]:
    """A signature (a file path: image, SVC2004 .txt or stroke .json; an image array; pen strokes) as JSON."""
    if isinstance(sample, np.ndarray):
        return {"image": _b64(encode_png(sample))}
    if isinstance(sample, (str, os.PathLike)):
        path = Path(sample)
        if path.suffix.lower() in PEN_SUFFIXES:
            return {"strokes": strokes_to_json(load_strokes(path))}
        return {"image": _b64(_read(path))}
    if isinstance(sample, Sequence) and sample and all(isinstance(s, Stroke) for s in sample):
        return {"strokes": strokes_to_json(list(sample))}
    raise InvalidInput(f"a signature must be a file path, an image array or pen strokes, got {type(sample).__name__}")


def face_sample(sample: Any) -> dict[str, str]:
    """A face (an image file path or an RGB/grey uint8 array) as JSON."""
    if isinstance(sample, np.ndarray):
        return {"image": _b64(encode_png(sample))}
    if isinstance(sample, (str, os.PathLike)):
        return {"image": _b64(_read(Path(sample)))}
    raise InvalidInput(f"a face must be an image file path or an image array, got {type(sample).__name__}")


def threshold_of(raw: dict[str, Any]) -> Threshold:
    return Threshold(value=float(raw["value"]), model_id=str(raw["model_id"]), distance=str(raw["distance"]),
                     target_fmr=raw.get("target_fmr"), source=str(raw.get("source", "")))


def decision_of(raw: dict[str, Any]) -> Decision:
    return Decision(subject_id=SubjectId(raw["subject_id"]), modality=Modality(raw["modality"]),
                    accepted=bool(raw["accepted"]), distance=float(raw["distance"]),
                    threshold=threshold_of(raw["threshold"]),
                    reference_distances=tuple(float(x) for x in raw["reference_distances"]),
                    band=float(raw["band"]), refer=bool(raw["refer"]), reference_scale=float(raw["reference_scale"]),
                    reject_threshold=raw.get("reject_threshold"))


def reference_check_of(raw: dict[str, Any]) -> ReferenceCheck:
    return ReferenceCheck(index=int(raw["index"]), distance=float(raw["distance"]), robust_z=float(raw["robust_z"]),
                          flagged=bool(raw["flagged"]), reason=str(raw.get("reason", "")))


def candidate_of(raw: dict[str, Any]) -> Candidate:
    return Candidate(subject_id=SubjectId(raw["subject_id"]), distance=float(raw["distance"]), rank=int(raw["rank"]),
                     below_threshold=bool(raw["below_threshold"]))


def subject_of(raw: dict[str, Any]) -> SubjectInfo:
    return SubjectInfo(subject_id=SubjectId(raw["subject_id"]), display_name=raw.get("display_name"),
                       created_at=datetime.fromisoformat(raw["created_at"]), modalities=tuple(raw["modalities"]))


def audit_entry_of(raw: dict[str, Any]) -> AuditEntry:
    return AuditEntry(event_id=int(raw["event_id"]), at=datetime.fromisoformat(raw["at"]), event=raw["event"],
                      subject_id=raw.get("subject_id"), modality=None if raw.get("modality") is None
                      else Modality(raw["modality"]), model_id=raw.get("model_id"), distance=raw.get("distance"),
                      threshold=raw.get("threshold"), decision=raw.get("decision"), details=dict(raw["details"]))


def audit_check_of(raw: dict[str, Any]) -> AuditCheck:
    return AuditCheck(ok=bool(raw["ok"]), n_rows=int(raw["n_rows"]), head=raw["head"], head_id=int(raw["head_id"]),
                      keyed=bool(raw["keyed"]), problems=tuple(AuditProblem(int(p["event_id"]), p["kind"],
                                                                            p["message"]) for p in raw["problems"]))


def sample_of(raw: dict[str, Any]) -> StoredSample:
    return StoredSample(sample_id=int(raw["sample_id"]), subject_id=SubjectId(raw["subject_id"]),
                        modality=Modality(raw["modality"]), media_type=str(raw["media_type"]),
                        data=base64.b64decode(raw["data"]), meta=dict(raw["meta"]),
                        created_at=datetime.fromisoformat(raw["created_at"]))


def operator_of(raw: dict[str, Any]) -> OperatorInfo:
    locked = raw.get("locked_until")
    return OperatorInfo(name=raw["name"], role=raw["role"], disabled=bool(raw["disabled"]),
                        locked_until=None if locked is None else datetime.fromisoformat(locked),
                        failed_logins=int(raw["failed_logins"]), created_at=datetime.fromisoformat(raw["created_at"]))


def error_of(status: int, body: Any, *, retry_after: float | None) -> BiometrixError:
    """The core error a server's refusal stands for (its type by name among ``core.errors``; a 5xx or a refusal
    without a known type: ServerUnavailable)."""
    message = body.get("error") if isinstance(body, dict) else None
    name = body.get("type") if isinstance(body, dict) else None
    text = " ".join(str(message).split()) if message else f"the server answered HTTP {status}"
    if status == 503:
        wait = f" (retry in {retry_after:g} s)" if retry_after else ""
        return errors.ServerUnavailable(f"the server cannot decide now: {text}{wait}", retry_after=retry_after)
    if status == 429:
        return errors.AccessDenied(text)
    cls = getattr(errors, str(name), None) if isinstance(name, str) and name.isidentifier() else None
    if isinstance(cls, type) and issubclass(cls, BiometrixError) and cls is not errors.ServerUnavailable:
        return cls(text)
    if status == 401:
        return errors.AccessDenied(text)
    if status >= 500:
        return errors.ServerUnavailable(f"the server failed: {text}")
    return InvalidInput(text) if status in (400, 413, 415, 422) else BiometrixError(text)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _read(path: Path) -> bytes:
    if not path.is_file():
        raise InvalidInput(f"no such file: {path}")
    return path.read_bytes()
