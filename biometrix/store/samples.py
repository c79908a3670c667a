"""Raw enrollment samples: kept so templates can be re-made when the model changes."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from biometrix.core.errors import StoreError
from biometrix.core.types import Modality, SubjectId
from biometrix.store.base import SampleIn, StoredSample
from biometrix.store.crypto import DataKey

DATA, META = "samples.data", "samples.meta"


def put(
    conn: sqlite3.Connection, subject_id: str, modality: Modality, sample: SampleIn, *, meta: str, now: str,
    dek: DataKey | None,
) -> int:
    """Insert a raw sample, or reuse the identical one already kept (re-templating for a new model).

    With a data key the sample and its meta are sealed, and identical samples are found by a keyed digest.
    """
    data = bytes(sample.data)
    if dek is None:
        row = conn.execute(
            "SELECT sample_id FROM samples WHERE subject_id = ? AND modality = ? AND media_type = ? AND data = ?",
            (subject_id, modality.value, sample.media_type, data),
        ).fetchone()
        stored_data, stored_meta, digest = data, meta, None
    else:
        digest = dek.digest(sample.media_type.encode("utf-8") + b"\0" + data)
        row = conn.execute(
            "SELECT sample_id FROM samples WHERE subject_id = ? AND modality = ? AND digest = ?",
            (subject_id, modality.value, digest),
        ).fetchone()
        stored_data = dek.seal(data, column=DATA, owner=subject_id)
        stored_meta = dek.seal(meta.encode("utf-8"), column=META, owner=subject_id)
    if row is not None:
        return int(row[0])
    cur = conn.execute(
        "INSERT INTO samples (subject_id, modality, media_type, data, meta, created_at, digest)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (subject_id, modality.value, sample.media_type, stored_data, stored_meta, now, digest),
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


def read(conn: sqlite3.Connection, subject_id: str, modality: Modality, *, dek: DataKey | None
         ) -> list[StoredSample]:
    """The subject's samples of this modality, oldest first."""
    rows = conn.execute(
        "SELECT sample_id, media_type, data, meta, created_at FROM samples"
        " WHERE subject_id = ? AND modality = ? ORDER BY sample_id",
        (subject_id, modality.value),
    ).fetchall()
    return _opened(rows, subject_id, modality, dek)


def read_template(conn: sqlite3.Connection, template_id: int, subject_id: str, modality: Modality, *,
                  dek: DataKey | None) -> list[StoredSample]:
    """The samples behind one template's references, in reference order."""
    rows = conn.execute(
        "SELECT s.sample_id, s.media_type, s.data, s.meta, s.created_at FROM template_references r"
        " JOIN samples s USING (sample_id) WHERE r.template_id = ? ORDER BY r.position",
        (template_id,),
    ).fetchall()
    return _opened(rows, subject_id, modality, dek)


def _opened(rows: list[tuple], subject_id: str, modality: Modality, dek: DataKey | None) -> list[StoredSample]:
    return [
        StoredSample(
            sample_id=sample_id,
            subject_id=SubjectId(subject_id),
            modality=modality,
            media_type=media_type,
            data=bytes(data) if dek is None else dek.open(data, column=DATA, owner=subject_id),
            meta=json.loads(meta if dek is None else dek.open(meta, column=META, owner=subject_id)),
            created_at=datetime.fromisoformat(created),
        )
        for sample_id, media_type, data, meta, created in rows
    ]
