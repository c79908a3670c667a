"""The append-only, hash-chained audit log: writing, reading and verifying audit_log rows.

Each row's hash covers its fields and the previous row's hash (the chain). From the row the database's key
record names (``audit_mac_from``) on, each row also carries a MAC of (event_id, hash) under the database's
integrity key, and the newest (event_id, hash) is kept as the protected setting ``audit.head``: rewriting
every hash after an edit, or cutting rows off the end, is then found without any copy kept outside. Whoever
holds the key can still rewrite; against that, the head is exported (``--expect-head``, the anchor file).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from biometrix.core.errors import InvalidInput, StoreError, TamperDetected
from biometrix.core.types import Modality, SubjectId
from biometrix.store import protected
from biometrix.store.base import AUDIT_EVENTS, AuditCheck, AuditEntry, AuditProblem
from biometrix.store.crypto import IntegrityKey
from biometrix.store.db import dialect

#: prev_hash of the first audit row.
GENESIS = "0" * 64

#: The protected setting holding "<event_id>:<hash>" of the newest row; the MAC purpose of audit rows.
HEAD_KEY = "audit.head"
MAC_PURPOSE = "audit"
MAX_ANCHOR_BYTES = 256 * 2**20
#: LIMIT of an audit read without a limit (SQLite's -1 is an error in PostgreSQL).
NO_LIMIT = 2**62


class Anchor(NamedTuple):
    """One head an anchor file recorded."""

    database_id: str
    event_id: int
    head: str

#: The hashed columns, in the order they are serialised (prev_hash last); event_id is not hashed: the chain
#: itself fixes the order.
HASHED_COLUMNS = ("at", "event", "subject_id", "modality", "model_id", "distance", "threshold", "decision",
                  "details", "prev_hash")


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


def row_hash(fields: tuple[Any, ...]) -> str:
    """sha256 hex of one row's HASHED_COLUMNS values as compact JSON (UTF-8, no NaN).

    Frozen: migration m002 and every database written since depend on exactly this serialisation.
    """
    if len(fields) != len(HASHED_COLUMNS):
        raise StoreError(f"an audit row hash needs {len(HASHED_COLUMNS)} fields, got {len(fields)}")
    text = json.dumps(list(fields), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _newest(conn: sqlite3.Connection) -> tuple[Any, ...] | None:
    """(event_id, hash, mac) of the newest audit row, or None; read it under the write lock."""
    return conn.execute("SELECT event_id, hash, mac FROM audit_log ORDER BY event_id DESC LIMIT 1").fetchone()


def last_hash(conn: sqlite3.Connection, newest: tuple[Any, ...] | None = None) -> str:
    """The hash of the newest audit row (GENESIS for an empty log); read it under the write lock."""
    row = _newest(conn) if newest is None else newest
    return GENESIS if row is None else str(row[1])


def next_id(conn: sqlite3.Connection, newest: tuple[Any, ...] | None = None) -> int:
    """The event_id the next row gets: above every row there is and every id ever handed out."""
    row = _newest(conn) if newest is None else newest
    return max(0 if row is None else int(row[0]), _sequence(conn) or 0) + 1


def row_mac(integrity: IntegrityKey, event_id: int, digest: str) -> str:
    return integrity.mac(MAC_PURPOSE, f"{int(event_id)}|{digest}".encode())


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
    operator: str | None = None,
    integrity: IntegrityKey | None = None,
) -> int:
    """Insert one audit row chained to the newest one and return its event_id.

    The caller holds the (BEGIN IMMEDIATE) transaction, so the newest hash cannot change under us.
    ``operator`` is kept in the details (so the hash covers it) under "operator". With ``integrity`` the row
    gets its MAC and becomes the protected head (in the same transaction).
    """
    if operator is not None:
        details = {**(details or {}), "operator": operator}
    if not conn.in_transaction:
        raise StoreError("audit rows are appended inside a write transaction (store.db.atomic)")
    if event not in AUDIT_EVENTS:
        raise InvalidInput(f"unknown audit event {event!r}; expected one of {list(AUDIT_EVENTS)}")
    newest = _newest(conn)
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
        last_hash(conn, newest),
    )
    digest = row_hash(row)
    if integrity is None:
        cur = conn.execute(
            "INSERT INTO audit_log (at, event, subject_id, modality, model_id, distance, threshold, decision,"
            " details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*row, digest),
        )
        if cur.lastrowid is None:
            raise StoreError("the database did not report the id of the inserted row")
        return cur.lastrowid
    _check_head(conn, integrity, newest)
    event_id = next_id(conn, newest)
    conn.execute(
        "INSERT INTO audit_log (event_id, at, event, subject_id, modality, model_id, distance, threshold, decision,"
        " details, prev_hash, hash, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (event_id, *row, digest, row_mac(integrity, event_id, digest)),
    )
    protected.put(conn, integrity, HEAD_KEY, f"{event_id}:{digest}", now=row[0])
    return event_id


def head_of(conn: sqlite3.Connection, event_id: int) -> str:
    """The hash of the row ``event_id`` (just appended, in the caller's transaction)."""
    return str(conn.execute("SELECT hash FROM audit_log WHERE event_id = ?", (event_id,)).fetchone()[0])


def _check_head(conn: sqlite3.Connection, integrity: IntegrityKey, row: tuple[Any, ...] | None) -> None:
    """Before a keyed append: the protected head must name the newest row ``row`` (TamperDetected otherwise), so
    that a log cut or edited at its end is never continued, which would make the cut invisible."""
    head = protected.get(conn, integrity, HEAD_KEY)
    if head is None:
        if row is not None and row[2] is not None:
            raise TamperDetected("the audit log's protected head was removed: nothing more is written to this "
                                 "database (check it: biometrix audit verify; restore it from a backup)")
        return
    if row is None or f"{row[0]}:{row[1]}" != head:
        head_id = str(head).partition(":")[0]
        if row is not None and str(row[0]) == head_id:
            what = f"its last row {row[0]} is not the row its protected head recorded"
        else:
            what = f"it {'is empty' if row is None else f'ends at row {row[0]}'}, its protected head is row {head_id}"
        raise TamperDetected(f"the audit log was altered outside biometrix ({what}): nothing more is written to "
                             "this database (see 'biometrix audit verify'; restore it from a backup)")


def read(
    conn: sqlite3.Connection, *, subject_id: str | None, event: str | None, limit: int | None
) -> list[AuditEntry]:
    """Rows matching the filters, oldest first; ``limit`` keeps the most recent ones."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise InvalidInput(f"limit must be a non-negative integer, got {limit!r}")
    rows = conn.execute(
        f"SELECT {_ENTRY_COLUMNS} FROM audit_log WHERE (CAST(? AS TEXT) IS NULL OR subject_id = ?)"
        " AND (CAST(? AS TEXT) IS NULL OR event = ?) ORDER BY event_id DESC LIMIT ?",
        (subject_id, subject_id, event, event, NO_LIMIT if limit is None else limit),
    ).fetchall()
    return [_entry(row) for row in reversed(rows)]


def read_one(conn: sqlite3.Connection, event_id: int) -> AuditEntry | None:
    """The audit row ``event_id``, or None."""
    row = conn.execute(f"SELECT {_ENTRY_COLUMNS} FROM audit_log WHERE event_id = ?", (event_id,)).fetchone()
    return None if row is None else _entry(row)


def resolution_of(conn: sqlite3.Connection, event_id: int) -> int | None:
    """The 'resolve' row that settles the referred verification ``event_id``, or None."""
    refers_to = "(details::jsonb ->> 'refers_to')" if dialect(conn) == "postgresql" else \
        "CAST(json_extract(details, '$.refers_to') AS TEXT)"
    row = conn.execute(f"SELECT event_id FROM audit_log WHERE event = 'resolve' AND {refers_to} = ? LIMIT 1",
                       (str(int(event_id)),)).fetchone()
    return None if row is None else int(row[0])


_ENTRY_COLUMNS = "event_id, at, event, subject_id, modality, model_id, distance, threshold, decision, details"


def _entry(row: tuple[Any, ...]) -> AuditEntry:
    eid, at, ev, sid, mod, model_id, dist, thr, decision, details = row
    return AuditEntry(event_id=eid, at=datetime.fromisoformat(at), event=ev,
                      subject_id=None if sid is None else SubjectId(sid),
                      modality=None if mod is None else Modality(mod), model_id=model_id, distance=dist,
                      threshold=thr, decision=decision, details=json.loads(details))


def _sequence(conn: sqlite3.Connection) -> int | None:
    table = "audit_sequence" if dialect(conn) == "postgresql" else "sqlite_sequence"
    row = conn.execute(f"SELECT seq FROM {table} WHERE name = 'audit_log'").fetchone()
    return None if row is None else int(row[0])


def read_anchor_file(path: str | os.PathLike[str]) -> list[Anchor]:
    """The heads an anchor file recorded (one JSON object a line: database_id, event_id, head); a line that is
    not such an object is an InvalidInput naming its number."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_ANCHOR_BYTES:
            raise InvalidInput(f"the anchor file {p} is over {MAX_ANCHOR_BYTES // 2**20} MiB: rotate it")
        lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInput(f"cannot read the anchor file {p}: {e}") from None
    anchors = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            anchors.append(Anchor(str(obj["database_id"]), int(obj["event_id"]), str(obj["head"])))
        except (ValueError, KeyError, TypeError):
            raise InvalidInput(f"line {n} of the anchor file {p} is not an audit head record") from None
    return anchors


def verify(conn: sqlite3.Connection, *, integrity: IntegrityKey | None = None, mac_from: int | None = None,
           expect_head: str | None = None, anchors: Sequence[tuple[int, str]] = ()) -> AuditCheck:
    """Re-compute the hash chain, oldest row first, and name each row that was edited, deleted or moved.

    A row whose hash does not match its own fields was edited (or, when its fields hash correctly with another
    row's prev_hash, swapped with that row). A row whose prev_hash is not its predecessor's hash follows a
    deletion (event_id gap), a rewritten predecessor (no gap), or was moved (its prev_hash is another row's
    hash and the row after it does not chain to it either). Rows removed from the end are found through
    sqlite_sequence only; an attacker who rewrites the whole chain from some row on is found only by comparing
    ``head`` with a copy kept outside the database.

    With ``integrity`` (the database's integrity key) and ``mac_from`` (the first MACed row, from the key
    record), every row from ``mac_from`` on must carry its MAC and the protected head must name the newest row:
    a full rewrite without the key, or a cut tail, is found. ``expect_head`` ("HASH" or "EVENT_ID:HASH", a head
    exported earlier) must be a row of the chain (the log may have grown since).
    """
    rows = conn.execute(
        f"SELECT event_id, {', '.join(HASHED_COLUMNS)}, hash FROM audit_log ORDER BY event_id"
    ).fetchall()
    ids = [int(r[0]) for r in rows]
    fields = [tuple(r[1:-1]) for r in rows]
    stored = [r[-1] for r in rows]
    prevs = [f[-1] for f in fields]
    problems: dict[tuple[int, str], str] = {}

    def self_ok(content: tuple[Any, ...], prev: Any, expected: Any) -> bool:
        try:
            return row_hash((*content[:-1], prev)) == expected
        except (TypeError, ValueError, StoreError):
            return False

    consistent = [self_ok(f, f[-1], h) for f, h in zip(fields, stored, strict=True)]
    failing = [i for i, ok in enumerate(consistent) if not ok]
    for i in failing:  # contents swapped while the hash columns stayed put
        home = next((j for j in failing if j != i and self_ok(fields[i], prevs[j], stored[j])), None)
        if home is not None:
            problems[(ids[i], "reordered")] = (
                f"audit row {ids[i]} holds the content of row {ids[home]}: rows were reordered")
        elif stored[i] is None:
            problems[(ids[i], "edited")] = f"audit row {ids[i]} has no hash: it was written outside biometrix"
        else:
            problems[(ids[i], "edited")] = f"audit row {ids[i]} does not match its hash: it was edited"
    holder = {h: i for i, h in enumerate(stored) if h is not None}
    referenced = {p for p in prevs if p is not None}
    for i in range(len(rows)):
        expected_prev = GENESIS if i == 0 else stored[i - 1]
        if prevs[i] == expected_prev or not consistent[i]:
            continue
        points_home = prevs[i] == GENESIS or prevs[i] in holder
        if i + 1 < len(rows):
            forward_broken = prevs[i + 1] != stored[i]
        else:
            forward_broken = stored[i] in referenced
        first_expected = 1 if i == 0 else ids[i - 1] + 1
        if points_home and forward_broken:
            problems[(ids[i], "reordered")] = (
                f"audit row {ids[i]} is out of place: it chains after another row than the one before it")
        elif points_home:
            continue  # this row is where it belongs; the row before it was moved and is reported
        elif ids[i] > first_expected:
            gone = f"{first_expected}" if ids[i] == first_expected + 1 else f"{first_expected}-{ids[i] - 1}"
            problems[(first_expected, "deleted")] = f"audit row(s) {gone} were deleted: row {ids[i]} chains to " \
                                                    "a row that is no longer there"
        elif i == 0:
            problems[(ids[i], "unchained")] = f"audit row {ids[i]} is the first row but does not start the chain"
        else:
            problems[(ids[i - 1], "edited")] = (
                f"audit row {ids[i - 1]} was rewritten (row {ids[i]} chains to a different hash), "
                "or rows after it were deleted and the rest renumbered")
    seq = _sequence(conn)
    last_id = ids[-1] if ids else 0
    if seq is not None and seq > last_id:
        gone = f"{last_id + 1}" if seq == last_id + 1 else f"{last_id + 1}-{seq}"
        problems[(last_id + 1, "deleted")] = f"audit row(s) {gone} were deleted from the end of the log"
    if integrity is not None and mac_from is not None:
        macs = {int(r[0]): r[1] for r in conn.execute("SELECT event_id, mac FROM audit_log WHERE event_id >= ?",
                                                      (int(mac_from),)).fetchall()}
        _check_keyed(conn, integrity, mac_from, ids, stored, macs, problems)
    if expect_head is not None:
        _check_expected(expect_head, ids, stored, problems)
    position = {event_id: n for n, event_id in enumerate(ids)}
    for event_id, digest in anchors:
        if event_id not in position or stored[position[event_id]] != digest:
            problems.setdefault((event_id, "anchor"), f"audit row {event_id} is not the row the anchor recorded "
                                                      f"(head {digest[:16]}…): it was rewritten or removed")
    found = tuple(AuditProblem(event_id=eid, kind=kind, message=msg)
                  for (eid, kind), msg in sorted(problems.items()))
    return AuditCheck(ok=not found, n_rows=len(rows), problems=found,
                      head=GENESIS if not stored or stored[-1] is None else str(stored[-1]),
                      keyed=integrity is not None and mac_from is not None,
                      head_id=last_id)


def _check_keyed(conn: sqlite3.Connection, integrity: IntegrityKey, mac_from: int, ids: list[int],
                 stored: list[Any], macs: dict[int, Any], problems: dict[tuple[int, str], str]) -> None:
    """Every row from ``mac_from`` on carries a valid MAC; the protected head names the newest row."""
    flagged = {event_id for event_id, _ in problems}
    for event_id, digest in zip(ids, stored, strict=True):
        if event_id < mac_from or event_id in flagged:
            continue
        tag = macs.get(event_id)
        expected = row_mac(integrity, event_id, str(digest))
        if not (isinstance(tag, str) and hmac.compare_digest(tag, expected)):
            problems.setdefault((event_id, "edited"), f"audit row {event_id} fails its MAC: it was written or "
                                                      "rewritten without the database's key")
    try:
        head = protected.get(conn, integrity, HEAD_KEY)
    except StoreError as err:
        problems[(0, "head")] = str(err)
        return
    keyed_rows = [i for i in ids if i >= mac_from]
    if head is None:
        if keyed_rows:
            problems[(keyed_rows[0], "head")] = "the audit log's protected head is missing: it was removed"
        return
    head_id_text, _, head_hash = str(head).partition(":")
    head_id = int(head_id_text) if head_id_text.isdigit() else -1
    if head_id in flagged:
        return  # that row's problem is reported already
    position = {event_id: n for n, event_id in enumerate(ids)}
    last_id = ids[-1] if ids else 0
    if head_id > last_id or head_id not in position:
        problems[(head_id, "deleted")] = (f"the log ends at row {last_id} but its protected head is row {head_id}: "
                                          "rows were cut from the end")
    elif stored[position[head_id]] != head_hash:
        problems[(head_id, "edited")] = f"audit row {head_id} is not the row the protected head recorded"
    elif head_id < last_id:
        problems[(head_id + 1, "unchained")] = (f"audit rows after {head_id} were added without the database's "
                                                "key")


def _check_expected(expect_head: str, ids: list[int], stored: list[Any],
                    problems: dict[tuple[int, str], str]) -> None:
    """The exported head ``expect_head`` ("HASH" or "ID:HASH") must still be in the chain."""
    wanted_id_text, _, wanted_hash = expect_head.strip().rpartition(":")
    wanted_hash = wanted_hash.lower()
    at = [i for i, h in zip(ids, stored, strict=True) if h == wanted_hash]
    if not at:
        problems[(0, "anchor")] = (f"the expected head {wanted_hash[:16]}… is not in the audit log: the log was "
                                   "rewritten or cut after that head was exported")
    elif wanted_id_text and (not wanted_id_text.isdigit() or int(wanted_id_text) not in at):
        problems[(at[0], "anchor")] = (f"the expected head {wanted_hash[:16]}… is row {at[0]} here, not row "
                                       f"{wanted_id_text}: rows were renumbered")
