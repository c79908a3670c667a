"""The hash-chained audit log (store/audit.py, migration m002): edited, deleted and reordered rows are found."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from biometrix.core.errors import StoreError
from biometrix.core.types import Modality
from biometrix.store import SCHEMA_VERSION, SqliteStore, audit, migrations
from biometrix.store.db import connect

from .conftest import raw

FACE = Modality.FACE
COLUMNS = "at, event, subject_id, modality, model_id, distance, threshold, decision, details, prev_hash, hash"


def _fill(store: SqliteStore, n: int = 6) -> None:
    for i in range(n):
        store.record("verify", subject_id=f"c-{i:03d}", modality=FACE, model_id="f1", distance=0.1 * i + 0.05,
                     threshold=0.35, decision="Accept" if i % 2 else "Reject", details={"probe": f"p{i}.png"})


def _attacker(path: Path, *sql: str) -> None:
    """What someone with write access to the file can do: drop the triggers, change rows, commit."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("DROP TRIGGER audit_log_no_delete")
        for statement in sql:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def _check(path: Path) -> tuple[bool, list[tuple[int, str]]]:
    with SqliteStore(path, create=False) as s:
        check = s.verify_audit()
    return check.ok, [(p.event_id, p.kind) for p in check.problems]


def test_untouched_log_verifies_and_chains_from_genesis(db_path: Path, store: SqliteStore) -> None:
    _fill(store)
    check = store.verify_audit()
    assert (check.ok, check.n_rows, check.problems) == (True, 6, ())
    rows = raw(db_path, f"SELECT {COLUMNS} FROM audit_log ORDER BY event_id")
    assert rows[0][-2] == "0" * 64
    for before, row in zip(rows, rows[1:], strict=False):
        assert row[-2] == before[-1]
    for row in rows:  # an independent re-computation of each hash
        import hashlib
        import json

        text = json.dumps(list(row[:-1]), ensure_ascii=False, separators=(",", ":"))
        assert hashlib.sha256(text.encode()).hexdigest() == row[-1]
    assert check.head == rows[-1][-1]


def test_empty_log_verifies(store: SqliteStore) -> None:
    check = store.verify_audit()
    assert (check.ok, check.n_rows, check.head) == (True, 0, "0" * 64)


def test_edited_row_is_found(db_path: Path, store: SqliteStore) -> None:
    _fill(store)
    store.close()
    _attacker(db_path, "UPDATE audit_log SET decision = 'Accept' WHERE event_id = 3")
    assert _check(db_path) == (False, [(3, "edited")])


def test_edited_row_with_recomputed_hash_is_found(db_path: Path, store: SqliteStore) -> None:
    _fill(store)
    store.close()
    row = raw(db_path, f"SELECT {COLUMNS} FROM audit_log WHERE event_id = 3")[0]
    forged = (*row[:7], "Accept", row[8], row[9])
    _attacker(db_path, f"UPDATE audit_log SET decision = 'Accept', hash = '{audit.row_hash(forged)}' "
                       "WHERE event_id = 3")
    assert _check(db_path) == (False, [(3, "edited")])


@pytest.mark.parametrize("victim", [1, 3, 6])
def test_deleted_row_is_found(db_path: Path, store: SqliteStore, victim: int) -> None:
    _fill(store)
    store.close()
    _attacker(db_path, f"DELETE FROM audit_log WHERE event_id = {victim}")
    ok, problems = _check(db_path)
    assert (ok, problems) == (False, [(victim, "deleted")])


def test_deleted_rows_in_a_run_are_named(db_path: Path, store: SqliteStore) -> None:
    _fill(store)
    store.close()
    _attacker(db_path, "DELETE FROM audit_log WHERE event_id IN (2, 3, 4)")
    with SqliteStore(db_path, create=False) as s:
        check = s.verify_audit()
    assert [(p.event_id, p.kind) for p in check.problems] == [(2, "deleted")]
    assert "2-4" in check.problems[0].message


@pytest.mark.parametrize("with_hashes", [True, False], ids=["whole-rows", "fields-only"])
@pytest.mark.parametrize("pair", [(2, 5), (3, 4), (1, 6)])
def test_reordered_rows_are_found(db_path: Path, store: SqliteStore, pair: tuple[int, int], with_hashes: bool) -> None:
    _fill(store)
    store.close()
    cols = COLUMNS.split(", ") if with_hashes else COLUMNS.split(", ")[:-2]
    a, b = pair
    row_a, row_b = (raw(db_path, f"SELECT {', '.join(cols)} FROM audit_log WHERE event_id = ?", (i,))[0] for i in pair)

    def set_to(row: tuple[object, ...], event_id: int) -> str:
        values = ", ".join(f"{c} = {'NULL' if v is None else repr(v)}" for c, v in zip(cols, row, strict=True))
        return f"UPDATE audit_log SET {values} WHERE event_id = {event_id}"

    _attacker(db_path, set_to(row_b, a), set_to(row_a, b))
    assert raw(db_path, f"SELECT subject_id FROM audit_log WHERE event_id IN ({a}, {b}) ORDER BY event_id") == [
        (f"c-{b - 1:03d}",), (f"c-{a - 1:03d}",)]
    assert _check(db_path) == (False, [(a, "reordered"), (b, "reordered")])


def _schema1_db(path: Path, monkeypatch: pytest.MonkeyPatch, n_rows: int) -> None:
    """A database as biometrix with schema 1 left it, with ``n_rows`` audit rows."""
    with monkeypatch.context() as m:
        m.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:1])
        m.setattr(migrations, "SCHEMA_VERSION", 1)
        conn = connect(path, create=True, max_version=1)
        try:
            migrations.apply(conn)
            for i in range(n_rows):
                conn.execute(
                    "INSERT INTO audit_log (at, event, subject_id, modality, model_id, distance, threshold, decision,"
                    " details) VALUES (?, 'verify', ?, 'face', 'f1', ?, 0.35, 'Accept', '{\"k\": \"é\"}')",
                    (f"2024-01-01T00:00:0{i}.000000+00:00", f"c-{i}", 0.1 * i),
                )
        finally:
            conn.close()
    assert raw(path, "PRAGMA user_version") == [(1,)]


def test_schema_1_database_migrates_and_verifies(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _schema1_db(db_path, monkeypatch, n_rows=5)
    before = raw(db_path, "SELECT event_id, at, subject_id, distance, details FROM audit_log ORDER BY event_id")
    with SqliteStore(db_path, create=False) as s:
        check = s.verify_audit()
        # the upgrade encrypted the plaintext database and says so in row 6, the first row with a MAC
        assert (check.ok, check.n_rows, check.keyed) == (True, 6, True)
        assert [(e.event_id, e.event, e.decision) for e in s.audit(event="key")] == [(6, "key", "encrypted")]
        s.record("erase", subject_id="erased:x", modality=None, model_id=None)  # the new event is allowed
        assert s.verify_audit().ok
    assert raw(db_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    after = raw(db_path, "SELECT event_id, at, subject_id, distance, details FROM audit_log ORDER BY event_id")
    assert after[:5] == before
    assert [r[0] for r in after[5:]] == [6, 7]
    assert raw(db_path, "SELECT event_id FROM audit_log WHERE mac IS NOT NULL") == [(6,), (7,)]
    conn = sqlite3.connect(db_path)
    try:  # the triggers came back with the rebuilt table
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE audit_log SET decision = 'x'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM audit_log")
    finally:
        conn.close()


def test_audit_migration_is_atomic(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _schema1_db(db_path, monkeypatch, n_rows=5)
    real = audit.row_hash
    calls = []

    def failing(fields: tuple[object, ...]) -> str:
        calls.append(fields)
        if len(calls) == 3:
            raise StoreError("disk on fire")
        return real(fields)

    monkeypatch.setattr(audit, "row_hash", failing)
    with pytest.raises(StoreError, match="disk on fire"):
        SqliteStore(db_path, create=False)
    assert raw(db_path, "PRAGMA user_version") == [(1,)]
    assert [r[1] for r in raw(db_path, "PRAGMA table_info(audit_log)")][-1] == "details"
    assert raw(db_path, "SELECT name FROM sqlite_master WHERE name LIKE 'audit_log%' ORDER BY name") == [
        ("audit_log",), ("audit_log_no_delete",), ("audit_log_no_update",), ("audit_log_subject",)]
    monkeypatch.setattr(audit, "row_hash", real)
    with SqliteStore(db_path, create=False) as s:
        assert s.verify_audit().ok
