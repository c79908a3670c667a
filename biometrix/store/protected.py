"""Protected settings: key/value rows MACed with the database's integrity key (model pins, decision policy,
the audit anchor and the audit head), so that an edit made without the key is found on the next read."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from biometrix.core.errors import InvalidInput, TamperDetected
from biometrix.store.crypto import IntegrityKey

PURPOSE = "settings"


def _encode(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as e:
        raise InvalidInput(f"a protected setting must be plain JSON: {e}") from e


def _message(key: str, text: str) -> bytes:
    return key.encode("utf-8") + b"\0" + text.encode("utf-8")


def get(conn: sqlite3.Connection, ik: IntegrityKey, key: str) -> Any | None:
    """The value of ``key`` (None when unset); TamperDetected when its MAC does not match."""
    row = conn.execute("SELECT value, mac FROM protected_settings WHERE key = ?", (key,)).fetchone()
    if row is None:
        return None
    text, tag = row
    if not ik.mac_ok(PURPOSE, _message(key, str(text)), tag):
        raise TamperDetected(f"the protected setting {key!r} of this database fails its integrity check: it was "
                             "changed outside biometrix (restore the database from a backup)")
    return json.loads(text)


def put(conn: sqlite3.Connection, ik: IntegrityKey, key: str, value: Any, *, now: str) -> None:
    """Set ``key`` to ``value`` inside the caller's transaction."""
    text = _encode(value)
    conn.execute("INSERT INTO protected_settings (key, value, mac, updated_at) VALUES (?, ?, ?, ?)"
                 " ON CONFLICT (key) DO UPDATE SET value = excluded.value, mac = excluded.mac,"
                 " updated_at = excluded.updated_at", (key, text, ik.mac(PURPOSE, _message(key, text)), now))


def check_all(conn: sqlite3.Connection, ik: IntegrityKey) -> None:
    """TamperDetected unless every protected row's MAC matches (run when the database is opened)."""
    for (key,) in conn.execute("SELECT key FROM protected_settings ORDER BY key").fetchall():
        get(conn, ik, key)
