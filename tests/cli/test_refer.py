"""The supervisor band is part of the database's decision policy: the service decides Refer and audits it,
``biometrix verify`` exits 3, and only ``biometrix policy set --refer-band F`` (an admin) changes the band. The band
is the one-threshold policy's: by default a scan is decided by the card's three zones, so the band tests switch
them off (``three_zone=False``), and the last tests show the zones deciding and the band unused. Real model,
held-out CEDAR signatures from ../shared/data."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from biometrix.core.errors import InvalidInput
from biometrix.service import Biometrix
from tests.cli.conftest import Cedar, Run

#: CEDAR signer 46 against its references 1-5 (signature-v6-int8, threshold 0.001492; three zones: accept 0.001763,
#: reject 0.006387): genuine 9 is accepted at distance 0.001039, skilled forgery 2 is rejected at 0.01504, far
#: beyond any band and above the reject threshold.
GENUINE, FORGERY = 9, 2


def _last_verify(db: Path) -> tuple[str, float, float, dict[str, object]]:
    with sqlite3.connect(db) as conn:
        decision, distance, threshold, details = conn.execute(
            "SELECT decision, distance, threshold, details FROM audit_log WHERE event = 'verify' "
            "ORDER BY event_id DESC LIMIT 1").fetchone()
    conn.close()
    return decision, distance, threshold, json.loads(details)


def test_service_refers_within_the_band_and_audits_it(bank_db: Path, cedar: Cedar) -> None:
    with Biometrix(bank_db, create=False) as bx:
        bx.set_policy(three_zone=False)  # one threshold, and the band around it
        plain = bx.verify("s46", signature=cedar.genuine(46, GENUINE))
        thr = plain.threshold.value
        assert plain.accepted and plain.label == "Accept" and not plain.refer and plain.band == 0.0
        assert _last_verify(bank_db)[0] == "accept"
        margin = (thr - plain.distance) / thr  # how far below the threshold, as a fraction of it
        assert 0.0 < margin < 0.9, margin

        inside = margin + 0.05  # the band reaches the distance: referred
        bx.set_policy(refer_band=inside)
        refer = bx.verify("s46", signature=cedar.genuine(46, GENUINE))
        assert refer.distance == pytest.approx(plain.distance)
        assert refer.refer and not refer.accepted and refer.label == "Refer"
        assert refer.band == pytest.approx(inside * thr)
        decision, distance, threshold, details = _last_verify(bank_db)
        assert decision == "refer" and distance == pytest.approx(plain.distance) and threshold == pytest.approx(thr)
        # the audit keeps what puts each reference's distance on the threshold's scale, for the card's aggregate
        assert details["aggregate"] == bx.card().aggregate
        assert details["reference_scale"] == pytest.approx(plain.reference_scale)
        raw = details["reference_distances"]
        assert len(raw) == 5
        expected = {"min": min(raw), "mean": sum(raw) / len(raw),
                    "normalized": sum(raw) / len(raw) / details["reference_scale"]}
        assert distance == pytest.approx(expected[details["aggregate"]], rel=1e-6)
        if details["aggregate"] != "normalized":
            assert details["reference_scale"] == 1.0
        assert details["refer_band"] == pytest.approx(inside) and details["band"] == pytest.approx(inside * thr)

        outside = margin / 2  # a narrower band leaves the distance outside: a plain accept, band still recorded
        bx.set_policy(refer_band=outside)
        accept = bx.verify("s46", signature=cedar.genuine(46, GENUINE))
        assert accept.accepted and not accept.refer and accept.label == "Accept"
        decision, _, _, details = _last_verify(bank_db)
        assert decision == "accept" and details["refer_band"] == pytest.approx(outside)

        bx.set_policy(refer_band=0.5)
        forgery = bx.verify("s46", signature=cedar.forgery(46, FORGERY))
        assert forgery.distance > thr * 1.5  # beyond the band: rejected, not referred
        assert forgery.label == "Reject" and not forgery.accepted and not forgery.refer
        decision, _, _, details = _last_verify(bank_db)
        assert decision == "reject" and details["band"] == pytest.approx(0.5 * thr)

        for bad in (-0.1, 1.0, float("nan"), "0.1", True):
            with pytest.raises(InvalidInput, match="refer band"):
                bx.set_policy(refer_band=bad)
        assert bx.policy().refer_band == 0.5  # a refused change leaves the policy as it was


def test_the_band_is_kept_by_the_database_for_every_later_session(bank_db: Path, cedar: Cedar) -> None:
    with Biometrix(bank_db, create=False) as bx:
        bx.set_policy(three_zone=False)
        plain = bx.verify("s46", signature=cedar.genuine(46, GENUINE))
        margin = (plain.threshold.value - plain.distance) / plain.threshold.value
        bx.set_policy(refer_band=margin + 0.05)
    with Biometrix(bank_db, create=False) as bx:
        assert bx.verify("s46", signature=cedar.genuine(46, GENUINE)).label == "Refer"
        _, row = [r for r in bx.audit(event="settings") if r.details.get("setting") == "policy"]
        assert row.details["changes"] == {"refer_band": [0.0, pytest.approx(margin + 0.05)]}
        bx.set_policy(refer_band=0.0)
        assert bx.verify("s46", signature=cedar.genuine(46, GENUINE)).label == "Accept"
    assert _last_verify(bank_db)[0] == "accept"


def test_cli_refer_band_exits_3(cli: Callable[..., Run], bank_db: Path, cedar: Cedar) -> None:
    probe = cedar.genuine(46, GENUINE)
    assert cli("policy", "set", "--db", bank_db, "--three-zone", "off").rc == 0
    plain = cli("verify", "--db", bank_db, "--subject", "s46", "--json", "--signature", probe).json()
    assert isinstance(plain, dict)
    margin = (plain["threshold"] - plain["distance"]) / plain["threshold"]
    assert cli("policy", "set", "--db", bank_db, "--refer-band", f"{margin + 0.05:.4f}").rc == 0
    run = cli("verify", "--db", bank_db, "--subject", "s46", "--json", "--signature", probe)
    doc = run.json()
    assert run.rc == 3 and isinstance(doc, dict)
    assert doc["decision"] == "refer" and doc["refer"] is True and doc["accepted"] is False
    assert doc["band"] == pytest.approx((margin + 0.05) * doc["threshold"], rel=1e-3)
    assert _last_verify(bank_db)[0] == "refer"
    assert cli("policy", "set", "--db", bank_db, "--refer-band", f"{margin / 2:.4f}").rc == 0
    text = cli("verify", "--db", bank_db, "--subject", "s46", "--signature", probe)
    assert text.rc == 0 and text.out.startswith("Accept ") and " band=±" in text.out
    bad = cli("policy", "set", "--db", bank_db, "--refer-band", "1.5")
    assert bad.rc == 2 and "fraction of the threshold" in bad.err
    gone = cli("verify", "--db", bank_db, "--subject", "s46", "--signature", probe, "--refer-band", "0.9")
    assert gone.rc == 2 and "unrecognized arguments: --refer-band" in gone.err  # a teller cannot pass it


#: Genuine 21 of signer 46 lies between the three zones' thresholds (distance 0.003027): referred by default,
#: rejected by one threshold even with a Refer band of half of it (0.001492 x 1.5 = 0.002238).
BETWEEN = 21


def _card_threshold(card: dict[str, object], name: str) -> float:
    (value,) = [t["value"] for t in card["thresholds"] if t["name"] == name]  # type: ignore[union-attr]
    return float(value)


def test_by_default_a_scan_is_decided_by_the_cards_three_zones_and_the_band_is_unused(
        bank_db: Path, cedar: Cedar, model_card: dict[str, object]) -> None:
    accept, reject = _card_threshold(model_card, "accept"), _card_threshold(model_card, "reject")
    expected = {("genuine", GENUINE): "Accept", ("genuine", BETWEEN): "Refer", ("forgery", FORGERY): "Reject"}
    with Biometrix(bank_db, create=False) as bx:
        bx.set_policy(refer_band=0.5)
        assert bx.policy().three_zone  # the default
        for (kind, n), label in expected.items():
            d = bx.verify("s46", signature=cedar.genuine(46, n) if kind == "genuine" else cedar.forgery(46, n))
            zone = "Accept" if d.distance <= accept else "Reject" if d.distance > reject else "Refer"
            assert (d.label, zone) == (label, label), (kind, n, d.distance)
            assert (d.threshold.value, d.reject_threshold, d.band) == (accept, reject, 0.0)
            decision, _, threshold, details = _last_verify(bank_db)
            assert (decision, threshold) == (label.lower(), accept)
            assert details["decision_policy"]["policy"] == "three-zone"  # type: ignore[index]
            assert (details["decision_policy"]["accept"], details["decision_policy"]["reject"]) == (  # type: ignore[index]
                accept, reject)
        bx.set_policy(three_zone=False)  # one threshold and the band: the same genuine signature is now rejected
        one = bx.verify("s46", signature=cedar.genuine(46, BETWEEN))
        assert one.distance > one.threshold.value * 1.5 and one.label == "Reject" and one.reject_threshold is None
        assert one.threshold.value == _card_threshold(model_card, "default")


def test_policy_show_and_set_say_how_a_scan_is_decided(cli: Callable[..., Run], bank_db: Path,
                                                       model_card: dict[str, object]) -> None:
    accept, reject = _card_threshold(model_card, "accept"), _card_threshold(model_card, "reject")
    shown = cli("policy", "show", "--db", bank_db, "--json")
    assert shown.rc == 0, shown.err
    rules = {r["probe"]: r for r in shown.json()["in_force"]}  # type: ignore[index, union-attr]
    scan = rules["signature scan"]
    assert (scan["policy"], scan["model_id"], scan["accept"], scan["reject"]) == (
        "three-zone", model_card["model_id"], accept, reject)
    assert rules["signature pen"]["policy"] == "threshold"  # the image model's pen threshold: one threshold
    text = cli("policy", "show", "--db", bank_db)
    line = next(ln for ln in text.out.splitlines() if ln.strip().startswith("signature scan:"))
    assert f"Accept at or below {accept:.6g}, Reject above {reject:.6g}, Refer between" in line
    off = cli("policy", "set", "--db", bank_db, "--three-zone", "off", "--json")
    assert off.rc == 0, off.err
    scan = next(r for r in off.json()["in_force"] if r["probe"] == "signature scan")  # type: ignore[index, union-attr]
    assert (scan["policy"], scan["accept"], scan["reject"]) == (
        "threshold", _card_threshold(model_card, "default"), None)


def test_policy_show_says_when_the_cards_in_force_cannot_be_read(cli: Callable[..., Run], bank_db: Path,
                                                                 tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A models folder without the trusted card: the policy is still shown, and why the rules are not."""
    empty = tmp_path / "no-models"
    empty.mkdir()
    monkeypatch.setenv("BIOMETRIX_MODELS_DIR", str(empty))
    shown = cli("policy", "show", "--db", bank_db)
    assert shown.rc == 0, shown.err
    assert "three_zone             True" in shown.out
    assert f"In force: not available (model card {empty}" in shown.out
