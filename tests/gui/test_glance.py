"""Issue 28, screens a teller reads at a glance: the verdict area speaks the teller's language (ACCEPT / REFER /
REJECT, one sentence of why, the match strength as a bar) and keeps the engineer's numbers behind Details."""

from __future__ import annotations

import sqlite3

import pytest

from biometrix.gui.qt import QLabel
from tests.gui.conftest import WAIT_MS, call_service, draw_on_pad
from tests.gui.test_counter import FORGERY, GENUINE, SIGNER, _choose, _verified

#: Words of the engineer's tool that the verdict area must not show until Details is opened.
ENGINEER_WORDS = ("FMR", "model", "distance", "threshold", "band", "±", "dtw", "cosine")


def _visible_text(panel) -> str:
    return " ".join(w.text() for w in panel.findChildren(QLabel) if w.isVisible())


def _last_verify_row(db: str) -> tuple[str, float, float]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT decision, distance, threshold FROM audit_log WHERE event = 'verify' "
                            "ORDER BY event_id DESC LIMIT 1").fetchone()


@pytest.mark.parametrize(("sample", "band", "banner", "why"), [
    (GENUINE, 0.0, "ACCEPT", "The signature matches Signer Fifteen's enrolled signatures."),
    (FORGERY, 0.9, "REFER", "The signature is close to Signer Fifteen's but not close enough to decide: ask a "
                            "supervisor to check the customer's identity."),
    (FORGERY, 0.0, "REJECT", "The signature does not match Signer Fifteen's enrolled signatures."),
])
def test_the_verdict_reads_at_a_glance(window, qtbot, stylus, svc_strokes, sample: int, band: float, banner: str,
                                       why: str) -> None:
    """Before: "set at FMR 1.00% (model pen-dtw-v1); Refer band ±0.00012" under the label. Now the banner, a
    sentence naming the customer, and the match strength (1 - distance / (2 x threshold), from the audit row) as
    a bar; the numbers only once Details is opened."""
    ctx = window.ctx
    call_service(qtbot, ctx, lambda bx: bx.enroll("svc-15", signatures=[svc_strokes(SIGNER, n) for n in range(1, 6)],
                                                  display_name="Signer Fifteen"))
    call_service(qtbot, ctx, lambda bx: bx.enroll("svc-1", signatures=[svc_strokes(1, n) for n in range(1, 6)]))
    call_service(qtbot, ctx, lambda bx: bx.set_policy(refer_band=band, three_zone=False))
    window.resize(1024, 600)
    page = window.show_page("verify")
    _choose(qtbot, page, "svc-15")
    draw_on_pad(page.input.pad, svc_strokes(SIGNER, sample), stylus)
    _verified(qtbot, page)
    panel = page.result
    decision, distance, threshold = _last_verify_row(ctx.settings.db_path)
    assert panel.label.text() == banner and decision == banner.lower()
    assert panel.why.text() == why
    strength = min(max(1 - distance / (2 * threshold), 0.0), 1.0)
    assert panel.strength.strength == pytest.approx(strength)
    assert panel.strength.text() == f"{round(100 * strength)} %"
    assert (strength > 0.5) == (banner == "ACCEPT")  # the mark half way is the threshold
    shown = _visible_text(panel)
    assert not [w for w in ENGINEER_WORDS if w.lower() in shown.lower()], shown
    assert not panel.details_box.isVisible()

    panel.details_button.click()  # the engineer's numbers, on demand
    qtbot.waitUntil(panel.details_box.isVisible, timeout=WAIT_MS)
    details = panel.details.text()
    assert page.last.decision.model_id in details and "threshold" in details.lower()
    assert ("Refer band ±" in details) == (band > 0)
    assert "d=" in panel.references.item(0).text()
    panel.details_button.click()
    assert not panel.details_box.isVisible() and "d=" not in panel.references.item(0).text()
