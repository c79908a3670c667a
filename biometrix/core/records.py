"""The records the use cases return besides decisions: enrolled subjects and their kept samples, audit rows and
their check, operator accounts. Plain values (the store makes them, a server sends them, its client rebuilds them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from biometrix.core.types import Modality, SubjectId


@dataclass(frozen=True)
class SubjectInfo:
    """An enrolled subject; ``modalities`` lists those with at least one template ('face', 'signature')."""

    subject_id: SubjectId
    display_name: str | None
    created_at: datetime
    modalities: tuple[str, ...]


@dataclass(frozen=True)
class AuditEntry:
    """One row of the append-only audit log; ``at`` is timezone-aware UTC."""

    event_id: int
    at: datetime
    event: str
    subject_id: SubjectId | None
    modality: Modality | None
    model_id: str | None
    distance: float | None
    threshold: float | None
    decision: str | None
    details: dict[str, Any]

    @property
    def operator(self) -> str | None:
        """The operator who did it (None before access control was set up, or for unattributed rows)."""
        value = self.details.get("operator")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class OperatorInfo:
    """An operator account as listed (never with its password hash)."""

    name: str
    role: str
    disabled: bool
    locked_until: datetime | None
    failed_logins: int
    created_at: datetime


@dataclass(frozen=True)
class AuditProblem:
    """One finding of the audit-chain check: the row it concerns, a kind (``store.base.AUDIT_PROBLEMS``), one
    line."""

    event_id: int
    kind: str
    message: str


@dataclass(frozen=True)
class AuditCheck:
    """The result of re-computing the audit hash chain; ``head`` is the last row's hash and ``head_id`` its
    event_id (record "head_id:head" elsewhere: ``--expect-head``). ``keyed``: the rows' MACs and the protected
    head were checked too (a database with an integrity key)."""

    ok: bool
    n_rows: int
    problems: tuple[AuditProblem, ...]
    head: str
    keyed: bool = False
    head_id: int = 0

    @property
    def anchor(self) -> str:
        """The head as "event_id:hash", the form ``--expect-head`` and the anchor file take."""
        return f"{self.head_id}:{self.head}"


@dataclass(frozen=True)
class StoredSample:
    """A raw sample as kept in the store, so templates can be re-made when the model changes."""

    sample_id: int
    subject_id: SubjectId
    modality: Modality
    media_type: str
    data: bytes
    meta: dict[str, Any]
    created_at: datetime
