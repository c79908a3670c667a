"""Tests for store/migrations.py: numbered, recorded, atomic, and refusing newer schemas untouched."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from biometrix.core.errors import SchemaTooNew, StoreError
from biometrix.store import SCHEMA_VERSION, SqliteStore, migrations
from biometrix.store.db import connect

from .conftest import raw


def test_migrations_are_numbered_in_order() -> None:
    numbers = [n for n, _, _ in migrations.MIGRATIONS]
    assert numbers == list(range(1, len(numbers) + 1))
    assert SCHEMA_VERSION == numbers[-1]
    for n, name, fn in migrations.MIGRATIONS:
        assert fn.__name__ == f"m{n:03d}_{name}"


def test_new_database_records_every_migration(db_path: Path) -> None:
    SqliteStore(db_path).close()
    rows = raw(db_path, "SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
    assert [(v, n) for v, n, _ in rows] == [(n, name) for n, name, _ in migrations.MIGRATIONS]
    assert all(str(at).endswith("+00:00") for _, _, at in rows)
    assert raw(db_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    tables = {r[0] for r in raw(db_path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"subjects", "samples", "templates", "template_references", "audit_log"} <= tables


def test_apply_is_idempotent(db_path: Path) -> None:
    SqliteStore(db_path).close()
    conn = connect(db_path, create=False)
    try:
        assert migrations.apply(conn) == []
        assert migrations.current_version(conn) == SCHEMA_VERSION
    finally:
        conn.close()
    assert raw(db_path, "SELECT count(*) FROM schema_migrations") == [(SCHEMA_VERSION,)]


def test_a_failing_migration_leaves_no_trace(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    SqliteStore(db_path).close()

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x INTEGER)")
        conn.execute("ALTER TABLE no_such_table ADD COLUMN y INTEGER")

    nxt = SCHEMA_VERSION + 1
    monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, (nxt, "broken", broken)))
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", nxt)
    with pytest.raises(StoreError, match="no_such_table"):
        SqliteStore(db_path)
    assert raw(db_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert raw(db_path, "SELECT max(version) FROM schema_migrations") == [(SCHEMA_VERSION,)]
    assert raw(db_path, "SELECT name FROM sqlite_master WHERE name = 'half_done'") == []


def _future_db(path: Path, *, with_row: bool) -> None:
    """A database as a newer biometrix would leave it, in rollback-journal mode."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT)")
    if with_row:
        conn.execute(
            "INSERT INTO schema_migrations VALUES (?, 'future', '2030-01-01T00:00:00.000000+00:00')",
            (SCHEMA_VERSION + 1,),
        )
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("with_row", [True, False])
def test_newer_schema_is_refused_and_file_unchanged(tmp_path: Path, with_row: bool) -> None:
    path = tmp_path / "future.db"
    _future_db(path, with_row=with_row)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(SchemaTooNew) as err:
        SqliteStore(path, create=False)
    assert str(err.value) == (
        f"database schema version {SCHEMA_VERSION + 1} is newer than this biometrix supports "
        f"({SCHEMA_VERSION}); upgrade biometrix"
    )
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert raw(path, "PRAGMA journal_mode") == [("delete",)]
    assert not path.with_name("future.db-wal").exists()


def test_newer_schema_found_only_in_schema_migrations(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    _future_db(path, with_row=True)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 0")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaTooNew, match=f"version {SCHEMA_VERSION + 1} is newer"):
        SqliteStore(path)
