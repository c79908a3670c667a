"""Operator accounts: argon2id password hashes, roles, and lockout after repeated failed logins.

Every function here runs inside the caller's write transaction (store.db.atomic), so a failed-login counter
and the audit row that records the attempt are written together.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from biometrix.core.errors import AccountLocked, InvalidInput, LoginFailed, NotEnrolled, StoreError
from biometrix.core.roles import Operator, Role, role
from biometrix.store.base import OperatorInfo

#: Failed logins in a row that lock an account, and for how long.
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD = 10
MAX_PASSWORD = 1024


def _hasher():  # argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile: t=3, m=64 MiB, p=4)
    from argon2 import PasswordHasher

    return PasswordHasher()


def check_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("an operator name must be a non-empty string")
    name = name.strip()
    if len(name) > 64 or any(ord(c) < 33 for c in name):
        raise InvalidInput("an operator name is at most 64 characters, without spaces or control characters")
    return name


def check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInput(f"an operator password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"an operator password is at most {MAX_PASSWORD} characters")
    return password


def hash_password(password: str) -> str:
    return str(_hasher().hash(check_password(password)))


def count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM operators").fetchone()[0])


def add(conn: sqlite3.Connection, name: str, who: Role, password_hash: str, *, now: str) -> None:
    name = check_name(name)
    if conn.execute("SELECT 1 FROM operators WHERE name = ?", (name,)).fetchone() is not None:
        raise InvalidInput(f"there is already an operator {name!r}")
    conn.execute(
        "INSERT INTO operators (name, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        (name, role(who).value, password_hash, now, now),
    )


def _row(conn: sqlite3.Connection, name: str) -> tuple[str, str, int, str | None, int]:
    row = conn.execute(
        "SELECT role, password_hash, failed_logins, locked_until, disabled FROM operators WHERE name = ?", (name,)
    ).fetchone()
    if row is None:
        raise NotEnrolled(f"there is no operator {name!r}")
    return row


def login(conn: sqlite3.Connection, name: str, password: str, *, now: datetime) -> tuple[Operator | None, str]:
    """Check a login; (the operator, "ok") or (None, why) where why is "unknown", "disabled", "locked", "password".

    A wrong password counts a failure and locks the account after MAX_FAILED_LOGINS in a row; a right one
    resets the count (and re-hashes when argon2's parameters have changed). The caller raises after writing
    its audit row, so that failures are recorded even though the login is refused.
    """
    from argon2.exceptions import InvalidHashError, VerificationError

    row = conn.execute(
        "SELECT role, password_hash, failed_logins, locked_until, disabled FROM operators WHERE name = ?", (name,)
    ).fetchone()
    hasher = _hasher()
    if row is None:
        # Spend the same time as a real check so that timing does not tell which names exist.
        try:
            hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return None, "unknown"
    who, stored, failed, locked_until, disabled = row
    if disabled:
        return None, "disabled"
    if locked_until is not None and datetime.fromisoformat(locked_until) > now:
        return None, "locked"
    try:
        hasher.verify(stored, password)
    except VerificationError:
        failed += 1
        lock = (now + LOCKOUT).isoformat(timespec="microseconds") if failed >= MAX_FAILED_LOGINS else None
        conn.execute("UPDATE operators SET failed_logins = ?, locked_until = ? WHERE name = ?",
                     (0 if lock else failed, lock, name))
        return None, "locked-now" if lock else "password"
    except InvalidHashError as e:
        raise StoreError(f"the password hash of operator {name!r} is damaged") from e
    stamp = now.isoformat(timespec="microseconds")
    if hasher.check_needs_rehash(stored):
        conn.execute("UPDATE operators SET password_hash = ?, updated_at = ? WHERE name = ?",
                     (hasher.hash(password), stamp, name))
    conn.execute("UPDATE operators SET failed_logins = 0, locked_until = NULL WHERE name = ?", (name,))
    return Operator(name=name, role=Role(who)), "ok"


def refuse(name: str, why: str, *, now: datetime) -> Exception:
    """The error a refused login raises (one message for an unknown name and a wrong password)."""
    if why in ("locked", "locked-now"):
        until = (now + LOCKOUT) if why == "locked-now" else None
        when = f" for {int(LOCKOUT.total_seconds() // 60)} minutes" if until else ""
        return AccountLocked(f"operator {name!r} is locked{when} after {MAX_FAILED_LOGINS} failed logins; "
                             "an admin can unlock it (biometrix operator set --unlock)")
    if why == "disabled":
        return LoginFailed(f"operator {name!r} is disabled")
    return LoginFailed("wrong operator name or password")


def update(conn: sqlite3.Connection, name: str, *, now: str, who: Role | None = None,
           password_hash: str | None = None, disabled: bool | None = None, unlock: bool = False) -> None:
    _row(conn, name)
    if who is not None:
        conn.execute("UPDATE operators SET role = ? WHERE name = ?", (role(who).value, name))
    if password_hash is not None:
        conn.execute("UPDATE operators SET password_hash = ?, failed_logins = 0, locked_until = NULL"
                     " WHERE name = ?", (password_hash, name))
    if disabled is not None:
        conn.execute("UPDATE operators SET disabled = ? WHERE name = ?", (int(disabled), name))
    if unlock:
        conn.execute("UPDATE operators SET failed_logins = 0, locked_until = NULL WHERE name = ?", (name,))
    conn.execute("UPDATE operators SET updated_at = ? WHERE name = ?", (now, name))


def active_admins(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM operators WHERE role = 'admin' AND disabled = 0").fetchone()[0])


def listing(conn: sqlite3.Connection) -> list[OperatorInfo]:
    rows = conn.execute(
        "SELECT name, role, disabled, locked_until, failed_logins, created_at FROM operators ORDER BY name"
    ).fetchall()
    now = datetime.now(UTC)
    out = []
    for name, who, disabled, locked_until, failed, created in rows:
        until = datetime.fromisoformat(locked_until) if locked_until else None
        out.append(OperatorInfo(name=name, role=who, disabled=bool(disabled),
                                locked_until=until if until and until > now else None,
                                failed_logins=int(failed), created_at=datetime.fromisoformat(created)))
    return out


# A hash of a random password, checked against when the name is unknown (constant-time-ish refusal).
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$hOA8MkrM8Dq0coh0KAnkSg$08X+y9xpeqo0ilB41JWIpcskmLuDF79SRSDaIUxD2u0"
