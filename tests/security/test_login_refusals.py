"""Finding 10, logins: lockout messages confirmed that an account existed; anyone could lock out the only admin
with 5 tries; and a password typed into the name field landed in the audit in clear. Every refusal must now say
the same thing; an admin's account must wait (a delay doubling per failure, capped) instead of locking; and a
name that is no operator's must never be stored as typed."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from biometrix import Biometrix
from biometrix.core.errors import LoginFailed
from biometrix.store.operators import ADMIN_FIRST_DELAY, ADMIN_MAX_DELAY, LOCKOUT, MAX_FAILED_LOGINS

ROOT_PW, TOM_PW, SUE_PW = "admin-password-1", "teller-password-3", "supervisor-pw-2"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """The only admin (root), a teller (tom) and a disabled supervisor (sue)."""
    path = tmp_path / "bank.db"
    with Biometrix(path) as bx:
        bx.add_operator("root", "admin", ROOT_PW)
        bx.login("root", ROOT_PW)
        bx.add_operator("tom", "teller", TOM_PW)
        bx.add_operator("sue", "supervisor", SUE_PW)
        bx.update_operator("sue", disabled=True)
    return path


def _refusal(bx: Biometrix, name: str, password: str) -> tuple[type, str]:
    with pytest.raises(LoginFailed) as err:
        bx.login(name, password)
    return type(err.value), str(err.value)


def _until(db: Path, name: str) -> datetime | None:
    conn = sqlite3.connect(db)
    (value,) = conn.execute("SELECT locked_until FROM operators WHERE name = ?", (name,)).fetchone()
    conn.close()
    return None if value is None else datetime.fromisoformat(value)


def _wait_over(db: Path, name: str) -> None:
    """Let the current wait or lock pass (its end moved to the past, as time would)."""
    conn = sqlite3.connect(db)
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    conn.execute("UPDATE operators SET locked_until = ? WHERE name = ? AND locked_until IS NOT NULL", (past, name))
    conn.commit()
    conn.close()


def test_every_refusal_says_the_same_thing(db: Path) -> None:
    with Biometrix(db) as bx:
        for _ in range(MAX_FAILED_LOGINS):
            with pytest.raises(LoginFailed):
                bx.login("tom", "not-the-password")
        answers = {
            "unknown": _refusal(bx, "nobody", "whatever-password"),
            "wrong password": _refusal(bx, "root", "not-the-password"),
            "locked, right password": _refusal(bx, "tom", TOM_PW),
            "disabled, right password": _refusal(bx, "sue", SUE_PW),
        }
    assert len(set(answers.values())) == 1, answers
    (kind, message), = set(answers.values())
    assert kind is LoginFailed and "tom" not in message and "sue" not in message


def test_a_refusal_that_checks_nothing_takes_as_long_as_one_that_does(db: Path) -> None:
    """Without the argon2id check a locked or disabled account answered at once: the time told its state."""
    with Biometrix(db) as bx:
        for _ in range(MAX_FAILED_LOGINS):
            _refusal(bx, "tom", "not-the-password")

        def seconds(name: str, password: str) -> float:
            started = time.perf_counter()
            _refusal(bx, name, password)
            return time.perf_counter() - started

        checked = min(seconds("root", "not-the-password") for _ in range(2))
        _wait_over(db, "root")
        for name, password in (("tom", TOM_PW), ("sue", SUE_PW), ("nobody", "whatever-password")):
            assert min(seconds(name, password) for _ in range(2)) > 0.3 * checked, name


def test_an_attacker_cannot_lock_the_only_admin_out(db: Path) -> None:
    with Biometrix(db) as bx:
        waits = []
        for failure in range(1, MAX_FAILED_LOGINS + 7):
            _wait_over(db, "root")  # each try after the previous wait: the attacker's best
            started = datetime.now(UTC)
            _refusal(bx, "root", f"guess-number-{failure}")
            until = _until(db, "root")
            waits.append(None if until is None else round((until - started).total_seconds()))
        first, cap = ADMIN_FIRST_DELAY.total_seconds(), ADMIN_MAX_DELAY.total_seconds()
        expected = [None] * (MAX_FAILED_LOGINS - 1) + [min(cap, first * 2**k) for k in range(7)]
        assert waits == [None if w is None else pytest.approx(w, abs=1) for w in expected]
        assert max(w for w in waits if w is not None) <= cap < LOCKOUT.total_seconds()
        # while it waits even the right password is refused (the same answer); once the wait is over it works
        _refusal(bx, "root", ROOT_PW)
        _wait_over(db, "root")
        assert bx.login("root", ROOT_PW).name == "root"
        assert _until(db, "root") is None
        rows = [e.decision for e in bx._db.audit(event="login_failed") if e.details.get("name") == "root"]
    assert rows == ["password"] * (MAX_FAILED_LOGINS - 1) + ["delayed-now"] * 7 + ["waiting"]


def test_a_teller_is_still_locked(db: Path) -> None:
    with Biometrix(db) as bx:
        for _ in range(MAX_FAILED_LOGINS):
            _refusal(bx, "tom", "not-the-password")
        until = _until(db, "tom")
        assert until is not None and until - datetime.now(UTC) > LOCKOUT - timedelta(minutes=1)
        _refusal(bx, "tom", TOM_PW)


def test_a_password_typed_as_the_name_is_not_stored(db: Path) -> None:
    typed = "Tr0ub4dor&3-typed-in-the-name-field"
    with Biometrix(db) as bx:
        _refusal(bx, typed, "")
        _refusal(bx, typed, "x")
        _refusal(bx, "root", "wrong-password-1")
        bx.login("root", ROOT_PW)
        failed = bx.audit(event="login_failed")
    unknown = [e for e in failed if e.decision == "unknown"]
    assert len(unknown) == 2 and "name" not in unknown[0].details
    assert unknown[0].details["name_digest"] == unknown[1].details["name_digest"]  # the same name, recognisable
    assert len(unknown[0].details["name_digest"]) == 16
    assert [e.details.get("name") for e in failed if e.decision == "password"] == ["root"]  # a known name is
    files = b"".join(p.read_bytes() for p in db.parent.iterdir() if p.name.startswith("bank.db"))
    assert typed.encode() not in files  # nowhere in the database, its WAL included
