"""Both store engines behind one test helper: ``Engine`` opens stores on one database (each a separate pool or
connection, as another process would) and acts as an attacker with full access to it (the SQLite file, or the
PostgreSQL OWNER role)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from biometrix.store import EnrollmentStore, KeySource, open_store

#: The SQLite file's append-only triggers, which an attacker with the file drops first.
_SQLITE_TRIGGERS = ("audit_log_no_update", "audit_log_no_delete")


@dataclass(frozen=True)
class Engine:
    """One database of one engine: ``target`` is what ``open_store`` takes (a file path or the server's URL);
    ``owner`` is the SQLite file or the PostgreSQL owner's URL."""

    name: str
    target: str
    owner: str

    def open(self, *, key: KeySource | None = None) -> EnrollmentStore:
        return open_store(self.target, key=key)

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        """A constant query's rows, read straight from the database with full access."""
        if self.name == "sqlite":
            conn = sqlite3.connect(self.owner)
            try:
                return conn.execute(query).fetchall()
            finally:
                conn.close()
        import psycopg

        with psycopg.connect(self.owner, autocommit=True) as conn:
            return conn.execute(query).fetchall()

    def tamper(self, *statements: str) -> None:
        """What someone with full access does: switch the audit log's append-only triggers off, run the constant
        ``statements``, commit."""
        if self.name == "sqlite":
            conn = sqlite3.connect(self.owner)
            try:
                for trigger in _SQLITE_TRIGGERS:
                    conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
                for statement in statements:
                    conn.execute(statement)
                conn.commit()
            finally:
                conn.close()
            return
        import psycopg

        with psycopg.connect(self.owner) as conn:  # one transaction, committed on exit
            conn.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
            for statement in statements:
                conn.execute(statement)
            conn.execute("ALTER TABLE audit_log ENABLE TRIGGER USER")


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh database of each engine (the PostgreSQL one set up by its owner, opened as its server role)."""
    if request.param == "sqlite":
        path = str(tmp_path / "biometrix.db")
        yield Engine("sqlite", path, path)
        return
    db = request.getfixturevalue("pg_ready")
    yield Engine("postgres", db.server_url, db.owner_url)
