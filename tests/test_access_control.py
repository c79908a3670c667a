"""Operators through the service: the first admin, what each role may do, lockout, and every action audited with
its operator. Signatures are drawn here (synthetic strokes), so nothing needs ../shared."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from biometrix import Biometrix
from biometrix.core.errors import AccessDenied, InvalidInput, LoginFailed, NotEnrolled
from biometrix.store.operators import MAX_FAILED_LOGINS

PASSWORDS = {"root": "admin-password-1", "sue": "supervisor-pw-2", "tom": "teller-password-3"}


def drawn(seed: int) -> np.ndarray:
    """A white page with a few dark pen strokes, different for each seed."""
    rng = np.random.default_rng(seed)
    page = np.full((150, 400), 255, np.uint8)
    pts = np.cumsum(rng.normal(0, 12, size=(40, 2)), axis=0) + (60, 75)
    pts[:, 0] = np.clip(pts[:, 0] + np.linspace(0, 280, 40), 5, 395)
    cv2.polylines(page, [pts.astype(np.int32).reshape(-1, 1, 2)], False, 0, 3, cv2.LINE_AA)
    return page


def redrawn(seed: int) -> np.ndarray:
    """``drawn(seed)`` again with a thicker pen: close to that reference without being a copy of it. (A copy
    sits at distance ~0 under the `min` aggregate, below any refer band, which is a fraction of the threshold.)"""
    return cv2.erode(drawn(seed), np.ones((2, 2), np.uint8))


def make_bank(path: Path) -> Path:
    """root (admin), sue (supervisor), tom (teller); alice enrolled by tom with three drawn signatures."""
    with Biometrix(path) as bx:
        bx.add_operator("root", "admin", PASSWORDS["root"])  # the first run: no login needed
        bx.login("root", PASSWORDS["root"])
        bx.add_operator("sue", "supervisor", PASSWORDS["sue"])
        bx.add_operator("tom", "teller", PASSWORDS["tom"])
        bx.login("tom", PASSWORDS["tom"])
        bx.enroll("alice", signatures=[drawn(i) for i in range(3)])
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A database with an admin (root), a supervisor (sue) and a teller (tom); alice enrolled by tom."""
    return make_bank(tmp_path / "bank.db")


def session(db: Path, name: str | None) -> Biometrix:
    bx = Biometrix(db)
    if name is not None:
        bx.login(name, PASSWORDS[name])
    return bx


def test_the_first_operator_must_be_an_admin(tmp_path: Path) -> None:
    with Biometrix(tmp_path / "new.db") as bx:
        assert not bx.access_control()
        bx.enroll("walk-in", signatures=[drawn(0), drawn(9)])  # before the first admin: open, unattributed
        with pytest.raises(AccessDenied, match="must be an admin"):
            bx.add_operator("tom", "teller", PASSWORDS["tom"])
        bx.add_operator("root", "admin", PASSWORDS["root"])
        assert bx.access_control()
        with pytest.raises(AccessDenied, match="log in first"):
            bx.verify("walk-in", signature=drawn(0))
        with pytest.raises(AccessDenied):  # a second "first admin" is refused
            bx.add_operator("eve", "admin", "eve-password-0")


# Independent of core/roles.py: what the issue says each role may do.
EXPECTED = {
    "verify": {"tom", "sue", "root"},
    "enroll": {"tom", "sue", "root"},
    "identify": {"tom", "sue", "root"},
    "audit": {"sue", "root"},
    "erase": {"sue", "root"},
    "backup": {"sue", "root"},
    "settings": {"root"},
    "operators": {"root"},
    "rekey": {"root"},
    "retemplate": {"root"},
}


@pytest.mark.parametrize("who", ["tom", "sue", "root", None])
def test_what_each_role_may_do(db: Path, tmp_path: Path, who: str | None) -> None:
    actions = {
        "verify": lambda bx: bx.verify("alice", signature=drawn(1)),
        "enroll": lambda bx: bx.enroll(f"new-{who}", signatures=[drawn(5), drawn(6)]),
        "identify": lambda bx: bx.identify(signature=drawn(2)),
        "audit": lambda bx: bx.audit(limit=1),
        "erase": lambda bx: bx.erase(f"new-{who}"),
        "backup": lambda bx: bx.backup(tmp_path / f"backup-{who}.db"),
        "settings": lambda bx: bx.set_policy(refer_band=0.05),
        "operators": lambda bx: bx.operators(),
        "rekey": lambda bx: bx.rotate_key(),
        "retemplate": lambda bx: bx.retemplate(),
    }
    allowed = set()
    with session(db, who) as bx:
        for name, act in actions.items():
            try:
                act(bx)
            except AccessDenied:
                continue
            allowed.add(name)
    assert allowed == {name for name, people in EXPECTED.items() if who in people}


def test_every_action_is_audited_with_its_operator(db: Path) -> None:
    with session(db, "tom") as bx:
        bx.verify("alice", signature=drawn(1))
        bx.identify(signature=drawn(1))
    with session(db, "sue") as bx:
        rows = bx.audit()
        assert bx.verify_audit().ok
    attributed = [(e.event, e.operator) for e in rows if e.event in ("enroll", "verify", "identify")]
    assert attributed == [("enroll", "tom"), ("verify", "tom"), ("identify", "tom")]
    logins = [e.operator for e in rows if e.event == "login"]
    assert logins == ["root", "tom", "tom", "sue"]
    added = [(e.details["target"], e.operator) for e in rows if e.event == "operator"]
    assert added == [("root", "root"), ("sue", "root"), ("tom", "root")]


def test_passwords_are_argon2id_hashes(db: Path) -> None:
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT name, password_hash FROM operators").fetchall()
    conn.close()
    assert {name for name, _ in rows} == {"root", "sue", "tom"}
    for name, hashed in rows:
        assert hashed.startswith("$argon2id$v=19$")
        assert PASSWORDS[name] not in hashed
    assert all(p.encode() not in db.read_bytes() for p in PASSWORDS.values())


def test_lockout_after_repeated_failures(db: Path) -> None:
    with Biometrix(db) as bx:
        for _ in range(MAX_FAILED_LOGINS - 1):
            with pytest.raises(LoginFailed, match="wrong operator name or password"):
                bx.login("tom", "not-the-password")
        with pytest.raises(LoginFailed, match="wrong operator name or password"):  # locks it, saying nothing more
            bx.login("tom", "not-the-password")
        with pytest.raises(LoginFailed, match="wrong operator name or password"):  # even the right password
            bx.login("tom", PASSWORDS["tom"])
        with pytest.raises(LoginFailed, match="wrong operator name or password"):  # same answer for unknown names
            bx.login("nobody", "whatever-password")
        bx.login("root", PASSWORDS["root"])
        assert [o.locked_until is not None for o in bx.operators() if o.name == "tom"] == [True]
        bx.update_operator("tom", unlock=True)
        failures = [e for e in bx.audit(event="login_failed")]
        bx.login("tom", PASSWORDS["tom"])
    assert [e.decision for e in failures] == ["password"] * 4 + ["locked-now", "locked", "unknown"]


def test_a_lock_expires(db: Path) -> None:
    with Biometrix(db) as bx:
        for _ in range(MAX_FAILED_LOGINS):
            with pytest.raises(AccessDenied):
                bx.login("tom", "not-the-password")
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE operators SET locked_until = ? WHERE name = 'tom'", (past,))
    conn.commit()
    conn.close()
    with Biometrix(db) as bx:
        assert bx.login("tom", PASSWORDS["tom"]).name == "tom"


def test_disabling_takes_effect_in_a_running_session(db: Path) -> None:
    with session(db, "tom") as teller, session(db, "root") as admin:
        teller.verify("alice", signature=drawn(1))
        admin.update_operator("tom", disabled=True)
        with pytest.raises(AccessDenied, match="disabled or removed"):
            teller.verify("alice", signature=drawn(1))
        with pytest.raises(LoginFailed, match="disabled"):
            teller.login("tom", PASSWORDS["tom"])
        admin.update_operator("tom", disabled=False, role="supervisor")
        teller.login("tom", PASSWORDS["tom"])
        teller.erase("alice")  # now a supervisor


def test_the_last_admin_stays(db: Path) -> None:
    with session(db, "root") as bx:
        with pytest.raises(AccessDenied, match="no active admin"):
            bx.update_operator("root", role="teller")
        with pytest.raises(AccessDenied, match="no active admin"):
            bx.update_operator("root", disabled=True)
        with pytest.raises(InvalidInput, match="at least 10"):
            bx.add_operator("short", "teller", "2short")
        bx.change_password(PASSWORDS["root"], "a-new-admin-password")
        with pytest.raises(LoginFailed):
            bx.login("root", PASSWORDS["root"])
        bx.login("root", "a-new-admin-password")


def test_a_supervisor_resolves_a_refer_once(db: Path) -> None:
    with session(db, "tom") as bx, session(db, "root") as admin:
        # one threshold and a band wide enough to refer it (under the default three zones the synthetic
        # drawing's distance decides alone, Refer or not)
        admin.set_policy(three_zone=False, refer_band=0.99)
        d = bx.verify("alice", signature=redrawn(1))
        assert d.refer
        refer_row = admin.audit(event="verify")[-1].event_id
        with pytest.raises(AccessDenied, match="supervisor"):
            bx.resolve(refer_row, accept=True)
        admin.set_policy(refer_band=0.0)
        plain = bx.verify("alice", signature=redrawn(1))
        plain_row = admin.audit(event="verify")[-1].event_id
        assert not plain.refer
    with session(db, "sue") as bx:
        with pytest.raises(NotEnrolled, match="not a referred verification"):
            bx.resolve(plain_row, accept=True)
        row = bx.resolve(refer_row, accept=False, note="signature too hesitant")
        with pytest.raises(InvalidInput, match="already resolved"):
            bx.resolve(refer_row, accept=True)
        (entry,) = [e for e in bx.audit(event="resolve")]
    assert (entry.event_id, entry.decision, entry.operator, entry.subject_id) == (row, "reject", "sue", "alice")
    assert entry.details["refers_to"] == refer_row


def test_backup_and_restore_are_audited_with_their_operator(db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    with session(db, "sue") as bx:
        check = bx.backup(copy)
        (row,) = bx.audit(event="backup")
        assert (row.operator, row.details["to"], row.details["audit_head"]) == ("sue", str(copy), check.head)
        with pytest.raises(AccessDenied, match="needs an admin"):
            bx.restore(copy)
    with session(db, "root") as bx:
        report = bx.restore(copy)
        assert report.kept is not None and report.kept.exists()
        rows = bx.audit()
    assert rows[-1].event == "restore" and rows[-1].operator == "root"
    assert "backup" not in [e.event for e in rows]  # the copy was taken before its own backup row
