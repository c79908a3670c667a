"""The psycopg side of the PostgreSQL store: a connection adapter that speaks the sqlite3 subset the store's SQL
modules use (constant SQL with ``?`` placeholders, ``execute`` -> cursor, ``lastrowid``, ``in_transaction``), so
that one set of SQL serves both engines. Values are always bound parameters; only placeholders are rewritten.

Imported only by store/postgres.py, lazily: psycopg is an optional extra (``pip install biometrix[postgres]``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from types import MappingProxyType
from typing import Any

import psycopg
from psycopg import pq

#: Every write transaction ("BEGIN IMMEDIATE") takes this advisory lock first, as SQLite's BEGIN IMMEDIATE takes
#: the database's write lock: the audit chain (read the newest hash, append after it) and the template change
#: log (its seqs visible in commit order) need writers one at a time, across every server process.
WRITE_LOCK = 0x62696F6D  # "biom"
_BEGIN_WRITE = f"BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})"

#: The key column an INSERT reports as ``lastrowid`` (PostgreSQL has no rowid: RETURNING it).
_KEYS = MappingProxyType({"samples": "sample_id", "templates": "template_id", "audit_log": "event_id"})
_INSERT = re.compile(r"\s*INSERT\s+INTO\s+(\w+)\s*\(", re.IGNORECASE)

_IDLE = pq.TransactionStatus.IDLE
_UNKNOWN = pq.TransactionStatus.UNKNOWN


def to_pg(sql: str) -> tuple[str, bool]:
    """The store's constant SQL for psycopg: ``%`` doubled, each ``?`` placeholder made ``%s``, and an INSERT into a
    table with a generated key made to return it (then True). (No statement of the store has a ``?`` inside a
    literal.)"""
    text = sql.replace("%", "%%").replace("?", "%s")
    match = _INSERT.match(text)
    if match and match.group(1) in _KEYS and "RETURNING" not in text.upper():
        return f"{text} RETURNING {_KEYS[match.group(1)]}", True
    return text, False


class PgCursor:
    """The part of a sqlite3 cursor the store reads: fetchone/fetchall/fetchmany, rowcount, lastrowid."""

    def __init__(self, cursor: psycopg.Cursor[Any], *, returning: bool) -> None:
        self._cursor = cursor
        self.rowcount = cursor.rowcount
        self.lastrowid: int | None = None
        self._returned: list[tuple[Any, ...]] = []
        if returning:
            self._returned = cursor.fetchall()
            self.lastrowid = int(self._returned[0][0]) if self._returned else None

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._returned:
            return self._returned.pop(0)
        return self._cursor.fetchone() if self._cursor.description else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._returned = self._returned, []
        return rows + (self._cursor.fetchall() if self._cursor.description else [])

    def fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        return self._cursor.fetchmany(size) if self._cursor.description else []

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.fetchall())


class PgConnection:
    """A pooled psycopg connection (autocommit) seen as the store's sqlite3 connection.

    ``BEGIN IMMEDIATE`` (store.db.atomic) opens a write transaction that first takes WRITE_LOCK; ``after_lock``
    (constant SQL, its row's check) runs under the lock in the same round trip: the store follows a key another
    process rotated before anything is sealed. A bare ``BEGIN``
    (a read walk: the audit check, a gallery read) opens a REPEATABLE READ one, one snapshot for the whole walk as
    in SQLite. SAVEPOINT, RELEASE, ROLLBACK TO, COMMIT and ROLLBACK pass through.
    """

    dialect = "postgresql"
    isolation_level = None  # as sqlite3's autocommit mode: transactions only through explicit BEGIN

    def __init__(self, conn: psycopg.Connection[Any], *,
                 after_lock: tuple[str, Callable[[PgConnection, tuple[Any, ...]], None]] | None = None) -> None:
        self._conn = conn
        self._after_lock = after_lock

    @property
    def raw(self) -> psycopg.Connection[Any]:
        """The psycopg connection (to hand back to its pool)."""
        return self._conn

    @property
    def in_transaction(self) -> bool:
        """Inside a transaction (also one a failed statement aborted: it still needs its ROLLBACK)."""
        return self._conn.info.transaction_status not in (_IDLE, _UNKNOWN)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> PgCursor:
        verb = sql.strip().upper()
        if verb == "BEGIN IMMEDIATE":  # one round trip: begin, take the lock, read what the caller checks under it
            if self._after_lock is None:
                self._conn.execute(_BEGIN_WRITE)
            else:
                query, check = self._after_lock
                cursor = self._conn.execute(f"{_BEGIN_WRITE}; {query}")  # constant SQL, no parameters
                cursor.nextset()
                cursor.nextset()
                row = cursor.fetchone()
                if row is None:
                    raise psycopg.InternalError("the write lock's check query returned no row")
                check(self, row)
            return PgCursor(self._conn.cursor(), returning=False)
        if verb == "BEGIN":
            sql = "BEGIN ISOLATION LEVEL REPEATABLE READ"
        if verb.startswith("PRAGMA"):
            raise psycopg.NotSupportedError(f"an SQLite statement reached PostgreSQL: {sql[:40]!r}")
        text, returning = to_pg(sql)
        return PgCursor(self._conn.execute(text, tuple(params)), returning=returning)

    def stream(self, sql: str, params: Sequence[Any] = ()) -> psycopg.ServerCursor[Any]:
        """A SELECT through a server-side cursor, inside the caller's transaction: ``fetchmany`` brings its rows in
        batches (a gallery's sealed templates are never all in memory at once); it ends with the transaction."""
        cursor = self._conn.cursor(name=f"bx_{uuid.uuid4().hex}")
        cursor.execute(to_pg(sql)[0], tuple(params))
        return cursor
