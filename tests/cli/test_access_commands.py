"""--operator, the operator/resolve/audit list/db rekey commands, and passphrase errors, through ``main``."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import cv2
import pytest

from tests.cli.conftest import Run, assert_one_error_line
from tests.test_access_control import drawn

ADMIN_PW, TELLER_PW = "admin-password-1", "teller-password-3"


def _files(db: Path) -> str:
    wal = db.with_name(db.name + "-wal")
    return hashlib.sha256(db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")).hexdigest()


@pytest.fixture
def signatures(tmp_path: Path) -> list[Path]:
    paths = []
    for i in range(4):
        path = tmp_path / f"sig{i}.png"
        cv2.imwrite(str(path), drawn(i))
        paths.append(path)
    return paths


@pytest.fixture
def db(tmp_path: Path, cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> Path:
    """The first run creates the admin (root); root adds a teller (tom)."""
    path = tmp_path / "bank.db"
    monkeypatch.setenv("BIOMETRIX_NEW_PASSWORD", ADMIN_PW)
    first = cli("operator", "add", "--db", path, "--name", "root", "--role", "admin")
    assert first.rc == 0, first.err
    monkeypatch.setenv("BIOMETRIX_PASSWORD", ADMIN_PW)
    monkeypatch.setenv("BIOMETRIX_NEW_PASSWORD", TELLER_PW)
    added = cli("operator", "add", "--db", path, "--operator", "root", "--name", "tom", "--role", "teller")
    assert added.rc == 0, added.err
    monkeypatch.delenv("BIOMETRIX_NEW_PASSWORD")
    monkeypatch.delenv("BIOMETRIX_PASSWORD")
    return path


def test_commands_need_a_login_once_an_admin_exists(db: Path, cli: Callable[..., Run], signatures: list[Path],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    before = _files(db)
    refused = cli("enroll", "--db", db, "--subject", "alice", "--signature", *signatures[:3])
    assert_one_error_line(refused, "log in first")
    assert _files(db) == before
    monkeypatch.setenv("BIOMETRIX_PASSWORD", "not-the-password")
    wrong = cli("enroll", "--db", db, "--operator", "tom", "--subject", "alice", "--signature", *signatures[:3])
    assert_one_error_line(wrong, "wrong operator name or password")
    monkeypatch.setenv("BIOMETRIX_PASSWORD", TELLER_PW)
    ok = cli("enroll", "--db", db, "--operator", "tom", "--subject", "alice", "--signature", *signatures[:3])
    assert ok.rc == 0, ok.err
    verify = cli("verify", "--db", db, "--operator", "tom", "--subject", "alice", "--signature", signatures[3])
    assert verify.rc in (0, 1, 3), verify.err  # a decision: Accept, Reject or Refer (three zones), not an error
    erase = cli("erase", "--db", db, "--operator", "tom", "--subject", "alice")
    assert_one_error_line(erase, "needs a supervisor")
    monkeypatch.setenv("BIOMETRIX_PASSWORD", ADMIN_PW)
    listing = cli("audit", "list", "--db", db, "--operator", "root", "--json")
    assert listing.rc == 0, listing.err
    rows = [(r["event"], r["operator"], r["decision"]) for r in listing.json()]
    assert ("login_failed", None, "password") in rows
    decided = {0: "accept", 1: "reject", 3: "refer"}[verify.rc]
    assert [r for r in rows if r[0] in ("enroll", "verify")] == [("enroll", "tom", "enrolled"),
                                                                  ("verify", "tom", decided)]
    ops = cli("operator", "list", "--db", db, "--operator", "root", "--json")
    assert [(o["name"], o["role"]) for o in ops.json()] == [("root", "admin"), ("tom", "teller")]


def test_operator_set_and_lockout(db: Path, cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOMETRIX_PASSWORD", "not-the-password")
    for _ in range(5):
        cli("db", "info", "--db", db, "--operator", "tom")
    monkeypatch.setenv("BIOMETRIX_PASSWORD", TELLER_PW)
    assert_one_error_line(cli("db", "info", "--db", db, "--operator", "tom"), "locked")
    monkeypatch.setenv("BIOMETRIX_PASSWORD", ADMIN_PW)
    nothing = cli("operator", "set", "--db", db, "--operator", "root", "--name", "tom")
    assert_one_error_line(nothing, "nothing to change")
    unlocked = cli("operator", "set", "--db", db, "--operator", "root", "--name", "tom", "--unlock",
                   "--role", "supervisor")
    assert unlocked.rc == 0, unlocked.err
    monkeypatch.setenv("BIOMETRIX_PASSWORD", TELLER_PW)
    assert cli("db", "info", "--db", db, "--operator", "tom").rc == 0


def test_rekey_to_a_passphrase(db: Path, cli: Callable[..., Run], signatures: list[Path],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOMETRIX_PASSWORD", ADMIN_PW)
    assert cli("enroll", "--db", db, "--operator", "root", "--subject", "bob", "--signature",
               *signatures[:3]).rc == 0
    monkeypatch.setenv("BIOMETRIX_NEW_PASSPHRASE", "a long bank passphrase")
    rekey = cli("db", "rekey", "--db", db, "--operator", "root", "--to", "passphrase", "--json")
    assert rekey.rc == 0, rekey.err
    assert rekey.json() == {"key_store": "passphrase", "samples": 3, "references": 3, "display_names": 0}
    before = _files(db)
    assert_one_error_line(cli("db", "info", "--db", db, "--operator", "root"), "encrypted with a passphrase")
    monkeypatch.setenv("BIOMETRIX_PASSPHRASE", "the wrong passphrase")
    assert_one_error_line(cli("db", "info", "--db", db, "--operator", "root"), "wrong passphrase")
    assert _files(db) == before
    monkeypatch.setenv("BIOMETRIX_PASSPHRASE", "a long bank passphrase")
    info = cli("db", "info", "--db", db, "--operator", "root", "--json")
    assert info.rc == 0, info.err
    assert info.json()["encryption"] == "aes-256-gcm, key in a passphrase"
    assert cli("verify", "--db", db, "--operator", "root", "--subject", "bob",
               "--signature", signatures[3]).rc in (0, 1, 3)
