"""A kiosk's test mode in the service (issue 28): only an admin's credentials start it, checked as a login; while it
is on every verify and identify row says so; its start, end and refusals are audited."""

from __future__ import annotations

from pathlib import Path

import pytest

from biometrix import Biometrix
from biometrix.core.errors import AccessDenied
from tests.security._bank import PASSWORDS, make_bank, session

ADMIN_PW = PASSWORDS["root"]


@pytest.fixture
def kiosk(tmp_path: Path, cedar):
    """A service logged in as the kiosk's teller (tom), on the small bank with s47 enrolled from real CEDAR scans;
    root is the admin, sue a supervisor."""
    bx = session(make_bank(tmp_path / "bank.db"), "tom")
    bx.enroll("s47", signatures=cedar.references(47))
    yield bx
    bx.close()


def test_a_teller_or_supervisor_cannot_start_it_and_each_try_is_audited(kiosk) -> None:
    """The attack: the kiosk's operator, or a supervisor who knows the PIN, tries to unlock the test mode."""
    for name in ("tom", "sue"):
        with pytest.raises(AccessDenied, match="needs an admin"):
            kiosk.start_test_mode(name, PASSWORDS[name])
    with pytest.raises(AccessDenied):
        kiosk.start_test_mode("root", "not-the-password")
    assert kiosk.test_mode is None and kiosk.operator.name == "tom"  # still the kiosk's teller
    with Biometrix(kiosk.location.path) as auditor:
        auditor.login("root", ADMIN_PW)
        refused = [r.details["asked_by"] for r in auditor.audit(event="settings") if r.decision == "test-mode-refused"]
        failed = [r for r in auditor.audit(event="login_failed")]
    assert refused == ["tom", "sue"] and len(failed) == 1


def test_every_decision_in_test_mode_is_marked_and_none_after_it(kiosk, cedar) -> None:
    probe = cedar.genuine(47, 12)
    kiosk.verify("s47", signature=probe)
    who = kiosk.start_test_mode("root", ADMIN_PW)
    assert who.name == "root" and kiosk.test_mode == "root" and kiosk.operator.name == "tom"
    kiosk.verify("s47", signature=probe)
    kiosk.identify(signature=probe, top_k=1)
    kiosk.end_test_mode("locked")
    kiosk.end_test_mode("again")  # already off: nothing more is audited
    kiosk.verify("s47", signature=probe)
    with Biometrix(kiosk.location.path) as auditor:
        auditor.login("root", ADMIN_PW)
        rows = [r for r in auditor.audit() if r.event in ("verify", "identify")
                or r.decision in ("test-mode-on", "test-mode-off")]
    marks = [(r.event, r.decision if r.event == "settings" else None, r.details.get("test_mode")) for r in rows]
    on = {"unlocked_by": "root"}
    assert marks == [("verify", None, None), ("settings", "test-mode-on", None), ("verify", None, on),
                     ("identify", None, on), ("settings", "test-mode-off", None), ("verify", None, None)]
    assert rows[4].details == {"kiosk_test_mode": "off", "unlocked_by": "root", "why": "locked", "operator": "tom"}
