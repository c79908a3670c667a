"""Finding 5 of the security review: restore accepted a tampered backup with no warning, and restoring over a
damaged database needed no login. Now a backup must open with the database's key and pass its audit check (and
contain an expected head when given) unless an admin forces it, which its audit row records; over a damaged
database, an admin of the backup must log in."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from biometrix.core.errors import TamperDetected
from tests.security._bank import attacker_sql, drawn, make_bank, one_error_line, run_cli, session


@pytest.fixture
def bank(tmp_path: Path) -> Path:
    return make_bank(tmp_path / "bank.db")


def _backup(db: Path, to: Path) -> str:
    with session(db, "sue") as bx:
        return bx.backup(to).anchor


def _subjects(db: Path) -> list[str]:
    with session(db, "sue") as bx:
        return [s.subject_id for s in bx.subjects()]


def test_a_tampered_backup_is_refused_then_forced_by_an_admin_only(bank: Path, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    backup = tmp_path / "backup.db"
    _backup(bank, backup)
    attacker_sql(backup, "UPDATE audit_log SET decision = 'accept' WHERE event = 'enroll'")
    with session(bank, "tom") as bx:
        bx.enroll("bob", signatures=[drawn(5), drawn(6)])  # made after the backup: a restore would lose it
    refused = run_cli(capsys, monkeypatch, "root", "db", "restore", "--db", bank, "--from", backup)
    one_error_line(refused, "fails its audit check", "--force")
    assert _subjects(bank) == ["alice", "bob"]  # untouched
    teller = run_cli(capsys, monkeypatch, "tom", "db", "restore", "--db", bank, "--from", backup, "--force")
    one_error_line(teller, "restore")
    forced = run_cli(capsys, monkeypatch, "root", "db", "restore", "--db", bank, "--from", backup, "--force")
    assert forced.rc == 0, forced.err
    assert _subjects(bank) == ["alice"]
    with session(bank, "sue") as bx:
        (row,) = bx.audit(event="restore")
    assert (row.decision, row.operator, row.details["audit_ok"]) == ("forced", "root", False)
    assert row.details["audit_problems"]


def test_a_backup_without_the_expected_head_is_refused(bank: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = tmp_path / "old.db", tmp_path / "new.db"
    _backup(bank, old)
    with session(bank, "tom") as bx:
        bx.verify("alice", signature=drawn(1))
    head = _backup(bank, new)
    # an older (intact) backup handed over as the latest one: it lacks the head recorded at the last backup
    stale = run_cli(capsys, monkeypatch, "root", "db", "restore", "--db", bank, "--from", old, "--expect-head", head)
    one_error_line(stale, "fails its audit check")
    good = run_cli(capsys, monkeypatch, "root", "db", "restore", "--db", bank, "--from", new, "--expect-head", head)
    assert good.rc == 0, good.err
    with session(bank, "sue") as bx:
        assert bx.verify_audit(expect_head=head).ok
        assert bx.audit(event="restore")[-1].details["expected_head"] == head


def test_restoring_over_a_damaged_database_needs_an_admin_of_the_backup(bank: Path, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    backup = tmp_path / "backup.db"
    _backup(bank, backup)
    bank.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)  # damaged beyond opening
    for path in (bank.with_name(bank.name + "-wal"), bank.with_name(bank.name + "-shm")):
        path.unlink(missing_ok=True)
    nobody = run_cli(capsys, monkeypatch, None, "db", "restore", "--db", bank, "--from", backup)
    one_error_line(nobody, "--operator")
    teller = run_cli(capsys, monkeypatch, "tom", "db", "restore", "--db", bank, "--from", backup)
    one_error_line(teller, "needs an admin")
    assert bank.read_bytes()[16:20] == b"\xff" * 4  # still the damaged file
    admin = run_cli(capsys, monkeypatch, "root", "db", "restore", "--db", bank, "--from", backup)
    assert admin.rc == 0, admin.err
    with session(bank, "sue") as bx:
        assert [s.subject_id for s in bx.subjects()] == ["alice"]
        assert bx.verify_audit().ok
        rows = bx.audit()
    assert [(r.event, r.operator) for r in rows[-2:]] == [("restore", "root"), ("login", "sue")]
    assert any(r.event == "login" and r.operator == "root" for r in rows)  # root's login, checked on the backup


def test_the_service_refuses_a_tampered_backup(bank: Path, tmp_path: Path) -> None:
    backup = tmp_path / "backup.db"
    _backup(bank, backup)
    conn = sqlite3.connect(backup)
    conn.execute("DELETE FROM protected_settings WHERE key = 'audit.head'")
    conn.commit()
    conn.close()
    with session(bank, "root") as bx, pytest.raises(TamperDetected, match="audit check"):
        bx.restore(backup)
