"""Enrollment store: subjects, raw samples, templates and the audit log (the only SQL in biometrix)."""

from __future__ import annotations

from pathlib import Path

from biometrix.store.base import (
    AUDIT_EVENTS,
    AuditEntry,
    EnrollmentStore,
    SampleIn,
    StoredSample,
    StoreInfo,
    SubjectInfo,
)
from biometrix.store.migrations import SCHEMA_VERSION
from biometrix.store.sqlite import SqliteStore

__all__ = [
    "AUDIT_EVENTS",
    "SCHEMA_VERSION",
    "AuditEntry",
    "EnrollmentStore",
    "SampleIn",
    "SqliteStore",
    "StoreInfo",
    "StoredSample",
    "SubjectInfo",
    "open_store",
]


def open_store(path: str | Path, *, create: bool = True) -> EnrollmentStore:
    """Open (and with ``create``, make) the enrollment store at ``path``, migrated to SCHEMA_VERSION."""
    return SqliteStore(path, create=create)
