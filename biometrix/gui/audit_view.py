"""The audit log as a teller reads it: local time, event and decision in words, who and whom (no Qt here)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from biometrix.gui.i18n import QT_TRANSLATE_NOOP, translate

#: The service's event names, in words (an event not listed is shown as its name, spaced).
EVENT_WORDS = {
    "enroll": QT_TRANSLATE_NOOP("audit_view", "Enrollment"),
    "verify": QT_TRANSLATE_NOOP("audit_view", "Verification"),
    "identify": QT_TRANSLATE_NOOP("audit_view", "Search of all subjects"),
    "resolve": QT_TRANSLATE_NOOP("audit_view", "Referral settled"),
    "delete": QT_TRANSLATE_NOOP("audit_view", "Enrollment deleted"),
    "erase": QT_TRANSLATE_NOOP("audit_view", "Subject erased"),
    "login": QT_TRANSLATE_NOOP("audit_view", "Log in"),
    "login_failed": QT_TRANSLATE_NOOP("audit_view", "Failed log in"),
    "logout": QT_TRANSLATE_NOOP("audit_view", "Log out"),
    "operator": QT_TRANSLATE_NOOP("audit_view", "Operator account"),
    "settings": QT_TRANSLATE_NOOP("audit_view", "Settings change"),
    "key": QT_TRANSLATE_NOOP("audit_view", "Encryption key"),
    "backup": QT_TRANSLATE_NOOP("audit_view", "Backup"),
    "restore": QT_TRANSLATE_NOOP("audit_view", "Restore"),
}
#: The decisions, in words; a resolve row's accept/reject settles a referral.
DECISION_WORDS = {
    "accept": QT_TRANSLATE_NOOP("audit_view", "Accepted"),
    "reject": QT_TRANSLATE_NOOP("audit_view", "Rejected"),
    "refer": QT_TRANSLATE_NOOP("audit_view", "Referred to a supervisor"),
    "match": QT_TRANSLATE_NOOP("audit_view", "Match found"),
    "no-match": QT_TRANSLATE_NOOP("audit_view", "No match"),
    "enrolled": QT_TRANSLATE_NOOP("audit_view", "Enrolled"),
    "deleted": QT_TRANSLATE_NOOP("audit_view", "Deleted"),
    "erased": QT_TRANSLATE_NOOP("audit_view", "Erased"),
    "ok": QT_TRANSLATE_NOOP("audit_view", "Done"),
    "added": QT_TRANSLATE_NOOP("audit_view", "Added"),
    "changed": QT_TRANSLATE_NOOP("audit_view", "Changed"),
    "encrypted": QT_TRANSLATE_NOOP("audit_view", "Encrypted"),
    "rotated": QT_TRANSLATE_NOOP("audit_view", "Key changed"),
    "forced": QT_TRANSLATE_NOOP("audit_view", "Forced (audit check failed)"),
    "unknown": QT_TRANSLATE_NOOP("audit_view", "Unknown operator"),
    "password": QT_TRANSLATE_NOOP("audit_view", "Wrong password"),
    "disabled": QT_TRANSLATE_NOOP("audit_view", "Account disabled"),
    "locked": QT_TRANSLATE_NOOP("audit_view", "Account locked"),
    "locked-now": QT_TRANSLATE_NOOP("audit_view", "Wrong password: account now locked"),
    "test-mode-on": QT_TRANSLATE_NOOP("audit_view", "Kiosk test mode started"),
    "test-mode-off": QT_TRANSLATE_NOOP("audit_view", "Kiosk test mode ended"),
    "test-mode-refused": QT_TRANSLATE_NOOP("audit_view", "Kiosk test mode refused"),
}
COLUMNS = (QT_TRANSLATE_NOOP("audit_view", "Time"), QT_TRANSLATE_NOOP("audit_view", "Event"),
           QT_TRANSLATE_NOOP("audit_view", "Decision"), QT_TRANSLATE_NOOP("audit_view", "Operator"),
           QT_TRANSLATE_NOOP("audit_view", "Subject"))
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def words(raw: str | None, table: dict[str, str]) -> str:
    if not raw:
        return ""
    if raw in table:
        return translate("audit_view", table[raw])
    return raw.replace("_", " ").replace("-", " ").capitalize()


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
        event = translate("audit_view", "{event} — TEST MODE").format(event=event)
    return AuditRow(local_time(entry.at), event, words(entry.decision, DECISION_WORDS), entry.operator or "",
                    entry.subject_id or "", raw_text(entry))


def raw_text(entry: Any) -> str:
    """The entry as stored: every field, the time in UTC, the details as indented JSON."""
    raw = {"event_id": entry.event_id, "at": entry.at.isoformat(timespec="seconds"), "event": entry.event,
           "subject_id": entry.subject_id, "modality": entry.modality.value if entry.modality else None,
           "model_id": entry.model_id, "distance": entry.distance, "threshold": entry.threshold,
           "decision": entry.decision, "details": entry.details}
    return json.dumps(raw, indent=2, ensure_ascii=False, sort_keys=False)
