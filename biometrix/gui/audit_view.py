"""The audit log as a teller reads it: local time, event and decision in words, who and whom (no Qt here)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: The service's event names, in words (an event not listed is shown as its name, spaced).
EVENT_WORDS = {
    "enroll": "Enrollment",
    "verify": "Verification",
    "identify": "Search of all subjects",
    "resolve": "Referral settled",
    "delete": "Enrollment deleted",
    "erase": "Subject erased",
    "login": "Log in",
    "login_failed": "Failed log in",
    "logout": "Log out",
    "operator": "Operator account",
    "settings": "Settings change",
    "key": "Encryption key",
    "backup": "Backup",
    "restore": "Restore",
}
#: The decisions, in words; a resolve row's accept/reject settles a referral.
DECISION_WORDS = {
    "accept": "Accepted",
    "reject": "Rejected",
    "refer": "Referred to a supervisor",
    "match": "Match found",
    "no-match": "No match",
    "enrolled": "Enrolled",
    "deleted": "Deleted",
    "erased": "Erased",
    "ok": "Done",
    "added": "Added",
    "changed": "Changed",
    "encrypted": "Encrypted",
    "rotated": "Key changed",
    "forced": "Forced (audit check failed)",
    "unknown": "Unknown operator",
    "password": "Wrong password",
    "disabled": "Account disabled",
    "locked": "Account locked",
    "locked-now": "Wrong password: account now locked",
    "test-mode-on": "Kiosk test mode started",
    "test-mode-off": "Kiosk test mode ended",
    "test-mode-refused": "Kiosk test mode refused",
}
COLUMNS = ("Time", "Event", "Decision", "Operator", "Subject")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def words(raw: str | None, table: dict[str, str]) -> str:
    if not raw:
        return ""
    return table.get(raw, raw.replace("_", " ").replace("-", " ").capitalize())


def local_time(at: datetime) -> str:
    """A timezone-aware time in this computer's time zone, to the second."""
    return at.astimezone().strftime(TIME_FORMAT)


@dataclass(frozen=True)
class AuditRow:
    """One audit entry as shown in the table; ``details`` is the whole raw entry, for the details pane."""

    time: str
    event: str
    decision: str
    operator: str
    subject: str
    details: str

    @property
    def cells(self) -> tuple[str, str, str, str, str]:
        return self.time, self.event, self.decision, self.operator, self.subject


def audit_row(entry: Any) -> AuditRow:
    event = words(entry.event, EVENT_WORDS)
    if entry.modality is not None:
        event = f"{event} ({entry.modality.value})"
    if isinstance(entry.details, dict) and entry.details.get("test_mode"):
        event = f"{event} — TEST MODE"
    return AuditRow(local_time(entry.at), event, words(entry.decision, DECISION_WORDS), entry.operator or "",
                    entry.subject_id or "", raw_text(entry))


def raw_text(entry: Any) -> str:
    """The entry as stored: every field, the time in UTC, the details as indented JSON."""
    raw = {"event_id": entry.event_id, "at": entry.at.isoformat(timespec="seconds"), "event": entry.event,
           "subject_id": entry.subject_id, "modality": entry.modality.value if entry.modality else None,
           "model_id": entry.model_id, "distance": entry.distance, "threshold": entry.threshold,
           "decision": entry.decision, "details": entry.details}
    return json.dumps(raw, indent=2, ensure_ascii=False, sort_keys=False)
