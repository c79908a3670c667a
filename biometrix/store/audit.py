"""The append-only audit log: writing and reading audit_log rows inside the caller's transaction."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

import numpy as np

from biometrix.core.errors import InvalidInput, StoreError
from biometrix.core.types import Modality, SubjectId
from biometrix.store.base import AUDIT_EVENTS, AuditEntry


def now_utc() -> str:
    """The current time as UTC ISO-8601 with microseconds, as every timestamp in the store."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def to_json(value: dict[str, Any] | None, what: str) -> str:
    """A dict (or None) as canonical JSON text; InvalidInput when it cannot be stored."""
    if value is None:
        return "{}"
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a dict, got {type(value).__name__}")
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as e:
        raise InvalidInput(f"{what} cannot be stored as JSON: {e}") from e


def _finite_or_none(value: float | None, what: str) -> float | None:
    if value is None:
        return None
    if not np.isfinite(value):
        raise InvalidInput(f"{what} must be a finite number, got {value!r}")
    return float(value)


def append(
    conn: sqlite3.Connection,
    event: str,
    *,
    subject_id: str | None,
    modality: Modality | None,
    model_id: str | None,
    distance: float | None = None,
    threshold: float | None = None,
    decision: str | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """Insert one audit row (the caller holds the transaction) and return its event_id."""
    if event not in AUDIT_EVENTS:
        raise InvalidInput(f"unknown audit event {event!r}; expected one of {list(AUDIT_EVENTS)}")
    row = (
        now_utc(),
        event,
        subject_id,
        None if modality is None else Modality(modality).value,
        model_id,
        _finite_or_none(distance, "distance"),
        _finite_or_none(threshold, "threshold"),
        decision,
        to_json(details, "audit details"),
    )
    cur = conn.execute(
        "INSERT INTO audit_log (at, event, subject_id, modality, model_id, distance, threshold, decision,"
        " details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        row,
    )
    if cur.lastrowid is None:
        raise StoreError("the database did not report the id of the inserted row")
    return cur.lastrowid


def read(
    conn: sqlite3.Connection, *, subject_id: str | None, event: str | None, limit: int | None
) -> list[AuditEntry]:
    """Rows matching the filters, oldest first; ``limit`` keeps the most recent ones."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise InvalidInput(f"limit must be a non-negative integer, got {limit!r}")
    rows = conn.execute(
        "SELECT event_id, at, event, subject_id, modality, model_id, distance, threshold, decision, details"
        " FROM audit_log WHERE (?1 IS NULL OR subject_id = ?1) AND (?2 IS NULL OR event = ?2)"
        " ORDER BY event_id DESC LIMIT ?3",
        (subject_id, event, -1 if limit is None else limit),
    ).fetchall()
    return [
        AuditEntry(
            event_id=eid,
            at=datetime.fromisoformat(at),
            event=ev,
            subject_id=None if sid is None else SubjectId(sid),
            modality=None if mod is None else Modality(mod),
            model_id=model_id,
            distance=dist,
            threshold=thr,
            decision=decision,
            details=json.loads(details),
        )
        for eid, at, ev, sid, mod, model_id, dist, thr, decision, details in reversed(rows)
    ]
