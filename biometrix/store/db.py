"""SQLite connections for the store: opening with safe pragmas, and atomic() transactions."""

from __future__ import annotations

import logging
import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from biometrix.core.errors import SchemaTooNew, StoreError
from biometrix.store.files import create_private, make_private_dirs, remove_with_side_files

log = logging.getLogger(__name__)

#: How long a writer waits for another process's write lock before giving up ("database is locked").
BUSY_TIMEOUT_MS = 10_000


def dialect(conn: Any) -> str:
    """The SQL dialect a store connection speaks: "sqlite" (a sqlite3 connection) or the adapter's (store/pgconn.py)."""
    return str(getattr(conn, "dialect", "sqlite"))


def connect(
    path: str | Path, *, create: bool, max_version: int | None = None, check: bool = True
) -> sqlite3.Connection:
    """Open the database at ``path`` in autocommit mode (transactions only through ``atomic``).

    With ``create=False`` a missing file is a StoreError and nothing is created; with ``create=True``
    the file is created owner-only (0600; its -wal and -shm files follow), and any missing parent folder
    owner-only too (0700). A file that is not SQLite is a StoreError, and so is an empty (0-byte) file:
    a database is only ever created where no file is. When ``max_version`` is
    given, a database whose schema version is above it raises SchemaTooNew *before* anything is
    written (the journal mode is switched to WAL only after that check). With ``check`` an existing file
    must pass ``PRAGMA quick_check`` (a damaged file is a StoreError naming restore from a backup).
    """
    path = Path(path)
    existed = path.exists()
    if not existed:
        if not create:
            raise StoreError(f"no enrollment database at {path}; enroll someone first or pass --db")
        try:
            make_private_dirs(path.parent)
        except OSError as e:
            raise StoreError(f"cannot create the folder for the enrollment database {path}: {e}") from e
        try:
            _create(path)
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"cannot create the enrollment database {path}: {e}") from e
    elif path.is_dir():
        raise StoreError(f"{path} is a folder, not an enrollment database file")
    elif path.stat().st_size == 0:
        raise StoreError(empty_file_message(path))
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as e:
        raise StoreError(f"cannot open the enrollment database {path}: {e}") from e
    try:
        # Per-connection settings: none of these writes to the file.
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        _check_is_database(conn, path)
        if check and existed:
            check_integrity(conn, path)
        if max_version is not None:
            check_version(conn, supported=max_version)
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            log.warning("enrollment database %s runs in journal mode %r, not WAL", path, mode)
        conn.execute("PRAGMA synchronous = FULL")
    except BaseException:
        conn.close()
        raise
    log.debug("opened enrollment database %s", path)
    return conn


def _create(path: Path) -> None:
    """Make a new database file at ``path`` whole: written beside it (owner-only, its header already on disk) and
    linked into place, so that no process ever finds an empty file there. A file another process put there
    meanwhile wins, and is opened as it is."""
    temp = path.with_name(f".{path.name}.new-{uuid.uuid4().hex}.tmp")
    create_private(temp)
    try:
        init = sqlite3.connect(temp)
        try:
            init.execute("PRAGMA user_version = 0")  # writes the header page: from now on the file is a database
        finally:
            init.close()
        try:
            os.link(temp, path)  # never replaces a file
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links (FAT, some network shares): a rename instead
            if not path.exists():
                os.replace(temp, path)
    finally:
        remove_with_side_files(temp)


def empty_file_message(path: Path) -> str:
    return (f"the enrollment database {path} is an empty file (0 bytes), not a database; nothing was changed. "
            "Restore it from a backup (biometrix db restore), or delete the empty file to start a new database")


def _check_is_database(conn: sqlite3.Connection, path: Path) -> None:
    """Read the schema once: SQLite reports a non-database file only on the first read."""
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as e:
        raise StoreError(f"{path} is not a SQLite enrollment database ({e})") from e


def check_integrity(conn: sqlite3.Connection, path: Path, *, full: bool = False) -> None:
    """Run ``PRAGMA quick_check`` (``integrity_check`` with ``full``); StoreError naming the first problem."""
    pragma = "integrity_check" if full else "quick_check"
    try:
        found = [str(r[0]) for r in conn.execute(f"PRAGMA {pragma}(5)").fetchall()]
    except sqlite3.DatabaseError as e:
        found = [str(e)]
    if found != ["ok"]:
        raise StoreError(
            f"the enrollment database {path} is damaged ({pragma}: {found[0] if found else 'no answer'}); "
            "restore it from a backup (biometrix db restore)"
        )


def stored_version(conn: sqlite3.Connection) -> int:
    """The schema version in the database (user_version or schema_migrations), read without writing."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if has_table:
        recorded = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
        if recorded is not None:
            version = max(version, int(recorded))
    return version


def check_version(conn: sqlite3.Connection, *, supported: int) -> int:
    """Return the stored schema version; raise SchemaTooNew when it is above ``supported``."""
    version = stored_version(conn)
    if version > supported:
        raise SchemaTooNew(
            f"database schema version {version} is newer than this biometrix supports ({supported}); "
            "upgrade biometrix"
        )
    return version


@contextmanager
def atomic(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One transaction: BEGIN IMMEDIATE at top level, a SAVEPOINT when nested; rolled back on any error."""
    if conn.isolation_level is not None:
        raise StoreError("atomic() needs a connection with isolation_level=None (use store.db.connect)")
    if conn.in_transaction:
        name = f"sp_{uuid.uuid4().hex}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
            raise
        conn.execute(f"RELEASE {name}")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
