"""A signature probe is judged by the threshold of its capture: pen strokes (against scanned references; pen
against pen is the pen comparator's) by the card's ``pen`` threshold where it is stricter than the default, a
scanned image by the card's three zones (its ``accept`` and ``reject`` thresholds, set on scanned validation
writers; the card's ``scan`` threshold is looser than the default, so unused). Real SVC2004 pen files and CEDAR
scans, the shipped model and card."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from biometrix import Biometrix
from biometrix.capture.pen import load_strokes
from biometrix.core.types import Modality
from biometrix.runtime.pen_comparator import PEN_MODEL_ID
from biometrix.service import capture_of, load_signature, signature_capture
from tests.cli.conftest import Cedar, Run, Svc


def _threshold(card: dict[str, Any], name: str) -> float:
    (value,) = [t["value"] for t in card["thresholds"] if t["name"] == name]  # type: ignore[index]
    return float(value)


def _source(card: dict[str, Any], name: str) -> str:
    (source,) = [t["source"] for t in card["thresholds"] if t["name"] == name]  # type: ignore[index]
    assert name == "default" or source != _source(card, "default")
    return str(source)


@pytest.fixture(scope="module")
def pen_threshold(model_card: dict[str, Any]) -> float:
    """What the app must use for pen probes: the card's pen threshold if stricter than its default."""
    names = {t["name"] for t in model_card["thresholds"]}  # type: ignore[index]
    if "pen" not in names:
        pytest.fail("the shipped signature card has no pen threshold: run biometrix calibrate --model <its id>")
    return min(_threshold(model_card, "pen"), _threshold(model_card, "default"))


def test_the_shipped_card_tightens_pen_and_leaves_scans_at_the_default(model_card: dict[str, Any],
                                                                      pen_threshold: float) -> None:
    default = _threshold(model_card, "default")
    assert pen_threshold < default  # set at FMR 1 % on SVC2004 validation forgeries alone: stricter
    assert _threshold(model_card, "scan") > default  # looser: not used (capture_threshold keeps the default)
    at = model_card["evaluation"]["heldout"]  # type: ignore[index]
    assert at["svc2004"]["at_capture_threshold"]["in_use"] is True
    assert at["cedar"]["at_capture_threshold"]["in_use"] is False


def test_pen_and_scan_probes_get_their_own_threshold(cli: Callable[..., Run], svc: Svc, cedar: Cedar,
                                                     model_card: dict[str, Any], pen_threshold: float,
                                                     tmp_path: Path) -> None:
    db = tmp_path / "capture.db"
    assert cli("enroll", "--db", db, "--subject", "u1", "--signature",
               *[svc.sample(1, n) for n in range(1, 6)]).rc == 0
    assert cli("enroll", "--db", db, "--subject", "c46", "--signature", *cedar.references(46)).rc == 0
    # a pen probe against pen references is the pen comparator's (tests/test_pen_comparator.py); against
    # scanned references the image encoder judges it, by its card's pen threshold
    both_pen = cli("verify", "--db", db, "--subject", "u1", "--json", "--signature", svc.sample(1, 10))
    assert both_pen.rc in (0, 1), both_pen.err
    assert both_pen.json()["model_id"] == PEN_MODEL_ID
    pen = cli("verify", "--db", db, "--subject", "c46", "--json", "--signature", svc.sample(1, 10))
    assert pen.rc in (0, 1), pen.err
    assert pen.json()["model_id"] == model_card["model_id"]
    assert pen.json()["threshold"] == pen_threshold
    assert pen.json()["accepted"] == (pen.json()["distance"] <= pen_threshold)
    scan = cli("verify", "--db", db, "--subject", "c46", "--json", "--signature", cedar.genuine(46, 9))
    accept, reject = _threshold(model_card, "accept"), _threshold(model_card, "reject")
    assert (scan.json()["threshold"], scan.json()["reject_threshold"]) == (accept, reject), scan.err
    d = scan.json()["distance"]
    zone = "accept" if d <= accept else "reject" if d > reject else "refer"
    assert (scan.json()["decision"], scan.rc) == (zone, {"accept": 0, "reject": 1, "refer": 3}[zone])
    # identify marks candidates against the probe's own threshold, and its footnote prints that threshold
    table = cli("identify", "--db", db, "--top-k", 2, "--signature", svc.sample(1, 11))
    assert table.rc == 0, table.err
    footnote = table.out.strip().splitlines()[-1]
    assert footnote.startswith("* below the threshold ")
    assert float(footnote.split()[4]) == pytest.approx(pen_threshold, rel=1e-3)
    with Biometrix(db) as bx:
        rows = bx.audit()
    _, pen_row, scan_row, identify_row = [r for r in rows if r.event in ("verify", "identify")]
    assert (pen_row.details["capture"], pen_row.threshold) == ("pen", pen_threshold)
    assert pen_row.details["threshold_source"] == _source(model_card, "pen")  # the card's, recorded as it is
    assert (scan_row.details["capture"], scan_row.threshold) == ("scan", accept)
    assert scan_row.details["decision_policy"] == {"policy": "three-zone", "accept": accept, "reject": reject,
                                                   "accept_source": _source(model_card, "accept"),
                                                   "reject_source": _source(model_card, "reject")}
    assert (identify_row.details["capture"], identify_row.threshold) == ("pen", pen_threshold)


def test_a_threshold_chosen_by_the_policy_applies_to_both_captures(svc: Svc, cedar: Cedar, tmp_path: Path) -> None:
    with Biometrix(tmp_path / "o.db") as bx:
        chosen = bx.card(Modality.SIGNATURE).threshold("random_fmr1")
        bx.set_policy(signature_threshold="random_fmr1")
    with Biometrix(tmp_path / "o.db") as bx:
        bx.enroll("u1", signatures=[svc.sample(1, n) for n in range(1, 6)])
        bx.enroll("c46", signatures=cedar.references(46))
        assert bx.verify("c46", signature=svc.sample(1, 12)).threshold == chosen  # a pen probe, image references
        assert bx.verify("c46", signature=cedar.genuine(46, 12)).threshold == chosen
        # bound to the image model, it cannot judge the pen comparator's distances: pen against pen keeps its own
        pen = bx.verify("u1", signature=svc.sample(1, 12))  # by its own card's three zones
        assert (pen.threshold, pen.reject_threshold) == (bx.pen_card().accept_threshold,
                                                         bx.pen_card().reject_threshold.value)
        assert bx.threshold(Modality.SIGNATURE, capture="pen") == chosen


def test_the_capture_known_before_loading_is_the_one_the_loaded_sample_has(svc: Svc, cedar: Cedar,
                                                                         tmp_path: Path) -> None:
    json_file = tmp_path / "strokes.json"
    from biometrix.capture.pen import strokes_to_json

    strokes = load_strokes(svc.sample(2, 3))
    json_file.write_text(strokes_to_json(strokes))
    gray = load_signature(cedar.genuine(47, 2))[0]
    samples: list[Any] = [svc.sample(2, 3), json_file, str(cedar.genuine(47, 2)), gray, strokes]
    want = ["pen", "pen", "scan", "scan", "pen"]
    for sample, capture in zip(samples, want, strict=True):
        assert signature_capture(sample) == capture
        assert capture_of(Modality.SIGNATURE, load_signature(sample)[1]) == capture
    assert capture_of(Modality.FACE, load_signature(np.full((40, 80), 255, np.uint8))[1]) is None
