"""Administration through ``Biometrix``: the audit log and its anchor, backup and restore (checked), Refer
resolution, erasure."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from biometrix import identifiers
from biometrix.core.errors import (
    AccessDenied,
    InvalidInput,
    NotEnrolled,
    StoreError,
    TamperDetected,
)
from biometrix.core.roles import Action, Role
from biometrix.service.access import _a
from biometrix.service.inputs import _check_subject_id
from biometrix.store import (
    AuditCheck,
    AuditEntry,
    KeySource,
    RestoreReport,
    StoreInfo,
    open_store,
    read_anchor_file,
    restore_database,
)
from biometrix.store.integrity import ANCHOR_KEY
from biometrix.store.location import DbLocation, resolve_db_path
from biometrix.store.postgres import BACKUP_DOCS

log = logging.getLogger("biometrix.service")

class AdminMixin:
    """The audit log, backup, restore, resolution and erasure of ``Biometrix``."""

    def info(self) -> StoreInfo:
        self._require(Action.VERIFY)
        return self._db.info()

    def erase(self, subject_id: str) -> str:
        """Right to erasure: remove the subject's samples, templates and record; returns the audit pseudonym."""
        subject_id = _check_subject_id(subject_id)
        self._require(Action.DELETE_SUBJECT)
        pseudonym = self._db.erase_subject(subject_id)
        self._indexes.refresh(self._db)
        return pseudonym

    def verify_audit(self, *, expect_head: str | None = None,
                     anchor_file: str | os.PathLike[str] | None = None) -> AuditCheck:
        """Re-compute the audit log's hash chain, each row's MAC and the protected head; ``expect_head``
        ("EVENT_ID:HASH" exported earlier) and every head recorded in ``anchor_file`` must be in the chain."""
        self._require(Action.READ_AUDIT)
        anchors = None if anchor_file is None else read_anchor_file(anchor_file)
        return self._db.verify_audit(expect_head=expect_head, anchors=anchors)

    def set_audit_anchor(self, path: str | os.PathLike[str] | None) -> None:
        """An admin names the file every new audit head is appended to (one JSON line each; make it
        append-only, e.g. ``chattr +a``, or have a log shipper collect it), or None to stop. Audited."""
        self._require(Action.MANAGE_KEYS)
        if path is None:
            self._db.set_setting(ANCHOR_KEY, None)
            return
        target = Path(path).expanduser().resolve()
        if target.is_dir() or not target.parent.is_dir():
            raise InvalidInput(f"the audit anchor must be a file in an existing folder, got {path}")
        if self.location.file is not None and target == self.location.file.resolve():
            raise InvalidInput("the audit anchor must be outside the database")
        self._db.set_setting(ANCHOR_KEY, {"file": str(target)})

    def audit_anchor(self) -> str | None:
        """The anchor file in force (None: none)."""
        self._require(Action.READ_AUDIT)
        value = self._db.setting(ANCHOR_KEY)
        return str(value["file"]) if isinstance(value, dict) and value.get("file") else None

    def audit(self, *, subject_id: str | None = None, event: str | None = None,
              limit: int | None = None) -> list[AuditEntry]:
        """Audit rows, oldest first (``limit``: the most recent ones); ``subject_id`` is compared in NFC."""
        self._require(Action.READ_AUDIT)
        if subject_id is not None:
            subject_id = identifiers.normalized(subject_id)
        return self._db.audit(subject_id=subject_id, event=event, limit=limit)

    def backup(self, destination: str | os.PathLike[str]) -> AuditCheck:
        """A checked online backup of the database to the new file ``destination``."""
        self._require(Action.BACKUP)
        check = self._db.backup(Path(destination))
        self._db.record("backup", subject_id=None, modality=None, model_id=None, decision="ok",
                          details={"to": str(Path(destination).resolve()), "audit_rows": check.n_rows,
                                   "audit_head": check.head})
        return check

    def restore(self, source: str | os.PathLike[str], *, expect_head: str | None = None,
                force: bool = False) -> RestoreReport:
        """Replace this database with the backup ``source`` (admin; stop other users first).

        The backup must pass a full integrity check and open with this database's key, and its audit log must
        verify (chain, MACs, protected head; and contain ``expect_head`` when given): otherwise it is refused
        (TamperDetected) unless ``force``, which restores it anyway and says so in its audit row."""
        self._require(Action.MANAGE_MODELS)
        actor = None if self._operator is None else self._operator.name
        self.close()
        return _restore(_restorable(self.location), Path(source), key=self._key, actor=actor,
                        expect_head=expect_head, force=force)

    def resolve(self, event_id: int, *, accept: bool, note: str = "") -> int:
        """A supervisor settles a Refer decision (the audit row ``event_id``) as accepted or rejected.

        The settlement is a new audit row ("resolve") naming the referred row; a row is settled once.
        Returns the new row's id.
        """
        self._require(Action.RESOLVE_REFER)
        if not isinstance(note, str) or len(note) > 500:
            raise InvalidInput("a resolution note is text of at most 500 characters")
        refer = self._db.audit_entry(event_id)
        if refer is None or refer.event != "verify" or refer.decision != "refer":
            raise NotEnrolled(f"audit row {event_id} is not a referred verification")
        if self._db.resolution_of(event_id) is not None:
            raise InvalidInput(f"the referred verification {event_id} is already resolved")
        return self._db.record("resolve", subject_id=refer.subject_id, modality=refer.modality,
                                 model_id=refer.model_id, distance=refer.distance, threshold=refer.threshold,
                                 decision="accept" if accept else "reject",
                                 details={"refers_to": event_id, "note": note})


def _restorable(location: DbLocation) -> Path:
    """The SQLite file a restore replaces; a PostgreSQL database is restored with pg_restore (StoreError)."""
    if location.url is not None:
        raise StoreError(f"{location.shown} is a PostgreSQL database: restore it with pg_restore from a pg_dump "
                         f"backup, not biometrix db restore (see {BACKUP_DOCS})")
    return location.path


def setup_postgres(owner_url: str, *, server_role: str) -> list[int]:
    """As the database's OWNER role: create or migrate the PostgreSQL enrollment schema and grant the server role
    what the server needs (on the audit log only SELECT and INSERT). Returns the migrations run."""
    from biometrix.store.postgres import setup

    return setup(owner_url, server_role=server_role)


def check_audit_unattended(db_path: str | os.PathLike[str] | None, *, key: KeySource | None = None,
                           expect_head: str | None = None,
                           anchor_file: str | os.PathLike[str] | None = None) -> AuditCheck:
    """The audit check of a database that refuses every write (its audit log was altered, so not even a login
    can be recorded): run with the database's key, no login, nothing written. Whoever holds the key and the file
    can read the log anyway; this only spares them the sqlite3 shell."""
    location = resolve_db_path(db_path)
    anchors = None if anchor_file is None else read_anchor_file(anchor_file)
    with open_store(location.target, create=False, key=key) as store:
        return store.verify_audit(expect_head=expect_head, anchors=anchors)


def restore_db(db_path: str | os.PathLike[str] | None, source: str | os.PathLike[str], *, operator: str,
               password: str, key: KeySource | None = None, expect_head: str | None = None,
               force: bool = False) -> RestoreReport:
    """Replace a database that cannot be opened (missing or damaged; located as Biometrix does) with the backup
    ``source``. Nobody can log in to the damaged database, so ``operator`` must be an admin of the backup (its
    password checked against the backup's accounts, the login audited there). Checked as ``Biometrix.restore``."""
    return _restore(_restorable(resolve_db_path(db_path)), Path(source), key=key, actor=operator,
                    expect_head=expect_head, force=force,
                    password=password)


def _restore(target: Path, source: Path, *, key: KeySource | None, actor: str | None, expect_head: str | None,
             force: bool, password: str | None = None) -> RestoreReport:
    """Restore ``source`` over ``target`` once its copy has opened with the key, passed its audit check (or been
    forced) and recorded the restore in its own audit log."""
    def check(copy: Path) -> None:
        with open_store(copy, create=False, key=key) as restored:
            if password is not None:
                who = restored.login(actor or "", password)
                if who.role is not Role.ADMIN:
                    raise AccessDenied(f"operator {who.name!r} is {_a(who.role)}: restoring needs an admin")
            restored.actor = actor
            audit = restored.verify_audit(expect_head=expect_head)
            if not audit.ok and not force:
                first = audit.problems[0].message
                raise TamperDetected(f"the backup {source} fails its audit check ({len(audit.problems)} problem(s); "
                                     f"first: {first}); not restored (an admin may force it: --force)")
            restored.record("restore", subject_id=None, modality=None, model_id=None,
                            decision="forced" if not audit.ok else "ok",
                            details={"from": str(source.resolve()), "audit_ok": audit.ok,
                                     "audit_problems": [p.message for p in audit.problems][:20],
                                     "expected_head": expect_head})

    return restore_database(target, source, check=check)
