"""The templates of one model decrypted in bulk for the identification index, and their change log (migration 5)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from biometrix.core.errors import StoreError
from biometrix.core.types import Modality, SubjectId
from biometrix.store.base import GalleryDelta, GalleryRows

#: Opens one subject's sealed vectors: (blobs, subject_id) -> the float32 bytes of each.
Opener = Callable[[list[bytes], str], list[bytes]]

_ROWS = ("SELECT t.template_id, t.subject_id, r.dim, r.vector FROM templates t JOIN template_references r"
         " USING (template_id) WHERE t.modality = ? AND t.model_id = ?")
_ORDER = " ORDER BY t.template_id, r.position"
_IN_CHUNK = 500  # template ids per "IN (...)" of a change read


def version(conn: sqlite3.Connection) -> int:
    """The change counter: the seq of the last template change (0 before any)."""
    return int(conn.execute("SELECT coalesce(max(seq), 0) FROM template_changes").fetchone()[0])


def empty_rows() -> GalleryRows:
    return GalleryRows(subject_ids=(), template_ids=np.zeros(0, np.int64), counts=np.zeros(0, np.int32),
                       vectors=np.zeros((0, 0), np.float32))


def read(conn: sqlite3.Connection, modality: Modality, model_id: str, *, consume: Callable[[GalleryRows], None],
         batch: int, opener: Opener) -> int:
    """Pass every template of (modality, model_id) to ``consume``, ``batch`` templates at a time, from one read
    snapshot; returns the change counter of that snapshot."""
    if batch < 1:
        raise StoreError(f"a gallery batch must hold at least one template, got {batch}")
    conn.execute("BEGIN")
    try:
        seq = version(conn)
        for rows in _batches(_stream(conn, _ROWS + _ORDER, (modality.value, model_id)), batch, opener):
            consume(rows)
    finally:
        conn.execute("COMMIT")
    return seq


def _stream(conn: Any, sql: str, params: tuple[Any, ...]) -> Any:
    """The rows of a long read in batches: a PostgreSQL connection streams them from a server-side cursor
    (store/pgconn.py); a sqlite3 cursor steps through them anyway."""
    stream = getattr(conn, "stream", None)
    return conn.execute(sql, params) if stream is None else stream(sql, params)


def changes(conn: sqlite3.Connection, since: int, modality: Modality, model_id: str, *,
            opener: Opener) -> GalleryDelta:
    """The templates of (modality, model_id) inserted or deleted after change ``since``, from one snapshot."""
    conn.execute("BEGIN")
    try:
        seq = version(conn)
        oldest = conn.execute("SELECT min(seq) FROM template_changes").fetchone()[0]
        # seqs never repeat (AUTOINCREMENT) and only pruning leaves a gap: the log answers when it still holds
        # the change right after `since`; a counter below `since` is another (restored) history
        if since > seq or (since < seq and (oldest is None or oldest > since + 1)):
            return GalleryDelta(version=seq, touched=(), rows=empty_rows(), complete=False)
        touched = tuple(int(r[0]) for r in conn.execute(
            "SELECT DISTINCT template_id FROM template_changes WHERE seq > ? AND modality = ? AND model_id = ?"
            " ORDER BY template_id", (since, modality.value, model_id)))
        found: list[GalleryRows] = []
        for start in range(0, len(touched), _IN_CHUNK):
            ids = touched[start:start + _IN_CHUNK]
            cursor = conn.execute(_ROWS + f" AND t.template_id IN ({','.join('?' * len(ids))})" + _ORDER,
                                  (modality.value, model_id, *ids))
            found.extend(_batches(cursor, len(ids), opener))
    finally:
        conn.execute("COMMIT")
    return GalleryDelta(version=seq, touched=touched, rows=concatenate(found))


def concatenate(parts: Sequence[GalleryRows]) -> GalleryRows:
    """Several GalleryRows as one."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_rows()
    if len(parts) == 1:
        return parts[0]
    return GalleryRows(subject_ids=tuple(s for p in parts for s in p.subject_ids),
                       template_ids=np.concatenate([p.template_ids for p in parts]),
                       counts=np.concatenate([p.counts for p in parts]),
                       vectors=np.concatenate([p.vectors for p in parts]))


def _batches(cursor: sqlite3.Cursor, batch: int, opener: Opener) -> Iterable[GalleryRows]:
    """Rows (template_id, subject_id, dim, sealed vector) ordered by template, position -> GalleryRows of
    ``batch`` whole templates each."""
    pending: list[tuple[int, str, list[int], list[bytes]]] = []
    current: tuple[int, str, list[int], list[bytes]] | None = None
    while rows := cursor.fetchmany(8192):
        for template_id, subject_id, dim, vector in rows:
            if current is None or current[0] != template_id:
                if current is not None:
                    pending.append(current)
                    if len(pending) >= batch:
                        yield _opened(pending, opener)
                        pending = []
                current = (template_id, subject_id, [], [])
            current[2].append(dim)
            current[3].append(vector)
    if current is not None:
        pending.append(current)
    if pending:
        yield _opened(pending, opener)


def _opened(templates: list[tuple[int, str, list[int], list[bytes]]], opener: Opener) -> GalleryRows:
    dim = templates[0][2][0]
    plain: list[bytes] = []
    for _, subject_id, dims, sealed in templates:
        if any(d != dim for d in dims):
            raise StoreError(f"the references of {subject_id!r} and others of its model differ in dimension "
                             f"({sorted(set(dims) | {dim})}); the enrollment database may be corrupt")
        opened = opener(sealed, subject_id)
        if any(len(b) != 4 * dim for b in opened):
            raise StoreError(f"a stored embedding of {subject_id!r} is not {dim} float32 values; "
                             "the enrollment database may be corrupt")
        plain.extend(opened)
    vectors = np.frombuffer(b"".join(plain), dtype="<f4").reshape(len(plain), dim).astype(np.float32, copy=False)
    return GalleryRows(subject_ids=tuple(SubjectId(t[1]) for t in templates),
                       template_ids=np.array([t[0] for t in templates], dtype=np.int64),
                       counts=np.array([len(t[3]) for t in templates], dtype=np.int32),
                       vectors=vectors)
