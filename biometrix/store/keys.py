"""The store's keys: encryption at rest (the data key, its authenticated record, rotation, sealing values) and the
integrity key that MACs audit rows, protected settings and session tokens. A mixin of ``SqliteStore``."""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
from typing import TYPE_CHECKING, Any

import numpy as np

from biometrix.core.errors import StoreError, TamperDetected
from biometrix.store import audit as audit_log
from biometrix.store import crypto, protected
from biometrix.store import samples as sample_store
from biometrix.store.codec import blob_to_embedding, embedding_to_blob
from biometrix.store.crypto import DataKey, IntegrityKey, KeySource, WrappedKey
from biometrix.store.db import atomic

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger("biometrix.store.sqlite")

_VECTOR, _NAME = "template_references.vector", "subjects.display_name"


def put_meta(conn: Any, key: str, value: str) -> None:
    """Set one store_meta row (caller's transaction)."""
    conn.execute("INSERT INTO store_meta (key, value) VALUES (?, ?)"
                 " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))


class KeysMixin:
    """Encryption at rest and integrity for ``SqliteStore`` (which provides ``_db``, ``_append``, ``actor``)."""

    _path: Path | str
    _key: KeySource
    _dek: DataKey | None
    _ik: IntegrityKey | None
    _mac_from: int | None
    actor: str | None
    _db: Any  # SqliteStore._db: the connection under the store lock
    _append: Any  # IntegrityMixin._append
    _seal_operator: Any  # IntegrityMixin._seal_operator
    _mark_access_control: Any  # IntegrityMixin._mark_access_control


    @staticmethod
    def _database_id(conn: sqlite3.Connection) -> str:
        row = conn.execute("SELECT value FROM store_meta WHERE key = 'database_id'").fetchone()
        if row is None:
            raise StoreError("the enrollment database has no id (store_meta is damaged)")
        return str(row[0])

    @staticmethod
    def _meta(conn: sqlite3.Connection, key: str) -> str | None:
        row = conn.execute("SELECT value FROM store_meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @staticmethod
    def _wrapped(conn: sqlite3.Connection) -> WrappedKey | None:
        row = conn.execute("SELECT key_id, kind, params, wrapped FROM data_keys").fetchone()
        if row is None:
            return None
        key_id, kind, params, wrapped = row
        return WrappedKey(key_id=key_id, kind=kind, params=json.loads(params), wrapped=bytes(wrapped))

    def _unlock(self, conn: sqlite3.Connection) -> DataKey | None:
        wrapped = self._wrapped(conn)
        if wrapped is None:
            if self._meta(conn, "encryption") != "none":
                return None  # new and not keyed yet: _first_key gives it its key under the write lock
            if self._key.kind != "auto":
                log.warning("%s is not encrypted; the key given is not used (encrypt it: biometrix db rekey)",
                            self._path)
            return None
        return crypto.unwrap(self._key.resolved_for(wrapped.kind), wrapped, self._database_id(conn))

    def _first_key(self, conn: sqlite3.Connection) -> None:
        """Give a new database its data key and integrity key (or open those another process gave it meanwhile)."""
        source = self._key.resolved_for_new()
        with atomic(conn):
            if self._wrapped(conn) is None and self._meta(conn, "encryption") == "pending":
                if not self._is_empty(conn):
                    raise TamperDetected(f"{self._path} holds data but has no key record: it was removed; restore "
                                         "the database from a backup")
                database_id = self._database_id(conn)
                dek, wrapped = crypto.new_data_key(source, database_id, audit_mac_from=audit_log.next_id(conn))
                self._keyed(conn, dek, wrapped, IntegrityKey.new(database_id))
                log.info("new enrollment database %s, encrypted (key in a %s)", self._path, wrapped.kind)
                return
        self._dek = self._unlock(conn)
        self._open_integrity(conn)

    def _keyed(self, conn: sqlite3.Connection, dek: DataKey, wrapped: WrappedKey, ik: IntegrityKey) -> None:
        """Write the key record and the sealed integrity key (caller's transaction) and adopt them."""
        self._put_wrapped(conn, wrapped)
        put_meta(conn, "integrity_key", base64.b64encode(ik.sealed_by(dek)).decode("ascii"))
        self._dek, self._ik, self._mac_from = dek, ik, int(wrapped.params["audit_mac_from"])

    def _is_empty(self, conn: sqlite3.Connection) -> bool:
        return not conn.execute("SELECT EXISTS (SELECT 1 FROM subjects) OR EXISTS (SELECT 1 FROM operators)"
                                " OR EXISTS (SELECT 1 FROM audit_log) OR EXISTS (SELECT 1 FROM protected_settings)"
                                ).fetchone()[0]

    def _open_integrity(self, conn: sqlite3.Connection) -> None:
        """For a database past the keyed upgrade: its data key must be there, its key record authenticated, its
        integrity key sealed by it, and every protected setting must carry its MAC. TamperDetected otherwise."""
        wrapped = self._wrapped(conn)
        if self._dek is None or wrapped is None:
            if self._meta(conn, "encryption") == "pending" and wrapped is None and self._is_empty(conn):
                return  # new and not keyed yet: _first_key keys it under the write lock
            raise TamperDetected(f"the key record of {self._path} is missing or was set to 'not encrypted': a "
                                 "database that had encryption never loses it (restore it from a backup)")
        if crypto.wrapped_format(wrapped) < crypto.WRAP_FORMAT:
            raise TamperDetected(f"the key record of {self._path} was replaced by one in the old, unauthenticated "
                                 "format (restore the database from a backup)")
        sealed = self._meta(conn, "integrity_key")
        try:
            ik = IntegrityKey.opened_by(self._dek, base64.b64decode(sealed or "", validate=True))
            mac_from = int(wrapped.params["audit_mac_from"])
        except (StoreError, ValueError, KeyError, TypeError) as e:
            raise TamperDetected(f"the integrity key of {self._path} is missing or does not open with its data "
                                 "key: the database was altered (restore it from a backup)") from e
        protected.check_all(conn, ik)
        self._ik, self._mac_from = ik, mac_from

    def _keyed_upgrade(self, conn: sqlite3.Connection) -> None:
        """Inside the transaction of the integrity migration: give the database its integrity key and an
        authenticated key record (re-wrapping its data key), encrypting it first if it was still plaintext."""
        wrapped = self._wrapped(conn)
        if wrapped is None and self._meta(conn, "encryption") == "pending":
            return  # a new database: _first_key keys it
        database_id = self._database_id(conn)
        mac_from = audit_log.next_id(conn)
        if self._dek is None:  # written before encryption existed: encrypted now, never left plaintext
            source = self._key.resolved_for_new()
            dek, new = crypto.new_data_key(source, database_id, audit_mac_from=mac_from)
            try:
                counts = self._reseal(conn, None, dek)
                self._keyed(conn, dek, new, IntegrityKey.new(database_id))
            except BaseException:
                crypto.forget_kek(new, source)
                raise
            decision = "encrypted"
        else:
            if wrapped is None:
                raise TamperDetected(f"the key record of {self._path} is missing")
            new = crypto.rewrap(self._key.resolved_for(wrapped.kind), wrapped, database_id, audit_mac_from=mac_from)
            self._keyed(conn, self._dek, new, IntegrityKey.new(database_id))
            counts, decision = {}, "authenticated"
        for (name,) in conn.execute("SELECT name FROM operators").fetchall():  # the accounts there are: trusted now
            self._seal_operator(conn, name)
        if conn.execute("SELECT EXISTS (SELECT 1 FROM operators)").fetchone()[0]:
            self._mark_access_control(conn)
        self._append(conn, "key", subject_id=None, modality=None, model_id=None, decision=decision,
                     operator=self.actor, details={"key_store": new.kind, "audit_mac_from": mac_from, **counts})
        log.info("enrollment database %s upgraded: key record authenticated, audit rows MACed from %d%s",
                 self._path, mac_from, " (it was plaintext: now encrypted)" if decision == "encrypted" else "")

    @staticmethod
    def _put_wrapped(conn: sqlite3.Connection, wrapped: WrappedKey) -> None:
        conn.execute("DELETE FROM data_keys")
        put_meta(conn, "encryption", "aes-256-gcm")
        conn.execute("INSERT INTO data_keys (key_id, kind, params, wrapped, created_at) VALUES (?, ?, ?, ?, ?)",
                     (wrapped.key_id, wrapped.kind, json.dumps(wrapped.params, sort_keys=True), wrapped.wrapped,
                      audit_log.now_utc()))

    def rotate_key(self, new: KeySource) -> dict[str, int]:
        """Re-encrypt every sealed value with a fresh data key wrapped by ``new``, in one transaction.

        Also encrypts a database written before encryption existed. The retired key-encryption key (key file,
        keyring entry) is kept: backups made before the rotation need it. Returns counts of re-sealed values.
        """
        new = new.resolved_for_new()
        with self._db() as conn:
            old = self._dek
            database_id = self._database_id(conn)
            mac_from = self._mac_from if self._mac_from is not None else audit_log.next_id(conn)
            dek, wrapped = crypto.new_data_key(new, database_id, audit_mac_from=mac_from)
            try:
                with atomic(conn):
                    counts = self._reseal(conn, old, dek)
                    self._keyed(conn, dek, wrapped, self._ik or IntegrityKey.new(database_id))
                    self._append(conn, "key", subject_id=None, modality=None, model_id=None,
                                     decision="rotated" if old else "encrypted", operator=self.actor,
                                     details={"key_store": wrapped.kind, **counts})
            except BaseException:
                crypto.forget_kek(wrapped, new)
                self._dek = old
                raise
        log.info("database %s re-encrypted under a new data key (%s)", self._path, wrapped.kind)
        return counts

    def _reseal(self, conn: sqlite3.Connection, old: DataKey | None, new: DataKey) -> dict[str, int]:
        def opened(value: Any, column: str, owner: str) -> bytes:
            if old is None:
                return value.encode("utf-8") if isinstance(value, str) else bytes(value)
            return old.open(value, column=column, owner=owner)

        rows = conn.execute("SELECT sample_id, subject_id, media_type, data, meta FROM samples").fetchall()
        for sample_id, sid, media_type, data, meta in rows:
            raw = opened(data, sample_store.DATA, sid)
            conn.execute("UPDATE samples SET data = ?, meta = ?, digest = ? WHERE sample_id = ?",
                         (new.seal(raw, column=sample_store.DATA, owner=sid),
                          new.seal(opened(meta, sample_store.META, sid), column=sample_store.META, owner=sid),
                          new.digest(media_type.encode("utf-8") + b"\0" + raw), sample_id))
        refs = conn.execute("SELECT r.template_id, r.position, t.subject_id, r.vector FROM template_references r"
                            " JOIN templates t USING (template_id)").fetchall()
        for template_id, position, sid, vector in refs:
            conn.execute("UPDATE template_references SET vector = ? WHERE template_id = ? AND position = ?",
                         (new.seal(opened(vector, _VECTOR, sid), column=_VECTOR, owner=sid), template_id, position))
        names = conn.execute("SELECT subject_id, display_name FROM subjects WHERE display_name IS NOT NULL"
                             ).fetchall()
        for sid, name in names:
            conn.execute("UPDATE subjects SET display_name = ? WHERE subject_id = ?",
                         (new.seal(opened(name, _NAME, sid), column=_NAME, owner=sid), sid))
        return {"samples": len(rows), "references": len(refs), "display_names": len(names)}

    def _seal_vector(self, vector: np.ndarray, subject_id: str) -> bytes:
        blob = embedding_to_blob(vector)
        return blob if self._dek is None else self._dek.seal(blob, column=_VECTOR, owner=subject_id)

    def _open_vector(self, blob: bytes, dim: int, subject_id: str) -> np.ndarray:
        if self._dek is not None:
            blob = self._dek.open(blob, column=_VECTOR, owner=subject_id)
        return blob_to_embedding(blob, dim)

    def _open_vectors(self, blobs: list[bytes], subject_id: str) -> list[bytes]:
        """The float32 bytes of several sealed vectors of one subject (checked by the caller)."""
        return blobs if self._dek is None else self._dek.open_many(blobs, column=_VECTOR, owner=subject_id)

    def _seal_name(self, name: str | None, subject_id: str) -> str | bytes | None:
        if name is None or self._dek is None:
            return name
        return self._dek.seal(name.encode("utf-8"), column=_NAME, owner=subject_id)

    def _open_name(self, stored: str | bytes | None, subject_id: str) -> str | None:
        if stored is None or self._dek is None or isinstance(stored, str):
            return stored if not isinstance(stored, bytes) else stored.decode("utf-8")
        return self._dek.open(stored, column=_NAME, owner=subject_id).decode("utf-8")
