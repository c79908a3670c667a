"""SqliteStore: the EnrollmentStore kept in one SQLite file."""

from __future__ import annotations

import hashlib
import logging
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from biometrix.core.errors import (
    AccessDenied,
    AlreadyEnrolled,
    InvalidInput,
    ModelMismatch,
    NotEnrolled,
    StoreError,
)
from biometrix.core.roles import Operator, Role
from biometrix.core.templates import make_template
from biometrix.core.types import Modality, SubjectId, Template
from biometrix.store import audit as audit_log
from biometrix.store import backup as backup_file
from biometrix.store import gallery as gallery_store
from biometrix.store import migrations
from biometrix.store import operators as operator_store
from biometrix.store import samples as sample_store
from biometrix.store.base import (
    AuditCheck,
    AuditEntry,
    EnrollmentPart,
    EnrollmentStore,
    GalleryDelta,
    GalleryRows,
    OperatorInfo,
    SampleIn,
    StoredSample,
    StoreInfo,
    SubjectInfo,
)
from biometrix.store.crypto import DataKey, IntegrityKey, KeySource
from biometrix.store.db import atomic, connect, stored_version
from biometrix.store.integrity import IntegrityMixin
from biometrix.store.keys import KeysMixin

log = logging.getLogger(__name__)



def _name(value: str | None, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{what} must be a non-empty string, got {value!r}")
    return value


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def _modality(value: Modality | str) -> Modality:
    try:
        return Modality(value)
    except ValueError as e:
        known = [m.value for m in Modality]
        raise InvalidInput(f"unknown modality {value!r}; expected one of {known}") from e


class SqliteStore(KeysMixin, IntegrityMixin, EnrollmentStore):
    """An EnrollmentStore in a SQLite file (WAL); safe to share between threads, one call at a time.

    Templates, raw samples and display names are sealed with the database's data key (store/crypto.py).
    ``key`` says where its key-encryption key comes from (default: what the database records, or a key file
    for a new database). A new database is always encrypted; one written before encryption existed stays
    readable and is encrypted by ``rotate_key``. The key is checked before anything is written: a wrong key
    raises WrongKey and leaves the file as it was.

    ``actor`` is the operator named in the audit rows written from now on (None: unattributed).
    """

    def __init__(self, path: str | Path, *, create: bool = True, key: KeySource | None = None) -> None:
        self._path = Path(path)
        self._lock = threading.RLock()
        self._key = key if key is not None else KeySource()
        self._dek: DataKey | None = None
        self._ik: IntegrityKey | None = None
        self._mac_from: int | None = None
        self._anchor_target: dict[str, Any] | None = None
        self._unanchored: tuple[int, str] | None = None
        self.actor: str | None = None
        conn = connect(self._path, create=create, max_version=migrations.SCHEMA_VERSION)
        try:
            before = stored_version(conn)
            if before >= 3:
                self._dek = self._unlock(conn)  # before any write: a wrong key changes nothing
            if before >= migrations.KEYED_MIGRATION:
                self._open_integrity(conn)  # a missing, downgraded or altered key record is refused here
            migrations.apply(conn, keyed=self._keyed_upgrade)
            if self._dek is None:
                self._first_key(conn)  # a new database (this process or another just made it)
            self._anchor_target = self._read_anchor(conn)
        except sqlite3.Error as e:
            conn.close()
            raise StoreError(f"cannot prepare the enrollment database {self._path}: {e}") from e
        except BaseException:
            conn.close()
            raise
        self._conn: sqlite3.Connection | None = conn

    # --- operators -------------------------------------------------------------------------------

    def has_operators(self) -> bool:
        with self._db() as conn:
            self._check_operators(conn)
            return operator_store.count(conn) > 0

    def operators(self) -> list[OperatorInfo]:
        with self._db() as conn:
            self._check_operators(conn)
            return operator_store.listing(conn)

    def operator(self, name: str) -> OperatorInfo | None:
        with self._db() as conn:
            self._check_operators(conn, [name])
            return next((o for o in operator_store.listing(conn) if o.name == name), None)

    def add_operator(self, name: str, role: Role, password: str, *, first: bool = False) -> None:
        password_hash = operator_store.hash_password(password)  # slow (argon2id): outside the write lock
        with self._db() as conn, atomic(conn):
            if first and operator_store.count(conn) > 0:
                raise AccessDenied("this database already has operators: an admin must log in to add one")
            operator_store.add(conn, name, role, password_hash, now=audit_log.now_utc())
            self._seal_operator(conn, operator_store.check_name(name))
            self._mark_access_control(conn)
            self._append(conn, "operator", subject_id=None, modality=None, model_id=None, decision="added",
                             operator=self.actor or (name if first else None),
                             details={"target": operator_store.check_name(name), "role": str(role),
                                      "first_admin": first})

    def update_operator(self, name: str, *, role: Role | None = None, password: str | None = None,
                        disabled: bool | None = None, unlock: bool = False) -> None:
        password_hash = None if password is None else operator_store.hash_password(password)
        with self._db() as conn, atomic(conn):
            self._check_operators(conn, [name])
            operator_store.update(conn, name, now=audit_log.now_utc(), who=role, password_hash=password_hash,
                                  disabled=disabled, unlock=unlock)
            self._seal_operator(conn, name)
            if operator_store.active_admins(conn) == 0:
                raise AccessDenied("that would leave no active admin; make another operator admin first")
            changes: dict[str, Any] = {"target": name}
            if role is not None:
                changes["role"] = str(role)
            if password is not None:
                changes["password"] = "changed"
            if disabled is not None:
                changes["disabled"] = disabled
            if unlock:
                changes["unlocked"] = True
            self._append(conn, "operator", subject_id=None, modality=None, model_id=None, decision="changed",
                             operator=self.actor, details=changes)

    def login(self, name: str, password: str) -> Operator:
        """Check the password (argon2id); failures are counted and audited (store/operators.py: a lock after 5 for
        tellers and supervisors, a growing wait for admins). A name that is no operator's is audited as a keyed
        digest, never as typed: it may be a password typed into the wrong field."""
        now = datetime.now(UTC)
        with self._db() as conn, atomic(conn):
            self._check_operators(conn, [name])
            who, why = operator_store.login(conn, name, password, now=now)
            if who is not None:
                self._seal_operator(conn, name)  # a right password may re-hash it (argon2 parameters changed)
            event = "login" if who is not None else "login_failed"
            details = {} if who else {"name_digest": operator_store.name_digest(name, self._dek)} \
                if why == "unknown" else {"name": name[:64]}
            self._append(conn, event, subject_id=None, modality=None, model_id=None,
                             decision="ok" if who else why, operator=name if who else None, details=details)
        if who is None:
            raise operator_store.refuse()
        return who

    @property
    def path(self) -> Path:
        return self._path

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """The open connection under the store lock; sqlite3 errors become one-line StoreErrors. After a write
        that appended audit rows has committed, the new head goes to the audit anchor (when one is set)."""
        with self._lock:
            if self._conn is None:
                raise StoreError(f"the enrollment store {self._path} is closed")
            try:
                yield self._conn
            except sqlite3.Error as e:
                self._unanchored = None
                raise StoreError(f"enrollment database error ({self._path}): {e}") from e
            except BaseException:
                self._unanchored = None
                raise
            if self._unanchored is not None and not self._conn.in_transaction:
                self._write_anchor(*self._unanchored)

    def enroll(
        self,
        subject_id: str,
        *,
        modality: Modality,
        model_id: str,
        samples: Sequence[SampleIn],
        embeddings: np.ndarray,
        display_name: str | None = None,
        replace: bool = False,
        details: dict[str, Any] | None = None,
    ) -> Template:
        part = EnrollmentPart(modality=modality, model_id=model_id, samples=tuple(samples), embeddings=embeddings,
                              details=details)
        return self.enroll_many(subject_id, [part], display_name=display_name, replace=replace)[0]

    def enroll_many(
        self,
        subject_id: str,
        parts: Sequence[EnrollmentPart],
        *,
        display_name: str | None = None,
        replace: bool = False,
    ) -> list[Template]:
        subject_id, checked, templates = self._checked_enrollment(subject_id, parts)
        now = audit_log.now_utc()
        with self._db() as conn, atomic(conn):
            for (part, _, metas), template in zip(checked, templates, strict=True):
                self._write_part(conn, subject_id, part, template, metas, display_name=display_name,
                                 replace=replace, now=now)
        for t in templates:
            log.info("enrolled %s (%s, %s, %d references)", subject_id, t.modality.value, t.model_id,
                     t.n_references)
        return templates

    def enroll_bulk(self, enrollments: Iterable[tuple[str, Sequence[EnrollmentPart]]]) -> int:
        """Enroll many new subjects in ONE transaction, all or none: a bulk import (the benchmarks build their
        galleries with it), each subject written and audited as ``enroll_many`` writes it. Returns how many."""
        checked = [self._checked_enrollment(subject_id, parts) for subject_id, parts in enrollments]
        now = audit_log.now_utc()
        with self._db() as conn, atomic(conn):
            for subject_id, parts, templates in checked:
                for (part, _, metas), template in zip(parts, templates, strict=True):
                    self._write_part(conn, subject_id, part, template, metas, display_name=None, replace=False,
                                     now=now)
        log.info("enrolled %d subjects in one transaction", len(checked))
        return len(checked)

    def _checked_enrollment(self, subject_id: str, parts: Sequence[EnrollmentPart]
                            ) -> tuple[str, list[tuple[EnrollmentPart, np.ndarray, list[str]]], list[Template]]:
        subject_id = _name(subject_id, "subject_id")
        if not parts:
            raise InvalidInput("an enrollment needs at least one modality")
        checked = [self._check_part(p) for p in parts]
        if len({part.modality for part, _, _ in checked}) != len(checked):
            raise InvalidInput("an enrollment names the same modality twice")
        templates = [make_template(emb, subject_id=subject_id, modality=part.modality, model_id=part.model_id)
                     for part, emb, _ in checked]
        return subject_id, checked, templates

    @staticmethod
    def _check_part(part: EnrollmentPart) -> tuple[EnrollmentPart, np.ndarray, list[str]]:
        if not isinstance(part, EnrollmentPart):
            raise InvalidInput(f"enrollment parts must be EnrollmentPart values, got {type(part).__name__}")
        part = EnrollmentPart(modality=_modality(part.modality), model_id=_name(part.model_id, "model_id"),
                              samples=part.samples, embeddings=part.embeddings, details=part.details)
        emb = np.asarray(part.embeddings)
        if emb.ndim != 2 or emb.shape[0] == 0:
            raise InvalidInput(f"embeddings must be (K, D) with K >= 1, got shape {emb.shape}")
        if len(part.samples) != emb.shape[0]:
            raise InvalidInput(f"{len(part.samples)} samples were given for {emb.shape[0]} embeddings")
        for s in part.samples:
            if not isinstance(s, SampleIn):
                raise InvalidInput(f"samples must be SampleIn values, got {type(s).__name__}")
        return part, emb, [audit_log.to_json(s.meta, "sample meta") for s in part.samples]

    def _write_part(self, conn: sqlite3.Connection, subject_id: str, part: EnrollmentPart, template: Template,
                    metas: list[str], *, display_name: str | None, replace: bool, now: str) -> Template:
        """Write one modality's samples, template and audit row inside the caller's transaction."""
        modality, model_id, samples, dim = part.modality, part.model_id, part.samples, template.dim
        other = conn.execute(
            "SELECT r.dim FROM templates t JOIN template_references r USING (template_id)"
            " WHERE t.modality = ? AND t.model_id = ? AND t.subject_id != ? LIMIT 1",
            (modality.value, model_id, subject_id),
        ).fetchone()
        if other is not None and other[0] != dim:
            raise ModelMismatch(
                f"embeddings of dimension {dim} do not fit the {other[0]}-dimensional "
                f"{modality.value} templates already stored for model {model_id!r}"
            )
        old = conn.execute(
            "SELECT template_id FROM templates WHERE subject_id = ? AND modality = ? AND model_id = ?",
            (subject_id, modality.value, model_id),
        ).fetchone()
        if old is not None and not replace:
            raise AlreadyEnrolled(
                f"subject {subject_id!r} already has a {modality.value} template for model {model_id!r}; "
                "pass replace=True (--replace) to replace it"
            )
        conn.execute(
            "INSERT INTO subjects (subject_id, display_name, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (subject_id) DO UPDATE SET display_name = coalesce(excluded.display_name,"
            " subjects.display_name)",
            (subject_id, self._seal_name(display_name, subject_id), now),
        )
        removed = 0
        if old is not None:
            conn.execute("DELETE FROM templates WHERE template_id = ?", (old[0],))
            removed = sample_store.drop_unused(conn, subject_id, modality)
        sample_ids = [
            sample_store.put(conn, subject_id, modality, s, meta=m, now=now, dek=self._dek)
            for s, m in zip(samples, metas, strict=True)
        ]
        template_id = conn.execute(
            "INSERT INTO templates (subject_id, modality, model_id, created_at) VALUES (?, ?, ?, ?)",
            (subject_id, modality.value, model_id, now),
        ).lastrowid
        for position, (sample_id, ref) in enumerate(zip(sample_ids, template.references, strict=True)):
            conn.execute(
                "INSERT INTO template_references (template_id, position, sample_id, dim, vector)"
                " VALUES (?, ?, ?, ?, ?)",
                (template_id, position, sample_id, dim, self._seal_vector(ref, subject_id)),
            )
        audit = dict(part.details or {})
        audit.update(n_references=template.n_references, dim=dim, replaced=old is not None)
        if removed:
            audit["samples_removed"] = removed
        self._append(conn, "enroll", subject_id=subject_id, modality=modality, model_id=model_id,
                         decision="enrolled", details=audit, operator=self.actor)
        return template

    def template(self, subject_id: str, *, modality: Modality, model_id: str) -> Template:
        modality = _modality(modality)
        with self._db() as conn:
            rows = conn.execute(
                "SELECT r.dim, r.vector FROM templates t JOIN template_references r USING (template_id)"
                " WHERE t.subject_id = ? AND t.modality = ? AND t.model_id = ? ORDER BY r.position",
                (subject_id, modality.value, model_id),
            ).fetchall()
            if not rows:
                known = conn.execute("SELECT 1 FROM subjects WHERE subject_id = ?", (subject_id,)).fetchone()
                if known is None:
                    raise NotEnrolled(f"unknown subject {subject_id!r}: nobody is enrolled under this id")
                raise NotEnrolled(
                    f"subject {subject_id!r} has no {modality.value} template for model {model_id!r}"
                )
        refs = np.stack([self._open_vector(vec, dim, subject_id) for dim, vec in rows])
        return make_template(refs, subject_id=subject_id, modality=modality, model_id=model_id)

    def gallery(self, *, modality: Modality, model_id: str) -> list[Template]:
        modality = _modality(modality)
        with self._db() as conn:
            rows = conn.execute(
                "SELECT t.subject_id, r.dim, r.vector FROM templates t JOIN template_references r"
                " USING (template_id) WHERE t.modality = ? AND t.model_id = ?"
                " ORDER BY t.subject_id, r.position",
                (modality.value, model_id),
            ).fetchall()
        grouped: dict[str, list[np.ndarray]] = {}
        for subject_id, dim, vec in rows:
            grouped.setdefault(subject_id, []).append(self._open_vector(vec, dim, subject_id))
        return [
            make_template(np.stack(refs), subject_id=sid, modality=modality, model_id=model_id)
            for sid, refs in grouped.items()
        ]

    def gallery_version(self) -> int:
        with self._db() as conn:
            return gallery_store.version(conn)

    def read_gallery(self, *, modality: Modality, model_id: str, consume: Callable[[GalleryRows], None],
                     batch: int = 4096) -> int:
        modality = _modality(modality)
        with self._db() as conn:
            return gallery_store.read(conn, modality, model_id, consume=consume, batch=batch,
                                      opener=self._open_vectors)

    def gallery_changes(self, since: int, *, modality: Modality, model_id: str) -> GalleryDelta:
        modality = _modality(modality)
        with self._db() as conn:
            return gallery_store.changes(conn, since, modality, model_id, opener=self._open_vectors)

    def subjects(self) -> list[SubjectInfo]:
        with self._db() as conn:
            rows = conn.execute(
                "SELECT s.subject_id, s.display_name, s.created_at,"
                " (SELECT group_concat(DISTINCT t.modality) FROM templates t"
                "  WHERE t.subject_id = s.subject_id)"
                " FROM subjects s ORDER BY s.subject_id"
            ).fetchall()
        return [
            SubjectInfo(
                subject_id=SubjectId(sid),
                display_name=self._open_name(name, sid),
                created_at=datetime.fromisoformat(created),
                modalities=tuple(sorted(mods.split(","))) if mods else (),
            )
            for sid, name, created, mods in rows
        ]

    def find_subjects(self, query: str) -> list[SubjectInfo]:
        needle = query.strip().casefold()
        return [
            s
            for s in self.subjects()
            if needle in s.subject_id.casefold() or needle in (s.display_name or "").casefold()
        ]

    def samples(self, subject_id: str, *, modality: Modality) -> list[StoredSample]:
        modality = _modality(modality)
        with self._db() as conn:
            return sample_store.read(conn, subject_id, modality, dek=self._dek)

    def template_models(self, *, modality: Modality) -> dict[SubjectId, tuple[str, ...]]:
        modality = _modality(modality)
        with self._db() as conn:
            rows = conn.execute(
                "SELECT subject_id, model_id FROM templates WHERE modality = ?"
                " ORDER BY subject_id, created_at DESC, template_id DESC",
                (modality.value,),
            ).fetchall()
        out: dict[SubjectId, tuple[str, ...]] = {}
        for sid, model_id in rows:
            out[SubjectId(sid)] = (*out.get(SubjectId(sid), ()), model_id)
        return out

    def template_samples(self, subject_id: str, *, modality: Modality, model_id: str) -> list[StoredSample]:
        modality = _modality(modality)
        with self._db() as conn:
            row = conn.execute(
                "SELECT template_id FROM templates WHERE subject_id = ? AND modality = ? AND model_id = ?",
                (subject_id, modality.value, model_id),
            ).fetchone()
            if row is None:
                raise NotEnrolled(f"subject {subject_id!r} has no {modality.value} template for model {model_id!r}")
            return sample_store.read_template(conn, row[0], subject_id, modality, dek=self._dek)

    def record(
        self,
        event: str,
        *,
        subject_id: str | None,
        modality: Modality | None,
        model_id: str | None,
        distance: float | None = None,
        threshold: float | None = None,
        decision: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> int:
        mod = None if modality is None else _modality(modality)
        with self._db() as conn, atomic(conn):
            return self._append(
                conn,
                event,
                subject_id=subject_id,
                modality=mod,
                model_id=model_id,
                distance=distance,
                threshold=threshold,
                decision=decision,
                details=details,
                operator=self.actor,
            )

    def audit(
        self, *, subject_id: str | None = None, event: str | None = None, limit: int | None = None
    ) -> list[AuditEntry]:
        with self._db() as conn:
            return audit_log.read(conn, subject_id=subject_id, event=event, limit=limit)

    def audit_entry(self, event_id: int) -> AuditEntry | None:
        with self._db() as conn:
            return audit_log.read_one(conn, event_id)

    def resolution_of(self, event_id: int) -> int | None:
        with self._db() as conn:
            return audit_log.resolution_of(conn, event_id)

    @staticmethod
    def _remove_subject(conn: sqlite3.Connection, subject_id: str, verb: str) -> tuple[int, int]:
        """Delete the subject (its samples and templates cascade) in the caller's transaction; the counts removed."""
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM samples WHERE subject_id = ?),"
            " (SELECT count(*) FROM templates WHERE subject_id = ?)",
            (subject_id, subject_id),
        ).fetchone()
        if conn.execute("DELETE FROM subjects WHERE subject_id = ?", (subject_id,)).rowcount == 0:
            raise NotEnrolled(f"unknown subject {subject_id!r}: nothing to {verb}")
        return int(counts[0]), int(counts[1])

    def delete_subject(self, subject_id: str) -> None:
        with self._db() as conn, atomic(conn):
            n_samples, n_templates = self._remove_subject(conn, subject_id, "delete")
            details = {"samples_deleted": n_samples, "templates_deleted": n_templates}
            self._append(
                conn,
                "delete",
                subject_id=subject_id,
                modality=None,
                model_id=None,
                decision="deleted",
                details=details,
                operator=self.actor,
            )
        log.info("deleted subject %s", subject_id)

    def erase_subject(self, subject_id: str) -> str:
        # The pseudonym is salted with a random salt that is thrown away: it links to nobody inside the database.
        # The operator records it with the erasure request, outside the database, if a link is needed.
        pseudonym = "erased:" + hashlib.sha256(secrets.token_bytes(16) + subject_id.encode()).hexdigest()[:16]
        with self._db() as conn:
            conn.execute("PRAGMA secure_delete = ON")  # freed pages are zeroed, not left readable in the file
            try:
                with atomic(conn):
                    n_samples, n_templates = self._remove_subject(conn, subject_id, "erase")
                    self._append(conn, "erase", subject_id=pseudonym, modality=None, model_id=None,
                                     decision="erased", operator=self.actor,
                                     details={"samples_erased": n_samples, "templates_erased": n_templates})
            finally:
                conn.execute("PRAGMA secure_delete = OFF")
            # Old copies of the pages may sit in the WAL until a checkpoint overwrites them.
            busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            if busy:
                log.warning("another connection is reading %s: the WAL is checkpointed later", self._path)
        log.info("erased a subject (audited as %s)", pseudonym)
        return pseudonym

    def verify_audit(self, *, expect_head: str | None = None,
                     anchors: Sequence[audit_log.Anchor] | None = None) -> AuditCheck:
        with self._db() as conn:
            mine = [(a.event_id, a.head) for a in anchors or () if a.database_id == self._database_id(conn)]
            conn.execute("BEGIN")  # one snapshot for the whole walk
            try:
                return audit_log.verify(conn, integrity=self._ik, mac_from=self._mac_from, expect_head=expect_head,
                                        anchors=mine)
            finally:
                conn.execute("COMMIT")

    def backup(self, destination: str | Path) -> AuditCheck:
        with self._db() as conn:
            return backup_file.backup(conn, destination, supported=migrations.SCHEMA_VERSION)[1]

    def info(self) -> StoreInfo:
        with self._db() as conn:
            version = migrations.current_version(conn)
            n_subjects, n_samples, n_audit, n_operators = conn.execute(
                "SELECT (SELECT count(*) FROM subjects), (SELECT count(*) FROM samples),"
                " (SELECT count(*) FROM audit_log), (SELECT count(*) FROM operators)"
            ).fetchone()
            wrapped = self._wrapped(conn)
            per_model = conn.execute(
                "SELECT modality, model_id, count(*) FROM templates GROUP BY modality, model_id ORDER BY 1, 2"
            ).fetchall()
        return StoreInfo(
            location=str(self._path.resolve()),
            schema_version=version,
            n_subjects=n_subjects,
            templates={f"{mod}/{model}": n for mod, model, n in per_model},
            n_samples=n_samples,
            n_audit=n_audit,
            encryption="none" if wrapped is None else f"aes-256-gcm, key in a {wrapped.kind}",
            n_operators=n_operators,
        )

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
