"""SqlStore: the EnrollmentStore written once in SQL for every engine (SQLite, PostgreSQL); an engine's store
subclasses it and provides its connection (``_connection``), its driver errors and what erasing scrubs."""

from __future__ import annotations

import abc
import hashlib
import logging
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
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
from biometrix.store import gallery as gallery_store
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
from biometrix.store.db import atomic
from biometrix.store.integrity import IntegrityMixin
from biometrix.store.keys import KeysMixin

log = logging.getLogger("biometrix.store.sqlite")


def _name(value: str | None, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{what} must be a non-empty string, got {value!r}")
    return value


def _modality(value: Modality | str) -> Modality:
    try:
        return Modality(value)
    except ValueError as e:
        known = [m.value for m in Modality]
        raise InvalidInput(f"unknown modality {value!r}; expected one of {known}") from e


class SqlStore(KeysMixin, IntegrityMixin, EnrollmentStore):
    """The EnrollmentStore over a DB-API connection that speaks the store's SQL (``?`` placeholders, sqlite3's
    ``execute``/``in_transaction``): SqliteStore hands it a sqlite3 connection, PostgresStore an adapter of a
    pooled psycopg one (store/pgconn.py). Subclasses set the key and integrity state when they open.

    ``actor`` is the operator named in the audit rows written from now on (None: unattributed).
    """

    _key: KeySource
    _dek: DataKey | None
    _ik: IntegrityKey | None
    _mac_from: int | None
    _anchor_target: dict[str, Any] | None
    actor: str | None

    def _init_state(self, key: KeySource | None) -> None:
        self._key = key if key is not None else KeySource()
        self._dek = None
        self._ik = None
        self._mac_from = None
        self._anchor_target = None
        self._local = threading.local()
        self.actor = None

    @property
    def _unanchored(self) -> tuple[int, str] | None:
        """The audit head this thread appended in its open transaction, anchored once it commits."""
        return getattr(self._local, "unanchored", None)

    @_unanchored.setter
    def _unanchored(self, value: tuple[int, str] | None) -> None:
        self._local.unanchored = value

    # --- what an engine provides -------------------------------------------------------------------

    @abc.abstractmethod
    def _connection(self) -> AbstractContextManager[Any]:
        """A connection for one call (held by this thread until the context ends)."""

    @abc.abstractmethod
    def _driver_error(self, error: BaseException) -> StoreError | None:
        """The one-line StoreError a driver error becomes (None: not the driver's error)."""

    def _scrubbing(self, conn: Any) -> AbstractContextManager[Any]:
        """Around an erasure's transaction: what makes the erased rows unreadable in the engine's files."""
        return nullcontext(conn)

    @abc.abstractmethod
    def _where(self) -> str:
        """The database as shown to the user (no password)."""

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

    def _write_part(self, conn: Any, subject_id: str, part: EnrollmentPart, template: Template,
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
                "SELECT s.subject_id, s.display_name, s.created_at, t.modality FROM subjects s"
                " LEFT JOIN (SELECT DISTINCT subject_id, modality FROM templates) t ON t.subject_id = s.subject_id"
                " ORDER BY s.subject_id, t.modality"
            ).fetchall()
        found: dict[str, tuple[Any, str, list[str]]] = {}
        for sid, name, created, modality in rows:
            entry = found.setdefault(sid, (name, created, []))
            if modality is not None:
                entry[2].append(modality)
        return [
            SubjectInfo(
                subject_id=SubjectId(sid),
                display_name=self._open_name(name, sid),
                created_at=datetime.fromisoformat(created),
                modalities=tuple(sorted(mods)),
            )
            for sid, (name, created, mods) in sorted(found.items())
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
    def _remove_subject(conn: Any, subject_id: str, verb: str) -> tuple[int, int]:
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


    @contextmanager
    def _db(self) -> Iterator[Any]:
        """A connection for one call; driver errors become one-line StoreErrors. After a write that appended audit
        rows has committed, the new head goes to the audit anchor (when one is set)."""
        with self._connection() as conn:
            try:
                yield conn
            except BaseException as e:
                self._unanchored = None
                mapped = self._driver_error(e)
                if mapped is not None:
                    raise mapped from e
                raise
            if self._unanchored is not None and not conn.in_transaction:
                self._write_anchor(*self._unanchored)

    def erase_subject(self, subject_id: str) -> str:
        # The pseudonym is salted with a random salt that is thrown away: it links to nobody inside the database.
        # The operator records it with the erasure request, outside the database, if a link is needed.
        pseudonym = "erased:" + hashlib.sha256(secrets.token_bytes(16) + subject_id.encode()).hexdigest()[:16]
        with self._db() as conn, self._scrubbing(conn), atomic(conn):
            n_samples, n_templates = self._remove_subject(conn, subject_id, "erase")
            self._append(conn, "erase", subject_id=pseudonym, modality=None, model_id=None,
                         decision="erased", operator=self.actor,
                         details={"samples_erased": n_samples, "templates_erased": n_templates})
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

    @abc.abstractmethod
    def _schema_version(self, conn: Any) -> int:
        """The database's schema version (its engine's migration numbering)."""

    def info(self) -> StoreInfo:
        with self._db() as conn:
            version = self._schema_version(conn)
            n_subjects, n_samples, n_audit, n_operators = conn.execute(
                "SELECT (SELECT count(*) FROM subjects), (SELECT count(*) FROM samples),"
                " (SELECT count(*) FROM audit_log), (SELECT count(*) FROM operators)"
            ).fetchone()
            wrapped = self._wrapped(conn)
            per_model = conn.execute(
                "SELECT modality, model_id, count(*) FROM templates GROUP BY modality, model_id ORDER BY 1, 2"
            ).fetchall()
        return StoreInfo(
            location=self._where(),
            schema_version=int(version),
            n_subjects=int(n_subjects),
            templates={f"{mod}/{model}": int(n) for mod, model, n in per_model},
            n_samples=int(n_samples),
            n_audit=int(n_audit),
            encryption="none" if wrapped is None else f"aes-256-gcm, key in a {wrapped.kind}",
            n_operators=int(n_operators),
        )
