"""The enrollment store interface and the frozen values it returns, independent of any database engine."""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from biometrix.core.errors import InvalidInput
from biometrix.core.records import AuditCheck, AuditEntry, AuditProblem, OperatorInfo, StoredSample, SubjectInfo
from biometrix.core.roles import Operator, Role
from biometrix.core.scoped import ContextScoped
from biometrix.core.types import Modality, SubjectId, Template

if TYPE_CHECKING:
    from biometrix.store.crypto import KeySource

AUDIT_EVENTS: tuple[str, ...] = ("enroll", "verify", "identify", "delete", "erase", "resolve", "login",
                                  "login_failed", "logout", "operator", "settings", "key", "backup", "restore")

__all__ = ["AUDIT_EVENTS", "AUDIT_PROBLEMS", "AuditCheck", "AuditEntry", "AuditProblem", "EnrollmentPart",
           "EnrollmentStore", "GalleryDelta", "GalleryRows", "OperatorInfo", "SampleIn", "StoreInfo", "StoredSample",
           "SubjectInfo"]

#: Kinds of problem ``verify_audit`` reports.
AUDIT_PROBLEMS: tuple[str, ...] = ("edited", "deleted", "reordered", "unchained", "head", "anchor")


@dataclass(frozen=True)
class SampleIn:
    """A raw enrollment sample as captured, e.g. PNG bytes + {"source": "file", "filename": "a.png"}."""

    data: bytes
    media_type: str
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.data, bytes | bytearray | memoryview) or len(self.data) == 0:
            raise InvalidInput("a sample needs non-empty bytes as data")
        if not isinstance(self.media_type, str) or not self.media_type.strip():
            raise InvalidInput("a sample needs a media type such as 'image/png'")
        if not isinstance(self.meta, dict):
            raise InvalidInput(f"sample meta must be a dict, got {type(self.meta).__name__}")


@dataclass(frozen=True)
class EnrollmentPart:
    """One modality of an enrollment: its model, raw samples and their embeddings (K, D), one row per sample."""

    modality: Modality
    model_id: str
    samples: tuple[SampleIn, ...]
    embeddings: np.ndarray
    details: dict[str, Any] | None = None


@dataclass(frozen=True)
class GalleryRows:
    """Templates of one modality and model, decrypted for the identification index (memory only, never written).

    ``subject_ids`` and ``template_ids`` (N,) name the templates; ``counts`` (N,) says how many references each
    has; ``vectors`` (sum(counts), D) float32 holds those references as stored, template after template, each
    template's in reference order (``Template.references`` is their L2-normalisation)."""

    subject_ids: tuple[SubjectId, ...]
    template_ids: np.ndarray
    counts: np.ndarray
    vectors: np.ndarray

    def __len__(self) -> int:
        return len(self.subject_ids)


@dataclass(frozen=True)
class GalleryDelta:
    """What changed in one modality and model's templates since change ``since`` (``EnrollmentStore.
    gallery_changes``): every template inserted or deleted since (``touched``, template ids), the templates among
    them that exist now (``rows``), and ``version``, the change counter this is current to. ``complete`` is False
    when changes after ``since`` are no longer in the log (pruned, or the database was restored from an older
    backup): the reader rebuilds from ``read_gallery`` instead."""

    version: int
    touched: tuple[int, ...]
    rows: GalleryRows
    complete: bool = True


@dataclass(frozen=True)
class StoreInfo:
    """What is in a store; ``templates`` counts templates by "modality/model_id"."""

    location: str
    schema_version: int
    n_subjects: int
    templates: dict[str, int]
    n_samples: int
    n_audit: int
    encryption: str = "none"
    n_operators: int = 0


class EnrollmentStore(abc.ABC):
    """Where subjects, their raw samples, templates and the audit log are kept.

    The service layer talks only to this interface. ``SqliteStore`` implements it for a single
    file; a PostgreSQL (or other server) backend can implement it later by subclassing this class
    and honouring the same contract:

    - every write is one atomic transaction (enroll, record and delete_subject each write their
      audit row in the same transaction as the change they record);
    - the audit log is append-only;
    - templates are keyed by (subject_id, modality, model_id) and rebuilt through
      ``core.templates.make_template`` so every backend returns identical Templates;
    - user errors are ``core.errors`` exceptions (InvalidInput, NotEnrolled, AlreadyEnrolled,
      ModelMismatch, StoreError, SchemaTooNew) with one-line messages.

    A store is a context manager; ``close()`` is idempotent.
    """

    @abc.abstractmethod
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
        """embeddings (K, D), one row per sample (K >= 1) -> the stored Template, written atomically.

        Creates the subject if missing, stores the samples, the template and an 'enroll' audit row.
        An existing template for (subject, modality, model_id) raises AlreadyEnrolled unless
        ``replace`` is true, in which case it is replaced in the same transaction.
        """

    @abc.abstractmethod
    def enroll_many(
        self,
        subject_id: str,
        parts: Sequence[EnrollmentPart],
        *,
        display_name: str | None = None,
        replace: bool = False,
    ) -> list[Template]:
        """Enroll several modalities (a face and signatures, say) in ONE transaction: all or nothing.

        Each part is what ``enroll`` takes for one modality; the templates come back in the parts' order.
        """

    @abc.abstractmethod
    def template(self, subject_id: str, *, modality: Modality, model_id: str) -> Template:
        """The subject's template for this modality and model; NotEnrolled when there is none."""

    @abc.abstractmethod
    def gallery(self, *, modality: Modality, model_id: str) -> list[Template]:
        """Every template of this modality and model, sorted by subject_id."""

    @abc.abstractmethod
    def gallery_version(self) -> int:
        """The templates' change counter: it grows with every template inserted or deleted, by any process."""

    @abc.abstractmethod
    def read_gallery(self, *, modality: Modality, model_id: str, consume: Callable[[GalleryRows], None],
                     batch: int = 4096) -> int:
        """Every template of this modality and model, decrypted, passed to ``consume`` ``batch`` templates at a
        time from one consistent snapshot; returns the change counter (``gallery_version``) of that snapshot."""

    @abc.abstractmethod
    def gallery_changes(self, since: int, *, modality: Modality, model_id: str) -> GalleryDelta:
        """The templates of this modality and model inserted or deleted after change ``since``, in one snapshot."""

    @abc.abstractmethod
    def subjects(self) -> list[SubjectInfo]:
        """Every subject, sorted by subject_id."""

    @abc.abstractmethod
    def find_subjects(self, query: str) -> list[SubjectInfo]:
        """Subjects whose id or display name contains ``query`` (case-insensitive), sorted by subject_id."""

    @abc.abstractmethod
    def samples(self, subject_id: str, *, modality: Modality) -> list[StoredSample]:
        """The subject's stored raw samples of this modality, oldest first."""

    @abc.abstractmethod
    def template_models(self, *, modality: Modality) -> dict[SubjectId, tuple[str, ...]]:
        """Every subject with a template of ``modality``: the model_ids of its templates, newest first."""

    @abc.abstractmethod
    def template_samples(self, subject_id: str, *, modality: Modality, model_id: str) -> list[StoredSample]:
        """The raw samples behind one template, in the order of its references (NotEnrolled: no such template)."""

    @abc.abstractmethod
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
        """Append one audit row (event in AUDIT_EVENTS) atomically; returns its event_id."""

    @abc.abstractmethod
    def audit(
        self, *, subject_id: str | None = None, event: str | None = None, limit: int | None = None
    ) -> list[AuditEntry]:
        """Audit rows matching the filters, oldest first; ``limit`` keeps the most recent ones."""

    @abc.abstractmethod
    def audit_entry(self, event_id: int) -> AuditEntry | None:
        """The audit row ``event_id`` (None when there is none)."""

    @abc.abstractmethod
    def resolution_of(self, event_id: int) -> int | None:
        """The id of the 'resolve' row settling the referred verification ``event_id``, or None."""

    @abc.abstractmethod
    def delete_subject(self, subject_id: str) -> None:
        """Remove the subject with its samples and templates and append a 'delete' audit row, atomically."""

    @abc.abstractmethod
    def erase_subject(self, subject_id: str) -> str:
        """Right to erasure: remove the subject, samples and templates (overwriting the freed pages) and append
        an 'erase' audit row naming a pseudonym instead of the subject, atomically; returns the pseudonym.

        Earlier audit rows are not edited (the log is append-only and hash-chained): they keep the id.
        """

    @abc.abstractmethod
    def verify_audit(self, *, expect_head: str | None = None, anchors: Sequence[Any] | None = None) -> AuditCheck:
        """Re-compute the audit hash chain (and each row's MAC and the protected head) and report edited,
        deleted and reordered rows; ``expect_head`` ("EVENT_ID:HASH" or "HASH", exported earlier) and every head of
        ``anchors`` (``store.audit.read_anchor_file``) recorded for this database must be in it."""

    @abc.abstractmethod
    def setting(self, key: str) -> Any | None:
        """A protected setting (model pins, decision policy, audit anchor); TamperDetected when altered."""

    @abc.abstractmethod
    def set_setting(self, key: str, value: Any, *, details: dict[str, Any] | None = None) -> int:
        """Set a protected setting with a "settings" audit row (old and new value) in one transaction."""

    @abc.abstractmethod
    def sign(self, purpose: str, data: bytes) -> str:
        """A MAC of ``data`` under a key only the database's data key opens (session tokens)."""

    @abc.abstractmethod
    def signed(self, purpose: str, data: bytes, tag: str) -> bool:
        """Whether ``tag`` is ``sign(purpose, data)``."""

    @abc.abstractmethod
    def backup(self, destination: str | Path) -> AuditCheck:
        """Write a consistent copy of the whole store to a new file ``destination`` (never overwritten), check
        it (integrity, schema, audit chain) and return the copy's audit check."""

    # --- operators (store/operators.py) and encryption at rest (store/crypto.py) ---

    #: The operator named in the audit rows written from now on; None: unattributed (no operators yet). Inside
    #: ``acting`` it is that thread's (or task's) own, so requests served at once by one store never mix.
    actor: ContextScoped[str | None] = ContextScoped("actor", None)

    @contextmanager
    def acting(self, name: str | None) -> Iterator[None]:
        """Within the block, this thread's (or task's) ``actor`` is ``name`` and setting it changes only this
        context's: what one server process sharing the store between requests uses for each request."""
        with EnrollmentStore.actor.scope(self, name):
            yield

    @abc.abstractmethod
    def has_operators(self) -> bool:
        """Whether any operator account exists (access control starts with the first admin)."""

    @abc.abstractmethod
    def operators(self) -> list[OperatorInfo]:
        """Every operator account, sorted by name."""

    @abc.abstractmethod
    def operator(self, name: str) -> OperatorInfo | None:
        """The account ``name`` (None: there is none); TamperDetected when it was changed outside biometrix."""

    @abc.abstractmethod
    def add_operator(self, name: str, role: Role, password: str, *, first: bool = False) -> None:
        """Create an account (argon2id hash); ``first`` only succeeds while there are none (the first admin)."""

    @abc.abstractmethod
    def update_operator(self, name: str, *, role: Role | None = None, password: str | None = None,
                        disabled: bool | None = None, unlock: bool = False) -> None:
        """Change an account; refused (AccessDenied) when no active admin would remain. Audited."""

    @abc.abstractmethod
    def login(self, name: str, password: str) -> Operator:
        """The operator for a right password; LoginFailed (one message for every refusal) otherwise. Every attempt
        is audited."""

    @abc.abstractmethod
    def rotate_key(self, new: KeySource) -> dict[str, int]:
        """Re-seal every template, sample and display name under a fresh data key wrapped by ``new``, atomically."""

    @abc.abstractmethod
    def info(self) -> StoreInfo:
        """Counts and schema version of the store."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection; calling it again does nothing."""

    def __enter__(self) -> EnrollmentStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
