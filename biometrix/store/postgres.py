"""PostgresStore: the EnrollmentStore in a PostgreSQL database shared by any number of server processes, through a
psycopg 3 connection pool; ``setup`` migrates it as its OWNER role and grants its SERVER role.

psycopg is an optional extra (``pip install biometrix[postgres]``), imported only when a PostgreSQL URL is opened.
"""

from __future__ import annotations

import logging
import re
import threading
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
#: What another server may have changed: the data key's id and the audit anchor setting (as stored, MAC unchecked).
#: Constant SQL (it also runs in one round trip with the write lock, where no parameter can be bound); the key is
#: store.integrity.ANCHOR_KEY.
_FRESHNESS = ("SELECT (SELECT key_id FROM data_keys LIMIT 1),"
              " (SELECT value FROM protected_settings WHERE key = 'audit.anchor')")
BACKUP_DOCS = "docs/deploy.md, PostgreSQL: Backups and failover"
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


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def unavailable(where: str, error: BaseException) -> StoreUnavailable:
    """The retryable error of a call made while PostgreSQL cannot be reached (restart, failover, network)."""
    return StoreUnavailable(f"the PostgreSQL enrollment database {where} cannot be reached ({_first_line(error)}); "
                            "the call was not completed: retry in a moment")


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
        raise StoreError(f"cannot set up the PostgreSQL enrollment database {where}: {_first_line(e)}") from e
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
        self._following = False  # set once the database is known to be set up and keyed
        self._anchor_text: str | None = None
        self._follow_lock = threading.Lock()
        self._pool: ConnectionPool | None = ConnectionPool(
            url, min_size=1, max_size=max(1, max_connections), open=False, timeout=timeout,
            kwargs={"autocommit": True, "connect_timeout": max(1, int(timeout)), "application_name": "biometrix"},
            reconnect_timeout=RECONNECT_WINDOW, name="biometrix-store")
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
                self._follow(conn, *conn.execute(_FRESHNESS).fetchone())
            self._following = True
        except BaseException as e:
            self.close()
            if isinstance(e, _pool_errors()):  # say why: the pool only says it gave up
                raise unavailable(self._path, _why_not(psycopg, url, timeout) or e) from e
            raise

    def _where(self) -> str:
        return self._path

    @contextmanager
    def _connection(self) -> Iterator[PgConnection]:
        """A pooled connection for one call, checked alive (a broken one, e.g. after a restart, is dropped and the
        next tried); StoreUnavailable when none answers within the timeout."""
        if self._pool is None:
            raise StoreError(f"the enrollment store {self._path} is closed")
        conn = self._checked_out(self._pool)
        try:
            yield conn
        finally:
            self._pool.putconn(conn.raw)  # one left in a transaction is rolled back, a broken one dropped

    def _checked_out(self, pool: ConnectionPool) -> PgConnection:
        """A connection that answered the freshness query (store keys and anchor followed, see ``_follow``)."""
        import psycopg

        from biometrix.store.pgconn import PgConnection

        for _ in range(pool.max_size + 1):
            try:
                raw = pool.getconn(timeout=self._timeout)
            except self._errors as e:
                raise unavailable(self._path, e) from e
            conn = PgConnection(raw, after_lock=(_FRESHNESS, self._follow_row) if self._following else None)
            try:
                if self._following:
                    self._follow(conn, *conn.execute(_FRESHNESS).fetchone())
                else:
                    conn.execute("SELECT 1")
                return conn
            except psycopg.OperationalError as e:  # a connection the server closed (restart): try the next
                pool.putconn(raw)
                lost: BaseException = e
            except BaseException as e:
                pool.putconn(raw)
                mapped = self._driver_error(e)
                if mapped is not None:
                    raise mapped from e
                raise
        raise unavailable(self._path, lost)

    def _follow(self, conn: PgConnection, key_id: str | None, anchor_text: str | None) -> None:
        """Follow what another server process changed: a rotated data key (opened with this store's key source)
        and the audit anchor setting. Called at each checkout and, for writes, again under the write lock, so that
        nothing is ever sealed with a retired key."""
        with self._follow_lock:
            if self._dek is not None and key_id is not None and key_id != self._dek.key_id:
                self._dek = self._unlock(conn)
                self._open_integrity(conn)
                log.info("the data key of %s was rotated by another process: following it", self._path)
            if anchor_text != self._anchor_text:
                self._anchor_target = self._read_anchor(conn)
                self._anchor_text = anchor_text

    def _follow_row(self, conn: PgConnection, row: tuple[Any, ...]) -> None:
        self._follow(conn, *row)

    def _driver_error(self, error: BaseException) -> StoreError | None:
        import psycopg

        if isinstance(error, psycopg.OperationalError | _pool_errors()):
            return unavailable(self._path, error)
        if isinstance(error, psycopg.Error):
            return StoreError(f"enrollment database error ({self._path}): {_first_line(error)}")
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


def _why_not(psycopg: Any, url: str, timeout: float) -> BaseException | None:
    """The error of one direct connection attempt (a wrong password, no such database, refused), or None."""
    try:
        psycopg.connect(url, connect_timeout=max(1, int(timeout))).close()
    except psycopg.Error as e:
        return e
    return None


def _pool_errors() -> type[Exception]:
    from psycopg_pool import PoolTimeout

    return PoolTimeout
