"""``biometrix audit verify``, ``db backup`` / ``db restore`` and ``erase``."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np

from biometrix.core.types import Modality
from biometrix.store import SampleIn, SqliteStore
from tests.cli.conftest import Run, assert_one_error_line


def _small_db(path: Path) -> Path:
    with SqliteStore(path) as s:
        for i, sid in enumerate(("c-1", "c-2")):
            rng = np.random.default_rng(i)
            s.enroll(sid, modality=Modality.SIGNATURE, model_id="s1",
                     samples=[SampleIn(data=rng.bytes(32), media_type="image/png") for _ in range(2)],
                     embeddings=rng.normal(size=(2, 8)).astype(np.float32))
        s.record("verify", subject_id="c-1", modality=Modality.SIGNATURE, model_id="s1", decision="Accept")
    return path


def test_audit_verify_intact_and_tampered(cli: Callable[..., Run], tmp_path: Path) -> None:
    db = _small_db(tmp_path / "bank.db")
    run = cli("audit", "verify", "--db", db)
    assert run.rc == 0, run.err
    assert run.out.startswith("Audit log intact: 3 rows, MACs and protected head checked, head 3:")
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("UPDATE audit_log SET decision = 'Reject' WHERE event_id = 3")
    conn.commit()
    conn.close()
    bad = cli("audit", "verify", "--db", db, "--json")
    assert bad.rc == 1, bad.err
    doc = bad.json()
    assert (doc["ok"], doc["rows"]) == (False, 3)
    assert [(p["event_id"], p["kind"]) for p in doc["problems"]] == [(3, "edited")]
    text = cli("audit", "verify", "--db", db)
    assert text.rc == 1 and "edited" in text.out and "TAMPERED" in text.out


def test_audit_verify_without_database_is_an_error(cli: Callable[..., Run], tmp_path: Path) -> None:
    assert_one_error_line(cli("audit", "verify", "--db", tmp_path / "none.db"), "no enrollment database")


def test_backup_and_restore(cli: Callable[..., Run], tmp_path: Path) -> None:
    db = _small_db(tmp_path / "bank.db")
    copy = tmp_path / "copy.db"
    run = cli("db", "backup", "--db", db, "--to", copy, "--json")
    assert run.rc == 0, run.err
    assert run.json()["audit_ok"] is True and run.json()["audit_rows"] == 3
    assert_one_error_line(cli("db", "backup", "--db", db, "--to", copy), "already exists")
    assert cli("erase", "--db", db, "--subject", "c-1").rc == 0
    restored = cli("db", "restore", "--db", db, "--from", copy)
    assert restored.rc == 0, restored.err
    assert "The previous database is kept as" in restored.out
    assert len(list(tmp_path.glob("bank.db.bak-*"))) == 1
    with SqliteStore(db, create=False) as s:
        assert [x.subject_id for x in s.subjects()] == ["c-1", "c-2"]
    assert_one_error_line(cli("db", "restore", "--db", db, "--from", tmp_path / "missing.db"), "no database file")


def test_erase(cli: Callable[..., Run], tmp_path: Path) -> None:
    db = _small_db(tmp_path / "bank.db")
    run = cli("erase", "--db", db, "--subject", "c-1", "--json")
    assert run.rc == 0, run.err
    pseudonym = run.json()["audit_pseudonym"]
    conn = sqlite3.connect(db)
    try:
        for table in ("subjects", "samples", "templates"):
            assert conn.execute(f"SELECT count(*) FROM {table} WHERE subject_id = 'c-1'").fetchone() == (0,)
        assert conn.execute("SELECT event, subject_id FROM audit_log ORDER BY event_id DESC LIMIT 1").fetchone() == (
            "erase", pseudonym)
    finally:
        conn.close()
    assert cli("audit", "verify", "--db", db).rc == 0
    assert_one_error_line(cli("erase", "--db", db, "--subject", "c-1"), "unknown subject")


def test_erased_subject_is_not_enrolled(cli: Callable[..., Run], bank_db: Path, cedar) -> None:  # noqa: ANN001
    assert cli("erase", "--db", bank_db, "--subject", "s46").rc == 0
    probe = cedar.genuine(46, 20)
    assert_one_error_line(cli("verify", "--db", bank_db, "--subject", "s46", "--signature", probe),
                          "unknown subject")
    ranked = cli("identify", "--db", bank_db, "--signature", probe, "--json")
    assert ranked.rc == 0, ranked.err
    assert "s46" not in [c["subject_id"] for c in ranked.json()]
    assert cli("audit", "verify", "--db", bank_db).rc == 0
