"""A throwaway PostgreSQL cluster for the tests: one per session, a fresh database with its own roles per test.

Fixtures (registered in tests/conftest.py, so any test may ask for them):

``pg_cluster`` (session)
    A ``PgCluster``: ``initdb`` into a temp folder, ``pg_ctl start`` on a free loopback port (its socket in the
    same folder, trust authentication, listening on 127.0.0.1 only), stopped at the end of the session. As root
    (initdb refuses root) the folder is given to the ``postgres`` user and the commands run through
    ``runuser -u postgres``. The whole module is skipped, with the reason, where ``initdb`` is not on PATH (CI
    installs PostgreSQL: .ci/run). ``pg_cluster.stop()`` / ``pg_cluster.start()`` restart it (fault tests).

``pg_database`` (function)
    A ``PgDatabase``: a new, empty database owned by a new OWNER role (``owner_url``), with a SERVER role
    (``server_url``) that may log in and nothing more; each test gets its own names, so tests never see each
    other's data. ``superuser_url`` is the cluster's superuser on that database (for tests only).

``pg_ready`` (function)
    The same ``PgDatabase`` after ``biometrix.store.postgres.setup`` ran as the owner: migrated, and the server
    role granted what it needs at run time (only SELECT and INSERT on the audit log). Open it as the server
    would: ``open_store(db.server_url)``.

URLs are libpq URLs (``postgresql://ROLE@127.0.0.1:PORT/DBNAME``); with trust authentication no password is
needed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SUPERUSER = "postgres"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class PgCluster:
    """A running test cluster in ``datadir`` on 127.0.0.1:``port`` (superuser ``postgres``, trust auth)."""

    datadir: Path
    port: int
    as_postgres: tuple[str, ...] = field(default=())

    def url(self, role: str, dbname: str = "postgres") -> str:
        return f"postgresql://{role}@127.0.0.1:{self.port}/{dbname}"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run([*self.as_postgres, "pg_ctl", "-D", str(self.datadir), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)

    def start(self) -> None:
        """Start the cluster and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-o", options, "-l", str(self.datadir / "server.log"), "-w", "start")

    def stop(self, *, mode: str = "fast") -> None:
        """Stop the cluster (``mode``: smart, fast or immediate) and wait until it is down."""
        self._pg_ctl("-m", mode, "-w", "stop")

    def sql(self, statement: str, *, dbname: str = "postgres") -> None:
        """Run one admin statement as the superuser (autocommit; CREATE DATABASE needs it)."""
        import psycopg

        with psycopg.connect(self.url(SUPERUSER, dbname), autocommit=True) as conn:
            conn.execute(statement)


@dataclass(frozen=True)
class PgDatabase:
    """A fresh database of the test cluster with its OWNER and SERVER roles (see the module docstring)."""

    cluster: PgCluster
    name: str
    owner_role: str
    server_role: str

    @property
    def owner_url(self) -> str:
        return self.cluster.url(self.owner_role, self.name)

    @property
    def server_url(self) -> str:
        return self.cluster.url(self.server_role, self.name)

    @property
    def superuser_url(self) -> str:
        return self.cluster.url(SUPERUSER, self.name)


def start_cluster(root: Path) -> PgCluster:
    """initdb a cluster under ``root`` and start it; the caller stops it."""
    datadir = root / "pg"
    runner: tuple[str, ...] = ()
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start a PostgreSQL test cluster")
        datadir.mkdir(mode=0o700)
        shutil.chown(root, user=SUPERUSER)
        shutil.chown(datadir, user=SUPERUSER)
        runner = ("runuser", "-u", SUPERUSER, "--")
    subprocess.run([*runner, "initdb", "-D", str(datadir), "-A", "trust", "-U", SUPERUSER, "-E", "UTF8",
                    "--no-sync"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
    cluster = PgCluster(datadir=datadir, port=_free_port(), as_postgres=runner)
    cluster.start()
    return cluster


def new_database(cluster: PgCluster) -> PgDatabase:
    """A new database owned by a new owner role, and a server role that can only log in (so far)."""
    tag = uuid.uuid4().hex[:10]
    db = PgDatabase(cluster=cluster, name=f"bx_{tag}", owner_role=f"bx_owner_{tag}", server_role=f"bx_server_{tag}")
    cluster.sql(f"CREATE ROLE {db.owner_role} LOGIN")
    cluster.sql(f"CREATE ROLE {db.server_role} LOGIN")
    cluster.sql(f"CREATE DATABASE {db.name} OWNER {db.owner_role}")
    cluster.sql(f"REVOKE ALL ON DATABASE {db.name} FROM PUBLIC")
    cluster.sql(f"GRANT CONNECT ON DATABASE {db.name} TO {db.owner_role}, {db.server_role}")
    return db


def drop_database(db: PgDatabase) -> None:
    db.cluster.sql(f"DROP DATABASE IF EXISTS {db.name} WITH (FORCE)")
    db.cluster.sql(f"DROP ROLE IF EXISTS {db.server_role}")
    db.cluster.sql(f"DROP ROLE IF EXISTS {db.owner_role}")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """The session's PostgreSQL cluster (skips where initdb is missing)."""
    if shutil.which("initdb") is None or shutil.which("pg_ctl") is None:
        pytest.skip("PostgreSQL is not installed (no initdb/pg_ctl on PATH): apt-get install postgresql")
    pytest.importorskip("psycopg", reason="psycopg is not installed: pip install biometrix[postgres]")
    root = Path(tempfile.mkdtemp(prefix="bx-pg-"))
    try:
        cluster = start_cluster(root)
        try:
            yield cluster
        finally:
            cluster.stop(mode="immediate")
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_database(pg_cluster: PgCluster) -> Iterator[PgDatabase]:
    """A fresh, empty database with its owner and server roles, dropped after the test."""
    db = new_database(pg_cluster)
    try:
        yield db
    finally:
        drop_database(db)


@pytest.fixture
def pg_ready(pg_database: PgDatabase) -> PgDatabase:
    """``pg_database`` migrated by its owner and granted to its server role (biometrix.store.postgres.setup)."""
    from biometrix.store.postgres import setup

    setup(pg_database.owner_url, server_role=pg_database.server_role)
    return pg_database
