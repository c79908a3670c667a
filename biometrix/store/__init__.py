"""Enrollment store: subjects, raw samples, templates and the audit log (the only SQL in biometrix)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from biometrix.store import backup as _backup
from biometrix.store.base import (
    AUDIT_EVENTS,
    AuditCheck,
    AuditEntry,
    AuditProblem,
    EnrollmentStore,
    OperatorInfo,
    SampleIn,
    StoredSample,
    StoreInfo,
    SubjectInfo,
)
from biometrix.store.crypto import KeySource
from biometrix.store.migrations import SCHEMA_VERSION
from biometrix.store.sqlite import SqliteStore

__all__ = [
    "AUDIT_EVENTS",
    "SCHEMA_VERSION",
    "AuditCheck",
    "AuditEntry",
    "AuditProblem",
    "RestoreReport",
    "EnrollmentStore",
    "KeySource",
    "OperatorInfo",
    "SampleIn",
    "SqliteStore",
    "StoreInfo",
    "StoredSample",
    "SubjectInfo",
    "open_store",
    "restore_database",
]


def open_store(path: str | Path, *, create: bool = True, key: KeySource | None = None) -> EnrollmentStore:
    """Open (and with ``create``, make) the enrollment store at ``path``, migrated to SCHEMA_VERSION, its data
    key opened with ``key`` (default: the key store the database records; see store/crypto.py)."""
    return SqliteStore(path, create=create, key=key)


@dataclass(frozen=True)
class RestoreReport:
    """What ``restore_database`` did: the old file kept as ``kept`` (None when there was none)."""

    path: Path
    kept: Path | None
    schema_version: int
    audit: AuditCheck


def restore_database(path: str | Path, source: str | Path) -> RestoreReport:
    """Replace the database at ``path`` with the checked backup ``source`` atomically (see store/backup.py)."""
    kept, version, check = _backup.restore(path, source, supported=SCHEMA_VERSION)
    return RestoreReport(path=Path(path), kept=kept, schema_version=version, audit=check)
