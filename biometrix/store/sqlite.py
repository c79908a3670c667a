"""SqliteStore: the EnrollmentStore kept in one SQLite file."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from biometrix.core.errors import StoreError
from biometrix.store import backup as backup_file
from biometrix.store import migrations
from biometrix.store.base import AuditCheck
from biometrix.store.crypto import KeySource
from biometrix.store.db import connect, stored_version
from biometrix.store.sqlstore import SqlStore

log = logging.getLogger(__name__)


class SqliteStore(SqlStore):
    """An EnrollmentStore in a SQLite file (WAL); safe to share between threads, one call at a time.

    Templates, raw samples and display names are sealed with the database's data key (store/crypto.py).
    ``key`` says where its key-encryption key comes from (default: what the database records, or a key file
    for a new database). A new database is always encrypted; one written before encryption existed stays
    readable and is encrypted by ``rotate_key``. The key is checked before anything is written: a wrong key
    raises WrongKey and leaves the file as it was.

    ``actor`` is the operator named in the audit rows written from now on (None: unattributed).
    """

    _path: Path

    def __init__(self, path: str | Path, *, create: bool = True, key: KeySource | None = None) -> None:
        self._path = Path(path)
        self._lock = threading.RLock()
        self._init_state(key)
        conn = connect(self._path, create=create, max_version=migrations.SCHEMA_VERSION)
        try:
            before = stored_version(conn)
            if before >= 3:
                self._dek = self._unlock(conn)  # before any write: a wrong key changes nothing
            if before >= migrations.KEYED_MIGRATION:
                self._open_integrity(conn)  # a missing, downgraded or altered key record is refused here
            migrations.apply(conn, keyed=self._keyed_upgrade)
            if self._dek is None:
                self._first_key(conn)  # a new database (this process or another just made it)
            self._anchor_target = self._read_anchor(conn)
        except sqlite3.Error as e:
            conn.close()
            raise StoreError(f"cannot prepare the enrollment database {self._path}: {e}") from e
        except BaseException:
            conn.close()
            raise
        self._conn: sqlite3.Connection | None = conn

    @property
    def path(self) -> Path:
        return self._path

    def _where(self) -> str:
        return str(self._path.resolve())

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """The one open connection, under the store lock."""
        with self._lock:
            if self._conn is None:
                raise StoreError(f"the enrollment store {self._path} is closed")
            yield self._conn

    def _driver_error(self, error: BaseException) -> StoreError | None:
        if isinstance(error, sqlite3.Error):
            return StoreError(f"enrollment database error ({self._path}): {error}")
        return None

    @contextmanager
    def _scrubbing(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        """Freed pages are zeroed, not left readable in the file; then the WAL, which may still hold old copies
        of the pages, is checkpointed."""
        conn.execute("PRAGMA secure_delete = ON")
        try:
            yield conn
        finally:
            conn.execute("PRAGMA secure_delete = OFF")
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy:
            log.warning("another connection is reading %s: the WAL is checkpointed later", self._path)

    def _schema_version(self, conn: sqlite3.Connection) -> int:
        return migrations.current_version(conn)

    def backup(self, destination: str | Path) -> AuditCheck:
        with self._db() as conn:
            return backup_file.backup(conn, destination, supported=migrations.SCHEMA_VERSION)[1]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
