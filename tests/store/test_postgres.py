"""What only the PostgreSQL store has: the OWNER and SERVER roles (the server cannot edit the audit log, tried
here as the attacks they are), setup, URL locations, the CLI on a URL, and several writers on one chain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from biometrix.cli import main
from biometrix.core.errors import StoreError
from biometrix.core.types import Modality
from biometrix.store import ANCHOR_KEY, KeySource, SampleIn, open_store, read_anchor_file
from biometrix.store.location import resolve_db_path
from biometrix.store.postgres import PostgresStore, redacted, setup
from tests.postgres import PgDatabase

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed: pip install biometrix[postgres]")

FACE, SIG = Modality.FACE, Modality.SIGNATURE


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


def test_a_key_rotated_by_another_server_is_followed(pg_ready: PgDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
    """Server A rotates the data key to a passphrase every server has; server B, open all along, reads with the new
    key and never seals anything with the retired one (checked by a third store opened afterwards)."""
    monkeypatch.setenv("BIOMETRIX_PASSPHRASE", "the bank's long passphrase")
    a, b = open_store(pg_ready.server_url), open_store(pg_ready.server_url)
    try:
        _enroll(a, "alice")
        assert b.template("alice", modality=SIG, model_id="s1").n_references == 2
        a.rotate_key(KeySource.from_passphrase("the bank's long passphrase"))
        assert b.template("alice", modality=SIG, model_id="s1").n_references == 2  # followed at checkout
        _enroll(b, "bob")  # sealed under the new key
        anchor_file = pg_ready.cluster.datadir.parent / "anchor-followed.jsonl"
        a.set_setting(ANCHOR_KEY, {"file": str(anchor_file)})
        _fill(b, 1)  # B follows the anchor A set
    finally:
        a.close()
        b.close()
    with open_store(pg_ready.server_url) as c:
        assert [s.subject_id for s in c.subjects()] == ["alice", "bob"]
        assert c.template("bob", modality=SIG, model_id="s1").n_references == 2
        assert len(c.samples("bob", modality=SIG)) == 2
        assert c.verify_audit(anchors=read_anchor_file(anchor_file)).ok
    assert [r.event_id for r in read_anchor_file(anchor_file)] == [5]  # B's verify row, after A's 4


def _enroll(store, subject: str) -> None:
    samples = [SampleIn(data=f"{subject}-{i}".encode(), media_type="image/png") for i in range(2)]
    store.enroll(subject, modality=SIG, model_id="s1", samples=samples,
                 embeddings=np.arange(8, dtype=np.float32).reshape(2, 4) + 1)


def test_another_process_enrollments_reach_the_change_log(pg_ready: PgDatabase) -> None:
    """A separate Python process (another server) enrolls; this one sees it through gallery_version and
    gallery_changes, read from the database."""
    repo = Path(__file__).resolve().parents[2]
    code = ("import sys, numpy as np; from biometrix.store import open_store, SampleIn\n"
            "with open_store(sys.argv[1]) as s:\n"
            "    s.enroll('from-elsewhere', modality='signature', model_id='s1',"
            " samples=[SampleIn(data=b'x1', media_type='image/png')], embeddings=np.ones((1, 4), np.float32))\n")
    with open_store(pg_ready.server_url) as store:
        _enroll(store, "here")
        seen = store.gallery_version()
        subprocess.run([sys.executable, "-c", code, pg_ready.server_url], check=True, cwd=repo, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(repo)})
        assert store.gallery_version() > seen
        delta = store.gallery_changes(seen, modality=SIG, model_id="s1")
        assert delta.complete and list(delta.rows.subject_ids) == ["from-elsewhere"]
        np.testing.assert_allclose(delta.rows.vectors, np.full((1, 4), 0.5, np.float32))  # as stored: unit length


@pytest.mark.parametrize(("sql", "expected", "returning"), [
    ("SELECT a FROM t WHERE b = ? AND c LIKE '%x'", "SELECT a FROM t WHERE b = %s AND c LIKE '%%x'", False),
    ("INSERT INTO samples (a, b) VALUES (?, ?)",
     "INSERT INTO samples (a, b) VALUES (%s, %s) RETURNING sample_id", True),
    ("INSERT INTO audit_log (event_id, at) VALUES (?, ?)",
     "INSERT INTO audit_log (event_id, at) VALUES (%s, %s) RETURNING event_id", True),
    ("INSERT INTO subjects (subject_id) VALUES (?) ON CONFLICT (subject_id) DO NOTHING",
     "INSERT INTO subjects (subject_id) VALUES (%s) ON CONFLICT (subject_id) DO NOTHING", False),
])
def test_the_adapter_rewrites_placeholders_only(sql: str, expected: str, returning: bool) -> None:
    from biometrix.store.pgconn import to_pg

    assert to_pg(sql) == (expected, returning)


def test_a_wrong_role_or_database_is_named_at_open(pg_ready: PgDatabase) -> None:
    for url, why in ((pg_ready.cluster.url("nobody_at_all", pg_ready.name), 'role "nobody_at_all" does not exist'),
                     (pg_ready.cluster.url(pg_ready.server_role, "no_such_db"), 'database "no_such_db" does not')):
        with pytest.raises(StoreError, match=why):
            PostgresStore(url, timeout=1.0)
