"""What only the PostgreSQL store has: the OWNER and SERVER roles (the server cannot edit the audit log, tried
here as the attacks they are), setup, URL locations, the CLI on a URL, and several writers on one chain."""

from __future__ import annotations

import json
import threading

import pytest

from biometrix.cli import main
from biometrix.core.errors import StoreError
from biometrix.core.types import Modality
from biometrix.store import open_store, read_anchor_file
from biometrix.store.location import resolve_db_path
from biometrix.store.postgres import PostgresStore, redacted, setup
from tests.postgres import PgDatabase

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed: pip install biometrix[postgres]")

FACE = Modality.FACE


def _fill(store, n: int) -> None:
    for i in range(n):
        store.record("verify", subject_id=f"c-{i}", modality=FACE, model_id="f1", distance=0.25, threshold=0.3,
                     decision="Accept")


@pytest.mark.parametrize("attack", [
    "UPDATE audit_log SET decision = 'Reject' WHERE event_id = 2",
    "DELETE FROM audit_log WHERE event_id = 3",
    "DELETE FROM audit_log",
    "TRUNCATE audit_log",
    "UPDATE audit_sequence SET seq = 0",
    "INSERT INTO template_changes (template_id, modality, model_id) VALUES (1, 'face', 'f1')",
    "ALTER TABLE audit_log DISABLE TRIGGER USER",
    "DROP TABLE audit_log",
    "CREATE TABLE audit_log_copy (x INT)",
])
def test_the_server_role_cannot_edit_history(pg_ready: PgDatabase, attack: str) -> None:
    with open_store(pg_ready.server_url) as store:
        _fill(store, 3)
        head = store.verify_audit().head
    with psycopg.connect(pg_ready.server_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(attack)
    with open_store(pg_ready.server_url) as store:
        check = store.verify_audit()
        assert (check.ok, check.n_rows, check.head) == (True, 3, head)


def test_the_owner_needs_to_switch_the_trigger_off_and_is_then_found(pg_ready: PgDatabase) -> None:
    with open_store(pg_ready.server_url) as store:
        _fill(store, 3)
    with psycopg.connect(pg_ready.owner_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("UPDATE audit_log SET decision = 'Reject' WHERE event_id = 2")
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("TRUNCATE audit_log")
        conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change")
        conn.execute("UPDATE audit_log SET decision = 'Reject' WHERE event_id = 2")
    with open_store(pg_ready.server_url) as store:
        assert [(p.event_id, p.kind) for p in store.verify_audit().problems] == [(2, "edited")]


def test_setup_is_idempotent_and_refuses_unsafe_roles(pg_database: PgDatabase) -> None:
    with pytest.raises(StoreError, match="different roles"):
        setup(pg_database.owner_url, server_role=pg_database.owner_role)
    with pytest.raises(StoreError, match="no PostgreSQL role 'nobody_here'"):
        setup(pg_database.owner_url, server_role="nobody_here")
    with pytest.raises(StoreError, match="superuser"):
        setup(pg_database.owner_url, server_role="postgres")
    assert setup(pg_database.owner_url, server_role=pg_database.server_role) == [1]
    assert setup(pg_database.owner_url, server_role=pg_database.server_role) == []
    with psycopg.connect(pg_database.superuser_url, autocommit=True) as conn:
        granted = conn.execute("SELECT privilege_type FROM information_schema.role_table_grants WHERE grantee = %s"
                               " AND table_name = 'audit_log' ORDER BY 1", (pg_database.server_role,)).fetchall()
    assert granted == [("INSERT",), ("SELECT",)]


def test_a_database_not_set_up_says_what_to_run(pg_database: PgDatabase) -> None:
    with pytest.raises(StoreError, match="setup-postgres"):
        open_store(pg_database.server_url)
    with psycopg.connect(pg_database.owner_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE subjects (x INT)")
    with pytest.raises(StoreError, match="not a biometrix enrollment database"):
        setup(pg_database.owner_url, server_role=pg_database.server_role)


def test_backup_and_restore_point_to_pg_dump(pg_ready: PgDatabase, tmp_path) -> None:
    with open_store(pg_ready.server_url) as store:
        assert isinstance(store, PostgresStore)
        with pytest.raises(StoreError, match="pg_dump"):
            store.backup(tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists()


def test_a_url_is_never_taken_for_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql://server:s3cret@db.bank.example:5432/biometrix"
    where = resolve_db_path(url)
    assert (where.url, where.target, where.exists(), where.shown) == (
        url, url, True, "postgresql://server:***@db.bank.example:5432/biometrix")
    with pytest.raises(StoreError, match="PostgreSQL"):
        _ = where.path
    monkeypatch.setenv("BIOMETRIX_DB", "postgres://server@db/biometrix")
    assert resolve_db_path().url == "postgres://server@db/biometrix"
    assert redacted("postgresql://a@h/d") == "postgresql://a@h/d"


def test_the_cli_sets_up_and_checks_a_postgres_database(pg_database: PgDatabase, tmp_path, capsys) -> None:
    url = pg_database.server_url
    assert main(["db", "setup-postgres", "--owner-url", pg_database.owner_url, "--server-role",
                 pg_database.server_role, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["migrations_run"] == [1]
    anchor = tmp_path / "anchor.jsonl"
    assert main(["audit", "anchor", "--db", url, "--file", str(anchor)]) == 0
    with open_store(url) as store:  # another process (the server) writes: its heads go to the anchor file
        _fill(store, 2)
    assert main(["db", "info", "--db", url, "--json"]) == 0
    info = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (info["path"], info["schema_version"], info["audit_rows"]) == (url, 1, 3)
    assert [a.event_id for a in read_anchor_file(anchor)] == [2, 3]
    assert main(["audit", "verify", "--db", url, "--anchor-file", str(anchor), "--json"]) == 0
    with psycopg.connect(pg_database.owner_url, autocommit=True) as conn:  # the owner cuts the last row
        conn.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
        conn.execute("DELETE FROM audit_log WHERE event_id = 3")
    capsys.readouterr()
    assert main(["audit", "verify", "--db", url, "--anchor-file", str(anchor), "--json"]) == 1
    capsys.readouterr()
    assert main(["db", "backup", "--db", url, "--to", str(tmp_path / "b.db")]) == 2
    assert "pg_dump" in capsys.readouterr().err


def test_writers_in_many_threads_and_stores_keep_one_chain(pg_ready: PgDatabase) -> None:
    stores = [open_store(pg_ready.server_url) for _ in range(2)]
    try:
        threads = [threading.Thread(target=_fill, args=(stores[i % 2], 10)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        check = stores[0].verify_audit()
        assert (check.ok, check.n_rows, check.head_id) == (True, 40, 40)
    finally:
        for s in stores:
            s.close()
