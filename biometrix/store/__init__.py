"""Enrollment store: subjects, raw samples, templates and the audit log (the only SQL in biometrix).

Internal to biometrix: the service (``biometrix.Biometrix``) is the only way in. A store takes any ``actor``
and checks no role; whoever can open the database file and its key can do anything a store can (see
docs/security.md for what protects against that)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from biometrix.store import backup as _backup
from biometrix.store.audit import Anchor, read_anchor_file
from biometrix.store.base import (
    AUDIT_EVENTS,
    AuditCheck,
    AuditEntry,
    AuditProblem,
    EnrollmentStore,
    GalleryDelta,
    GalleryRows,
    OperatorInfo,
    SampleIn,
    StoredSample,
    StoreInfo,
    SubjectInfo,
)
from biometrix.store.crypto import KeySource
from biometrix.store.integrity import ANCHOR_KEY
from biometrix.store.migrations import SCHEMA_VERSION
from biometrix.store.sqlite import SqliteStore

__all__ = [
    "ANCHOR_KEY",
    "AUDIT_EVENTS",
    "Anchor",
    "SCHEMA_VERSION",
    "AuditCheck",
    "AuditEntry",
    "AuditProblem",
    "RestoreReport",
    "EnrollmentStore",
    "GalleryDelta",
    "GalleryRows",
    "KeySource",
    "OperatorInfo",
    "SampleIn",
    "SqliteStore",
    "StoreInfo",
    "StoredSample",
    "SubjectInfo",
    "open_store",
    "read_anchor_file",
    "restore_database",
    "is_postgres_url",
]


def open_store(path: str | Path, *, create: bool = True, key: KeySource | None = None) -> EnrollmentStore:
    """Open (and with ``create``, make) the enrollment store at ``path``, migrated to SCHEMA_VERSION, its data
    key opened with ``key`` (default: the key store the database records; see store/crypto.py).

    A ``postgresql://`` (or ``postgres://``) URL opens a PostgresStore instead (its schema made by
    ``biometrix db setup-postgres``; ``create`` does not apply); anything else is the path of a SQLite file."""
    if is_postgres_url(path):
        from biometrix.store.postgres import PostgresStore

        return PostgresStore(str(path).strip(), key=key)
    return SqliteStore(path, create=create, key=key)


def is_postgres_url(target: object) -> bool:
    """Whether ``target`` names a PostgreSQL database (a ``postgresql://`` or ``postgres://`` URL), not a file."""
    return isinstance(target, str) and target.strip().lower().startswith(("postgresql://", "postgres://"))


@dataclass(frozen=True)
class RestoreReport:
    """What ``restore_database`` did: the old file kept as ``kept`` (None when there was none)."""

    path: Path
    kept: Path | None
    schema_version: int
    audit: AuditCheck


def restore_database(path: str | Path, source: str | Path, *,
                     check: Callable[[Path], None] | None = None) -> RestoreReport:
    """Replace the database at ``path`` with the checked backup ``source`` atomically (see store/backup.py);
    ``check(copy)`` runs on the checked copy before it is moved into place and may refuse it by raising."""
    kept, version, check_result = _backup.restore(path, source, supported=SCHEMA_VERSION, check=check)
    return RestoreReport(path=Path(path), kept=kept, schema_version=version, audit=check_result)
