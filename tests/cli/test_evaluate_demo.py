"""`biometrix evaluate` and `biometrix demo` on real data, checked against independent recomputation."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from biometrix.cli import main
from biometrix.core.metrics import eer

from .conftest import CEDAR_ZIP, SHARED_DATA

pytestmark = pytest.mark.skipif(not CEDAR_ZIP.is_file(), reason=f"needs the CEDAR data set at {CEDAR_ZIP}")


def test_evaluate_writes_scores_report_and_det(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "eval"
    rc = main(["evaluate", "--dataset", "cedar", "--data", str(SHARED_DATA), "--subjects", "46-48",
               "--out", str(out)])
    assert rc == 0
    report = json.loads((out / "report.json").read_text())
    s = report["summary"]
    # protocol counts: 3 signers x 19 genuine probes, x 24 skilled forgeries, x 2 other signers
    assert (s["n_genuine"], s["n_skilled"], s["n_random"]) == (57, 72, 6)
    for kind in ("skilled", "random"):
        rows = [line.split() for line in (out / f"scores-{kind}.txt").read_text().splitlines()]
        assert all(len(r) == 4 for r in rows)
        genuine = np.array([float(r[3]) for r in rows if r[0] == r[1]])
        impostor = np.array([float(r[3]) for r in rows if r[0] != r[1]])
        assert genuine.size == 57 and impostor.size == s[f"n_{kind}"]
        # the EER in the report equals one recomputed from the score file
        assert eer(genuine=genuine, impostor=impostor).eer == pytest.approx(s[f"{kind}_eer"], abs=1e-6)
        # a subject-bootstrap interval around it (3 signers resampled)
        lo, hi = report["eer_ci95"][kind]
        assert 0.0 <= lo <= s[f"{kind}_eer"] <= hi <= 1.0
    captured = capsys.readouterr()
    try:
        import matplotlib  # noqa: F401
    except ImportError:  # the eval extra is not installed: the report without its plot, and a note saying so
        assert not (out / "det.png").exists() and "pip install 'biometrix[eval]'" in captured.err
    else:
        png = (out / "det.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    printed = captured.out
    assert "skilled forgeries: EER" in printed and "random  forgeries: EER" in printed
    assert printed.count("% by subject bootstrap") == 2


def test_evaluate_bad_subject_list_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["evaluate", "--dataset", "cedar", "--data", str(SHARED_DATA), "--subjects", "x-y",
               "--out", str(tmp_path / "e")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("biometrix: error: bad subject list")


def test_demo_enrolls_verifies_and_audits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "demo.db"
    rc = main(["demo", "--db", str(db), "--data", str(SHARED_DATA)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "enrolled cedar-46: 5 reference signatures" in out
    assert "verify genuine signature 6" in out and "verify skilled forgery 1" in out
    with sqlite3.connect(db) as conn:
        events = [r[0] for r in conn.execute("SELECT event FROM audit_log ORDER BY event_id")]
        n_refs = conn.execute("SELECT COUNT(*) FROM template_references").fetchone()[0]
    assert events == ["settings", "enroll", "verify", "verify", "identify"]  # the model pinned at first use
    assert n_refs == 5


def test_evaluate_pen_data_reports_the_pen_threshold_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """SVC2004 probes are pen probes: besides the default, the report prints the rates at the pen threshold the
    app judges them by, recomputed here from the score file."""
    from biometrix.core.types import Modality
    from biometrix.runtime.model_card import PREFERRED_MODELS, load_card_for
    from biometrix.runtime.paths import models_dir

    out = tmp_path / "eval-svc"
    rc = main(["evaluate", "--dataset", "svc2004", "--data", str(SHARED_DATA), "--subjects", "31-33",
               "--out", str(out)])
    assert rc == 0
    card = load_card_for(models_dir(), model_id=PREFERRED_MODELS[Modality.SIGNATURE])
    pen = card.capture_threshold("pen")
    printed = capsys.readouterr().out
    if pen.value == card.default_threshold().value:
        assert "at the pen threshold" not in printed
        return
    (line,) = [x for x in printed.splitlines() if "at the pen threshold" in x]
    rows = [r.split() for r in (out / "scores-skilled.txt").read_text().splitlines()]
    genuine = np.array([float(r[3]) for r in rows if r[0] == r[1]])
    skilled = np.array([float(r[3]) for r in rows if r[0] != r[1]])
    fnmr, fmr = np.mean(genuine > pen.value), np.mean(skilled <= pen.value)
    assert f"FNMR {100 * fnmr:.1f} %, skilled FMR {100 * fmr:.1f} %" in line


def test_evaluate_pen_data_reports_the_pen_comparator(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """On SVC2004 the report also gives the pen comparator's EERs, checked against the runtime's own decisions
    (``pen_verify``, the code the app runs) on the same subjects."""
    from biometrix.capture.pen import stroke_arrays
    from biometrix.core.metrics import eer
    from biometrix.core.types import SubjectId
    from biometrix.evaluation.datasets import iter_svc2004_strokes
    from biometrix.runtime.paths import models_dir
    from biometrix.runtime.pen_comparator import PEN_MODEL_ID, load_pen_card, pen_verify

    rc = main(["evaluate", "--dataset", "svc2004", "--data", str(SHARED_DATA), "--subjects", "31-33",
               "--out", str(tmp_path / "eval")])
    assert rc == 0
    printed = capsys.readouterr().out
    assert f"pen comparator {PEN_MODEL_ID}" in printed
    threshold = load_pen_card(models_dir()).threshold  # type: ignore[union-attr]
    pen = {(r.subject, r.index): stroke_arrays(s) for r, s in iter_svc2004_strokes(SHARED_DATA, [31, 32, 33])}
    genuine, skilled, random = [], [], []
    for u in (31, 32, 33):
        refs = [pen[(u, i)] for i in range(1, 6)]
        decide = lambda probe: pen_verify(probe, refs, subject_id=SubjectId(str(u)), threshold=threshold)  # noqa: E731,B023
        genuine += [decide(pen[(u, i)]).distance for i in range(6, 21)]
        skilled += [decide(pen[(u, i)]).distance for i in range(21, 41)]
        random += [decide(pen[(o, 20)]).distance for o in (31, 32, 33) if o != u]
    for kind, impostor in (("skilled", skilled), ("random", random)):
        want = eer(genuine=np.array(genuine), impostor=np.array(impostor)).eer
        (line,) = [x for x in printed.split("pen comparator")[1].splitlines() if f"{kind:7s} forgeries" in x]
        assert f"EER {100 * want:.2f} %" in line, line
    assert f"at its threshold {threshold.value:.3f}" in printed
