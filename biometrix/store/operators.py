"""Operator accounts: argon2id password hashes, roles, and lockout after repeated failed logins.

A teller's or supervisor's account locks for LOCKOUT after MAX_FAILED_LOGINS failures in a row. An admin's never
locks (anyone could otherwise lock the only admin out with a few tries): from the MAX_FAILED_LOGINS-th failure on,
each failure makes the next attempt wait, ADMIN_FIRST_DELAY doubling per failure up to ADMIN_MAX_DELAY. Every
refusal (unknown name, wrong password, locked, waiting, disabled) says the same thing and costs the same
argon2id check, so that neither the message nor the time tells whether an account exists or what state it is in.

Every function here runs inside the caller's write transaction (store.db.atomic), so a failed-login counter
and the audit row that records the attempt are written together.
"""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from biometrix.core.errors import InvalidInput, LoginFailed, NotEnrolled, StoreError
from biometrix.core.roles import Operator, Role, role
from biometrix.store.base import OperatorInfo

if TYPE_CHECKING:
    from argon2 import PasswordHasher

    from biometrix.store.crypto import DataKey

#: Failed logins in a row that lock an account, and for how long.
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
#: An admin's wait after its MAX_FAILED_LOGINS-th failure in a row, doubled by each failure after it, and its cap.
ADMIN_FIRST_DELAY = timedelta(seconds=15)
ADMIN_MAX_DELAY = timedelta(minutes=5)
#: What every refused login says.
REFUSED = ("wrong operator name or password, or the account is locked, waiting after failed logins or disabled; "
           "try again later or ask an admin")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024


def _hasher() -> PasswordHasher:
    """argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile: t=3, m=64 MiB, p=4)."""
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


def admin_delay(failed: int) -> timedelta | None:
    """How long an admin waits after ``failed`` failed logins in a row (None: not at all)."""
    if failed < MAX_FAILED_LOGINS:
        return None
    return min(ADMIN_MAX_DELAY, ADMIN_FIRST_DELAY * 2 ** min(failed - MAX_FAILED_LOGINS, 32))


def _spend_the_time(hasher: PasswordHasher, password: str) -> None:
    """An argon2id check against a dummy hash: a refusal that checks nothing takes as long as one that does."""
    from argon2.exceptions import VerificationError

    try:
        hasher.verify(_DUMMY_HASH, password)
    except VerificationError:
        pass


def name_digest(name: str, dek: DataKey | None) -> str:
    """What the audit keeps of a login name that is no operator's: 16 hex digits of an HMAC of it under the data
    key (of its sha256 in a database without one). The same name tried again shows as the same digest, and what
    was typed (perhaps a password, in the wrong field) is not in the file."""
    data = b"login-name\0" + name.encode("utf-8", "surrogatepass")
    return (dek.digest(data) if dek is not None else hashlib.sha256(data).hexdigest())[:16]


def login(conn: sqlite3.Connection, name: str, password: str, *, now: datetime) -> tuple[Operator | None, str]:
    """Check a login; (the operator, "ok") or (None, why) where why is "unknown", "disabled", "locked",
    "waiting" (an admin within its delay), "password", "locked-now" or "delayed-now".

    A wrong password counts a failure: a teller's or supervisor's account locks after MAX_FAILED_LOGINS in a row,
    an admin's waits ``admin_delay(failures)``. A right one resets the count (and re-hashes when argon2's
    parameters have changed). The caller raises after writing its audit row, so that failures are recorded even
    though the login is refused.
    """
    from argon2.exceptions import InvalidHashError, VerificationError

    row = conn.execute(
        "SELECT role, password_hash, failed_logins, locked_until, disabled FROM operators WHERE name = ?", (name,)
    ).fetchone()
    hasher = _hasher()
    if row is None:
        _spend_the_time(hasher, password)
        return None, "unknown"
    who, stored, failed, locked_until, disabled = row
    admin = Role(who) is Role.ADMIN
    if disabled:
        _spend_the_time(hasher, password)
        return None, "disabled"
    if locked_until is not None and datetime.fromisoformat(locked_until) > now:
        _spend_the_time(hasher, password)
        return None, "waiting" if admin else "locked"
    try:
        hasher.verify(stored, password)
    except VerificationError:
        failed += 1
        if admin:
            delay = admin_delay(failed)
            until = None if delay is None else (now + delay).isoformat(timespec="microseconds")
            conn.execute("UPDATE operators SET failed_logins = ?, locked_until = ? WHERE name = ?",
                         (failed, until, name))
            return None, "password" if delay is None else "delayed-now"
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


def refuse() -> LoginFailed:
    """The error every refused login raises: the same type and message for an unknown name, a wrong password, a
    locked, waiting or disabled account (which of them it was is in the audit row)."""
    return LoginFailed(REFUSED)


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
