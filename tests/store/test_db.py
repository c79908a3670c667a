"""Tests for store/db.py: opening files safely and atomic() transactions."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from biometrix.core.errors import StoreError
from biometrix.store import SqliteStore
from biometrix.store.db import atomic, connect


def test_missing_file_without_create_is_a_store_error_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "biometrix.db"
    with pytest.raises(StoreError) as err:
        connect(path, create=False)
    assert str(err.value) == f"no enrollment database at {path}; enroll someone first or pass --db"
    with pytest.raises(StoreError, match="no enrollment database"):
        SqliteStore(path, create=False)
    assert not path.exists()
    assert not path.parent.exists()


def test_create_makes_parent_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "biometrix.db"
    SqliteStore(path).close()
    assert path.is_file()
    SqliteStore(path, create=False).close()  # now it exists


def test_connection_pragmas(tmp_path: Path) -> None:
    conn = connect(tmp_path / "x.db", create=True)
    try:
        assert conn.isolation_level is None
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
    finally:
        conn.close()


def test_store_file_is_really_in_wal_mode(db_path: Path) -> None:
    SqliteStore(db_path).close()
    conn = sqlite3.connect(db_path)
    try:  # WAL is persistent: a fresh connection sees it
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


@pytest.mark.parametrize("content", [b"this is not a database at all" * 50, bytes(range(256)) * 16])
def test_garbage_file_is_a_store_error_and_left_alone(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(content)
    with pytest.raises(StoreError, match="is not a SQLite enrollment database") as err:
        SqliteStore(path, create=False)
    assert "\n" not in str(err.value)
    assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(content).digest()


def test_a_folder_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a folder"):
        SqliteStore(tmp_path)


def test_another_programs_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a biometrix enrollment database"):
        SqliteStore(path)
    assert [r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")] == ["invoices"]


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    c = connect(tmp_path / "t.db", create=True)
    c.execute("CREATE TABLE t (x INTEGER)")
    yield c
    c.close()


def _xs(conn: sqlite3.Connection) -> list[int]:
    return [r[0] for r in conn.execute("SELECT x FROM t ORDER BY x")]


def test_atomic_commits(conn: sqlite3.Connection) -> None:
    with atomic(conn):
        conn.execute("INSERT INTO t VALUES (1)")
        assert conn.in_transaction
    assert not conn.in_transaction
    assert _xs(conn) == [1]


def test_atomic_rolls_back_on_any_exception(conn: sqlite3.Connection) -> None:
    with pytest.raises(KeyboardInterrupt):
        with atomic(conn):
            conn.execute("INSERT INTO t VALUES (1)")
            raise KeyboardInterrupt
    assert not conn.in_transaction
    assert _xs(conn) == []


def test_nested_atomic_uses_savepoints(conn: sqlite3.Connection) -> None:
    with atomic(conn):
        conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(ValueError):
            with atomic(conn):
                conn.execute("INSERT INTO t VALUES (2)")
                raise ValueError("inner")
        with atomic(conn):
            conn.execute("INSERT INTO t VALUES (3)")
        assert conn.in_transaction
    assert _xs(conn) == [1, 3]


def test_outer_failure_undoes_released_savepoints(conn: sqlite3.Connection) -> None:
    with pytest.raises(RuntimeError):
        with atomic(conn):
            with atomic(conn):
                conn.execute("INSERT INTO t VALUES (1)")
            raise RuntimeError("outer")
    assert _xs(conn) == []


def test_atomic_takes_the_write_lock_at_begin(conn: sqlite3.Connection, tmp_path: Path) -> None:
    other = sqlite3.connect(tmp_path / "t.db", isolation_level=None, timeout=0)
    try:
        with atomic(conn):  # BEGIN IMMEDIATE: locked before any statement runs
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
    finally:
        other.close()


def test_atomic_refuses_a_connection_with_implicit_transactions(tmp_path: Path) -> None:
    c = sqlite3.connect(tmp_path / "implicit.db")
    try:
        with pytest.raises(StoreError, match="isolation_level=None"):
            with atomic(c):
                pass
    finally:
        c.close()
