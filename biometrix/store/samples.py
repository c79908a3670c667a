"""Raw enrollment samples: kept so templates can be re-made when the model changes."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from biometrix.core.errors import StoreError
from biometrix.core.types import Modality, SubjectId
from biometrix.store.base import SampleIn, StoredSample


def put(
    conn: sqlite3.Connection, subject_id: str, modality: Modality, sample: SampleIn, *, meta: str, now: str
) -> int:
    """Insert a raw sample, or reuse the identical one already kept (re-templating for a new model)."""
    data = bytes(sample.data)
    row = conn.execute(
        "SELECT sample_id FROM samples WHERE subject_id = ? AND modality = ? AND media_type = ? AND data = ?",
        (subject_id, modality.value, sample.media_type, data),
    ).fetchone()
    if row is not None:
        return int(row[0])
    cur = conn.execute(
        "INSERT INTO samples (subject_id, modality, media_type, data, meta, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (subject_id, modality.value, sample.media_type, data, meta, now),
    )
    if cur.lastrowid is None:
        raise StoreError("the database did not report the id of the inserted row")
    return cur.lastrowid


def drop_unused(conn: sqlite3.Connection, subject_id: str, modality: Modality) -> int:
    """Delete the subject's samples of this modality that no template refers to any more; returns how many."""
    return conn.execute(
        "DELETE FROM samples WHERE subject_id = ? AND modality = ? AND sample_id NOT IN"
        " (SELECT sample_id FROM template_references WHERE sample_id IS NOT NULL)",
        (subject_id, modality.value),
    ).rowcount


def read(conn: sqlite3.Connection, subject_id: str, modality: Modality) -> list[StoredSample]:
    """The subject's samples of this modality, oldest first."""
    rows = conn.execute(
        "SELECT sample_id, media_type, data, meta, created_at FROM samples"
        " WHERE subject_id = ? AND modality = ? ORDER BY sample_id",
        (subject_id, modality.value),
    ).fetchall()
    return [
        StoredSample(
            sample_id=sample_id,
            subject_id=SubjectId(subject_id),
            modality=modality,
            media_type=media_type,
            data=bytes(data),
            meta=json.loads(meta),
            created_at=datetime.fromisoformat(created),
        )
        for sample_id, media_type, data, meta, created in rows
    ]
