"""The store's audit rows, protected settings (model pins, decision policy), audit anchor and signed tokens:
what is MACed with the integrity key. A mixin of ``SqliteStore``."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from pathlib import Path
from typing import Any

from biometrix.core.errors import StoreError, TamperDetected
from biometrix.store import audit as audit_log
from biometrix.store import protected
from biometrix.store.crypto import DataKey, IntegrityKey
from biometrix.store.db import atomic

log = logging.getLogger("biometrix.store.sqlite")

#: The protected setting naming where each new audit head is appended ({"file": PATH}), set by an admin.
ANCHOR_KEY = "audit.anchor"
#: The protected setting recording that access control has started (the first admin exists): from then on a
#: database without operator accounts has had them removed.
ACCESS_KEY = "access_control"


class IntegrityMixin:
    """Audit appends with their MAC and anchor, protected settings and signatures for ``SqliteStore``."""

    _dek: DataKey | None
    _ik: IntegrityKey | None
    _anchor_target: dict[str, Any] | None
    _unanchored: tuple[int, str] | None
    actor: str | None
    _db: Any  # SqliteStore._db: the connection under the store lock


    def _append(self, conn: sqlite3.Connection, event: str, *, operator: str | None, **fields: Any) -> int:
        """Append one audit row (MACed, and made the protected head, with the integrity key) in the caller's
        transaction; its head is anchored once the transaction commits."""
        event_id = audit_log.append(conn, event, operator=operator, integrity=self._ik, **fields)
        if self._anchor_target:  # the head goes to the anchor file once the transaction commits
            self._unanchored = (event_id, audit_log.head_of(conn, event_id))
        return event_id

    def _read_anchor(self, conn: sqlite3.Connection) -> dict[str, Any] | None:
        if self._ik is None:
            return None
        value = protected.get(conn, self._ik, ANCHOR_KEY)
        return value if isinstance(value, dict) and value.get("file") else None

    def _write_anchor(self, event_id: int, digest: str) -> None:
        """Append {"database_id", "event_id", "head", "at"} as one JSON line to the anchor file (O_APPEND; make
        the file append-only, e.g. chattr +a, or a log shipper's input). A failure is logged, never hidden."""
        self._unanchored = None
        if not self._anchor_target:
            return
        path = Path(str(self._anchor_target["file"]))
        line = json.dumps({"database_id": self._dek.database_id if self._dek else None, "event_id": event_id,
                           "head": digest, "at": audit_log.now_utc()}, separators=(",", ":")) + "\n"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)
        except OSError as e:
            log.error("the audit head (row %d) could not be appended to the anchor file %s: %s", event_id, path, e)

    def setting(self, key: str) -> Any | None:
        """A protected setting (None when unset); TamperDetected when it was changed outside biometrix."""
        with self._db() as conn:
            return protected.get(conn, self._integrity(), key)

    def set_setting(self, key: str, value: Any, *, details: dict[str, Any] | None = None) -> int:
        """Set a protected setting and append a "settings" audit row with its old and new value, atomically;
        returns the row's id."""
        with self._db() as conn, atomic(conn):
            ik = self._integrity()
            old = protected.get(conn, ik, key)
            protected.put(conn, ik, key, value, now=audit_log.now_utc())
            event_id = self._append(conn, "settings", subject_id=None, modality=None, model_id=None,
                                    decision="changed", operator=self.actor,
                                    details={"setting": key, "old": old, "new": value, **(details or {})})
            if key == ANCHOR_KEY:
                self._anchor_target = self._read_anchor(conn)
        return event_id

    def sign(self, purpose: str, data: bytes) -> str:
        """A MAC of ``data`` for ``purpose`` (session tokens...) under this database's integrity key."""
        return self._integrity().mac(purpose, data)

    def signed(self, purpose: str, data: bytes, tag: str) -> bool:
        """Whether ``tag`` is ``sign(purpose, data)``."""
        return self._integrity().mac_ok(purpose, data, tag)

    def _integrity(self) -> IntegrityKey:
        if self._ik is None:
            raise StoreError(f"{self._path} has no integrity key yet")
        return self._ik

    # --- operator accounts: each row's name, role, password hash and disabled flag under a MAC ---------------

    def _operator_message(self, conn: sqlite3.Connection, name: str) -> tuple[bytes, Any] | None:
        row = conn.execute("SELECT name, role, password_hash, disabled, mac FROM operators WHERE name = ?",
                           (name,)).fetchone()
        if row is None:
            return None
        return "\0".join(str(v) for v in row[:4]).encode("utf-8"), row[4]

    def _seal_operator(self, conn: sqlite3.Connection, name: str) -> None:
        """(Re)compute the MAC of an operator's account after a change (caller's transaction)."""
        found = self._operator_message(conn, name)
        if found is not None and self._ik is not None:
            conn.execute("UPDATE operators SET mac = ? WHERE name = ?", (self._ik.mac("operator", found[0]), name))

    def _check_operators(self, conn: sqlite3.Connection, names: list[str] | None = None) -> None:
        """TamperDetected when an account was added or changed outside biometrix, or every account was removed
        after access control started (which would open the database to anyone)."""
        if self._ik is None:
            return
        if names is None:
            names = [r[0] for r in conn.execute("SELECT name FROM operators").fetchall()]
            if not names and protected.get(conn, self._ik, ACCESS_KEY):
                raise TamperDetected("the operator accounts of this database were removed outside biometrix "
                                     "(restore it from a backup)")
        for name in names:
            found = self._operator_message(conn, name)
            if found is not None and not self._ik.mac_ok("operator", *found):
                raise TamperDetected(f"the operator account {name[:64]!r} was added or changed outside biometrix "
                                     "(restore the database from a backup)")

    def _mark_access_control(self, conn: sqlite3.Connection) -> None:
        if self._ik is not None and not protected.get(conn, self._ik, ACCESS_KEY):
            protected.put(conn, self._ik, ACCESS_KEY, True, now=audit_log.now_utc())
