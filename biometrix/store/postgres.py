"""PostgresStore: the EnrollmentStore in a PostgreSQL database shared by any number of server processes, through a
psycopg 3 connection pool; ``setup`` migrates it as its OWNER role and grants its SERVER role.

psycopg is an optional extra (``pip install biometrix[postgres]``), imported only when a PostgreSQL URL is opened.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from biometrix.core.errors import StoreError, StoreUnavailable
from biometrix.store.base import AuditCheck
from biometrix.store.crypto import KeySource
from biometrix.store.sqlstore import SqlStore

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

    from biometrix.store.pgconn import PgConnection

log = logging.getLogger(__name__)

#: How long a call waits for a connection (PostgreSQL down: then StoreUnavailable), in seconds.
CONNECT_TIMEOUT = 5.0
#: How long the pool keeps re-trying a lost connection in the background (backing off 1, 2, 4... s) before it
#: leaves reconnecting to the next call: bounds the wait after a long outage to about this.
RECONNECT_WINDOW = 10.0
BACKUP_DOCS = "docs/deploy.md, section PostgreSQL: backups"
_INSTALL = "PostgreSQL support needs psycopg: pip install 'biometrix[postgres]'"
_PASSWORD = re.compile(r"(://[^:/@]*):[^@/]*@")


def redacted(url: str) -> str:
    """The URL without its password (for messages and logs)."""
    return _PASSWORD.sub(r"\1:***@", url)


def _psycopg() -> Any:
    try:
        import psycopg
        import psycopg_pool  # noqa: F401
    except ModuleNotFoundError as e:
        raise StoreError(_INSTALL) from e
    return psycopg


def unavailable(where: str, error: BaseException) -> StoreUnavailable:
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return StoreUnavailable(f"the PostgreSQL enrollment database {where} cannot be reached ({first}); nothing "
                            "more was changed: retry in a moment")


def setup(owner_url: str, *, server_role: str) -> list[int]:
    """As the OWNER role (``owner_url``): migrate the database to the current schema and grant ``server_role``
    what the server needs at run time (on the audit log only SELECT and INSERT). Idempotent; returns the
    migrations run."""
    psycopg = _psycopg()
    from biometrix.store import pgschema

    where = redacted(owner_url)
    try:
        with psycopg.connect(owner_url, autocommit=True, connect_timeout=int(CONNECT_TIMEOUT)) as conn:
            pgschema.check_server_role(conn, server_role)  # before anything is made
            done = pgschema.migrate(conn, where=where)
            pgschema.grant(conn, server_role)
    except psycopg.OperationalError as e:
        raise unavailable(where, e) from e
    except psycopg.Error as e:
        raise StoreError(f"cannot set up the PostgreSQL enrollment database {where}: {e}") from e
    return done


class PostgresStore(SqlStore):
    """An EnrollmentStore in PostgreSQL, opened with the SERVER role's URL; safe to share between threads (each
    call takes a pooled connection), and between processes and machines (writes take the database's write lock:
    store/pgconn.py). Encryption at rest, audit chain, MACs and key sources are those of SqliteStore.

    The schema is made by ``setup`` (``biometrix db setup-postgres``), never here: the server role may not run
    DDL. A new database gets its data key when a store first opens it. When PostgreSQL is down a call raises
    StoreUnavailable after ``timeout`` seconds; the pool reconnects by itself once it is back. A write either
    committed or raised (a commit whose answer was lost raises too: retry it).
    """

    _path: str  # the URL without its password, in messages

    def __init__(self, url: str, *, key: KeySource | None = None, max_connections: int = 8,
                 timeout: float = CONNECT_TIMEOUT) -> None:
        psycopg = _psycopg()
        from psycopg_pool import ConnectionPool

        from biometrix.store import pgschema

        self._path = redacted(url)
        self._init_state(key)
        self._errors = (psycopg.Error, _pool_errors())
        self._timeout = timeout
        self._pool: ConnectionPool | None = ConnectionPool(
            url, min_size=1, max_size=max(1, max_connections), open=False, timeout=timeout,
            kwargs={"autocommit": True, "connect_timeout": max(1, int(timeout)), "application_name": "biometrix"},
            check=ConnectionPool.check_connection, reconnect_timeout=RECONNECT_WINDOW, name="biometrix-store")
        try:
            self._pool.open(wait=True, timeout=timeout)
            with self._db() as conn:
                version = pgschema.check_version(conn, where=self._path)
                if version < pgschema.SCHEMA_VERSION:
                    raise StoreError(f"the PostgreSQL database {self._path} is at schema version {version}, not "
                                     f"{pgschema.SCHEMA_VERSION}: its owner must run biometrix db setup-postgres")
                self._dek = self._unlock(conn)  # before any write: a wrong key changes nothing
                self._open_integrity(conn)  # a missing, downgraded or altered key record is refused here
                if self._dek is None:
                    self._first_key(conn)  # a new database (this process or another just made it)
                self._anchor_target = self._read_anchor(conn)
        except BaseException as e:
            self.close()
            if isinstance(e, _pool_errors()):
                raise unavailable(self._path, e) from e
            raise

    def _where(self) -> str:
        return self._path

    @contextmanager
    def _connection(self) -> Iterator[PgConnection]:
        """A pooled connection for one call; StoreUnavailable when none can be had within the timeout."""
        from biometrix.store.pgconn import PgConnection

        if self._pool is None:
            raise StoreError(f"the enrollment store {self._path} is closed")
        try:
            conn = self._pool.getconn(timeout=self._timeout)
        except self._errors as e:
            raise unavailable(self._path, e) from e
        try:
            yield PgConnection(conn)
        finally:
            self._pool.putconn(conn)  # one left in a transaction is rolled back, a broken one dropped

    def _driver_error(self, error: BaseException) -> StoreError | None:
        import psycopg

        if isinstance(error, psycopg.OperationalError | _pool_errors()):
            return unavailable(self._path, error)
        if isinstance(error, psycopg.Error):
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            return StoreError(f"enrollment database error ({self._path}): {first}")
        return None

    def _schema_version(self, conn: PgConnection) -> int:
        from biometrix.store import pgschema

        return pgschema.stored_version(conn)

    def backup(self, destination: str | Path) -> AuditCheck:
        raise StoreError(f"a PostgreSQL enrollment database is backed up with pg_dump (and a streaming replica), "
                         f"not biometrix db backup: see {BACKUP_DOCS}")

    def close(self) -> None:
        pool, self._pool = getattr(self, "_pool", None), None
        if pool is not None:
            pool.close()


def _pool_errors() -> type[Exception]:
    from psycopg_pool import PoolTimeout

    return PoolTimeout
