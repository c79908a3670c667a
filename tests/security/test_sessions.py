"""Finding 2 of the security review: ``Biometrix.resume(Operator(...))`` logged anyone in as any operator
without a password. Now the only ways to act as an operator are its password (``login``) or a short-lived
session token this database issued (``session_token`` / ``resume``)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest

from biometrix import Biometrix
from biometrix.core.errors import AccessDenied
from biometrix.core.roles import Operator, Role
from tests.security._bank import drawn, make_bank, session


@pytest.fixture
def bank(tmp_path: Path) -> Path:
    return make_bank(tmp_path / "bank.db")


def test_resume_with_an_operator_value_logs_nobody_in(bank: Path) -> None:
    with Biometrix(bank) as bx:
        with pytest.raises(AccessDenied):
            bx.resume(Operator("root", Role.ADMIN))  # type: ignore[arg-type]
        assert bx.operator is None
        with pytest.raises(AccessDenied, match="log in first"):
            bx.set_policy(refer_band=0.5)


def test_a_token_carries_the_login_to_another_service(bank: Path) -> None:
    with session(bank, "tom") as teller:
        token = teller.session_token()
    with Biometrix(bank) as bx:
        assert bx.resume(token) == Operator("tom", Role.TELLER)
        bx.verify("alice", signature=drawn(1))
        with pytest.raises(AccessDenied, match="change thresholds"):  # a teller's token gives a teller's rights
            bx.set_policy(refer_band=0.5)
    with session(bank, "sue") as bx:
        assert bx.audit(event="verify")[-1].operator == "tom"


def _forged(token: str, **changes: object) -> str:
    body, _, tag = token.partition(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload.update(changes)
    new = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    return f"{new}.{tag}"


def test_forged_expired_and_foreign_tokens_are_refused(bank: Path, tmp_path: Path) -> None:
    with session(bank, "tom") as teller:
        token = teller.session_token()
    other = make_bank(tmp_path / "other.db")
    with session(other, "root") as foreign_admin:
        foreign = foreign_admin.session_token()  # a real admin token, of another database
    attempts = {
        "promoted to root": _forged(token, op="root"),
        "expiry pushed back": _forged(token, exp=int(time.time()) + 10**6),
        "another database's": foreign,
        "no signature": token.partition(".")[0],
        "garbage": "not-a-token",
    }
    for what, bad in attempts.items():
        with Biometrix(bank) as bx:
            with pytest.raises(AccessDenied):
                bx.resume(bad)
            assert bx.operator is None, what


def test_a_token_expires_and_a_disabled_account_cannot_resume(bank: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from biometrix.service import access as service  # where session tokens read the clock

    with session(bank, "tom") as teller:
        token = teller.session_token()
    later = time.time() + service.SESSION_TTL_S + 1
    monkeypatch.setattr(service.time, "time", lambda: later)
    with Biometrix(bank) as bx, pytest.raises(AccessDenied, match="expired"):
        bx.resume(token)
    monkeypatch.undo()
    with session(bank, "root") as admin:
        admin.update_operator("tom", disabled=True)
    with Biometrix(bank) as bx, pytest.raises(AccessDenied, match="disabled"):
        bx.resume(token)


def test_the_store_is_not_part_of_the_public_api(bank: Path) -> None:
    import biometrix

    with Biometrix(bank) as bx:
        assert not hasattr(bx, "store")
    assert "SqliteStore" not in biometrix.__all__ and "open_store" not in biometrix.__all__
