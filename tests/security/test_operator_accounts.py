"""Operator accounts edited in the file (found while writing the threat model): deleting every operator row put a
database back in set-up mode, where anyone runs every command without a login; inserting a row, or changing a
teller's role to admin, made an admin. Each account now carries a MAC under the integrity key, and the database
remembers (MACed) that access control started."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher

from biometrix import Biometrix
from biometrix.core.errors import TamperDetected
from tests.security._bank import PASSWORDS, attacker_sql, drawn, make_bank, one_error_line, run_cli, session


@pytest.fixture
def bank(tmp_path: Path) -> Path:
    return make_bank(tmp_path / "bank.db")


def test_removing_every_operator_does_not_open_the_database(bank: Path, capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    attacker_sql(bank, "DELETE FROM operators")
    with Biometrix(bank) as bx, pytest.raises(TamperDetected, match="removed outside biometrix"):
        bx.verify("alice", signature=drawn(1))
    one_error_line(run_cli(capsys, monkeypatch, None, "db", "info", "--db", bank), "removed outside biometrix")


def test_an_inserted_or_promoted_account_is_refused(bank: Path) -> None:
    forged = PasswordHasher().hash("mallory-password-9")
    attacker_sql(bank, "INSERT INTO operators (name, role, password_hash, created_at, updated_at)"
                       " VALUES ('mallory', 'admin', ?, '2026-01-01', '2026-01-01')", params=(forged,))
    with Biometrix(bank) as bx, pytest.raises(TamperDetected, match="'mallory' was added or changed"):
        bx.login("mallory", "mallory-password-9")
    attacker_sql(bank, "DELETE FROM operators WHERE name = 'mallory'",
                 "UPDATE operators SET role = 'admin' WHERE name = 'tom'")
    with Biometrix(bank) as bx, pytest.raises(TamperDetected, match="'tom' was added or changed"):
        bx.login("tom", PASSWORDS["tom"])
    attacker_sql(bank, "UPDATE operators SET role = 'teller' WHERE name = 'tom'")
    with session(bank, "tom") as bx:  # put back as it was: the account works again
        assert bx.operator is not None and bx.operator.role.value == "teller"


def test_accounts_changed_through_biometrix_stay_valid(bank: Path) -> None:
    with session(bank, "root") as admin:
        admin.update_operator("tom", role="supervisor")
        admin.update_operator("sue", password="a-new-supervisor-pw")
        admin.add_operator("ann", "teller", "another-teller-pw")
        assert [o.name for o in admin.operators()] == ["ann", "root", "sue", "tom"]
    with Biometrix(bank) as bx:
        assert bx.login("sue", "a-new-supervisor-pw").name == "sue"
        assert bx.login("tom", PASSWORDS["tom"]).role.value == "supervisor"
