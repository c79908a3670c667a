"""The pen comparator end to end: its card, its decision against the evaluation protocol's, and where the service
uses it (a pen probe against pen references) and where it does not. Real SVC2004 pen recordings, the shipped
image model and the shipped pen card."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from biometrix import Biometrix
from biometrix.capture.pen import Stroke, rasterize, stroke_arrays
from biometrix.core.errors import InvalidInput, ModelIntegrityError, PenDataTooLarge
from biometrix.core.types import SubjectId, Threshold
from biometrix.evaluation.datasets import iter_svc2004_strokes
from biometrix.evaluation.pen import dtw_protocol_scores
from biometrix.preprocess.pen_dynamics import pen_features
from biometrix.runtime.paths import models_dir
from biometrix.runtime.pen_comparator import (
    PEN_CARD_FILE,
    PEN_MODEL_ID,
    PenComparatorCard,
    load_pen_card,
    pen_verify,
)

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
needs_svc = pytest.mark.skipif(not (DATA / "svc2004_task2" / "svc2004_task2.zip").is_file(),
                               reason=f"SVC2004 data not found under {DATA}")
SHIPPED = models_dir() / PEN_MODEL_ID / PEN_CARD_FILE


@pytest.fixture(scope="module")
def recordings() -> dict[tuple[int, int], list[Stroke]]:
    if not (DATA / "svc2004_task2" / "svc2004_task2.zip").is_file():
        pytest.skip(f"SVC2004 data not found under {DATA}")
    return {(r.subject, r.index): strokes for r, strokes in iter_svc2004_strokes(DATA, [1, 2])}


def test_the_shipped_card_loads_with_its_threshold_and_figures() -> None:
    card = load_pen_card(models_dir())
    assert card is not None and card.model_id == PEN_MODEL_ID
    doc = json.loads(SHIPPED.read_text())
    assert card.threshold.value == doc["thresholds"][0]["value"] > 0
    assert card.threshold.model_id == PEN_MODEL_ID and card.threshold.target_fmr == 0.01
    dev, held = card.evaluation["development"], card.evaluation["heldout"]
    # the protocol's counts: 30 development users and 10 held-out users, 5 references each
    assert (dev["n_genuine"], dev["n_skilled"], dev["n_random"]) == (450, 600, 870)
    assert (held["n_genuine"], held["n_skilled"], held["n_random"]) == (150, 200, 90)
    assert held["svc2004_users"] == list(range(31, 41)) and not set(dev["svc2004_users"]) & set(held["svc2004_users"])
    assert card.evaluation["command"] == "python bench/pen_dtw_card.py --write"


def _card_folder(tmp_path: Path, change: dict[str, Any] | None = None, text: str | None = None) -> Path:
    folder = tmp_path / PEN_MODEL_ID
    folder.mkdir(parents=True, exist_ok=True)
    doc = json.loads(SHIPPED.read_text())
    doc.update(change or {})
    (folder / PEN_CARD_FILE).write_text(text if text is not None else json.dumps(doc))
    return folder / PEN_CARD_FILE


@pytest.mark.parametrize(("change", "message"), [
    ({"format": "biometrix-pen-comparator/2"}, "newer"),
    ({"features": ["x", "y"]}, "features"),
    ({"step_ms": 5.0}, "step_ms"),
    ({"aggregate": "min"}, "aggregate"),
    ({"extra": 1}, "unknown keys"),
    ({"thresholds": [{"name": "default", "value": -1.0, "target_fmr": 0.01, "source": ""}]}, "positive"),
    ({"thresholds": [{"name": "default", "value": True, "target_fmr": 0.01, "source": ""}]}, "positive"),
    ({"thresholds": []}, "default"),
    ({"thresholds": [{"name": "default", "value": 1.0, "target_fmr": "1 %", "source": ""}]}, "target_fmr"),
    ({"thresholds": [{"name": "default", "value": 1.0, "target_fmr": 1.5, "source": ""}]}, "target_fmr"),
    ({"evaluation": [1, 2]}, "evaluation"),
    ({"model_id": "pen-dtw-v9"}, "folder"),
])
def test_a_card_that_does_not_fit_this_code_is_refused(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    path = _card_folder(tmp_path, change)
    with pytest.raises(ModelIntegrityError, match=message):
        PenComparatorCard.load(path)


def test_unreadable_and_missing_cards(tmp_path: Path) -> None:
    assert load_pen_card(tmp_path) is None  # not installed: pen signatures go to the image encoder
    path = _card_folder(tmp_path, text="{not json")
    with pytest.raises(ModelIntegrityError, match="cannot read"):
        load_pen_card(tmp_path)
    path.write_text("[" * 100_000 + "]" * 100_000)  # nested too deeply for the JSON reader
    with pytest.raises(ModelIntegrityError, match="cannot read"):
        load_pen_card(tmp_path)
    path.write_text(" " * 1_000_001)
    with pytest.raises(ModelIntegrityError, match="bytes"):
        load_pen_card(tmp_path)
    path.write_text(json.dumps({k: v for k, v in json.loads(SHIPPED.read_text()).items() if k != "evaluation"}))
    with pytest.raises(ModelIntegrityError, match="missing keys"):
        load_pen_card(tmp_path)


@needs_svc
def test_the_decision_equals_the_protocols_score(recordings: dict[tuple[int, int], list[Stroke]]) -> None:
    # Oracle: the evaluation protocol's normalized DTW distance of the same probe against the same 5 references
    # (what set the card's threshold) must be the distance the runtime decides on.
    records = sorted(recordings)
    from biometrix.evaluation.datasets import SignatureRecord

    recs = [SignatureRecord("svc2004", u, s, s <= 20) for u, s in records]
    scores = dtw_protocol_scores(recs, [pen_features(stroke_arrays(recordings[k])) for k in records])
    by_probe = {(c.claimed, c.probe): c for c in scores.comparisons}
    threshold = load_pen_card(models_dir()).threshold  # type: ignore[union-attr]
    refs = [stroke_arrays(recordings[(1, i)]) for i in range(1, 6)]
    for probe, sample_id in (((1, 9), "svc2004:1:g9"), ((1, 25), "svc2004:1:f25"), ((2, 20), "svc2004:2:g20")):
        d = pen_verify(stroke_arrays(recordings[probe]), refs, subject_id=SubjectId("u1"), threshold=threshold)
        want = by_probe[("svc2004:1", sample_id)]
        assert d.distance == pytest.approx(want.distances["normalized"], rel=1e-9)
        assert np.mean(d.reference_distances) == pytest.approx(want.distances["mean"], rel=1e-9)
        assert min(d.reference_distances) == pytest.approx(want.distances["min"], rel=1e-9)
        assert np.mean(d.reference_scores) == pytest.approx(d.distance)
        assert d.accepted == (d.distance <= threshold.value) and d.model_id == PEN_MODEL_ID


@needs_svc
def test_too_few_or_identical_references_are_refused(recordings: dict[tuple[int, int], list[Stroke]]) -> None:
    t = Threshold(value=1.0, model_id=PEN_MODEL_ID, distance="dtw")
    one = stroke_arrays(recordings[(1, 1)])
    with pytest.raises(InvalidInput, match="at least 2"):
        pen_verify(one, [one], subject_id=SubjectId("u1"), threshold=t)
    with pytest.raises(InvalidInput, match="identical"):
        pen_verify(one, [one, one], subject_id=SubjectId("u1"), threshold=t)


@needs_svc
def test_the_service_uses_it_for_pen_against_pen_only(recordings: dict[tuple[int, int], list[Stroke]],
                                                      tmp_path: Path) -> None:
    refs = [recordings[(1, i)] for i in range(1, 6)]
    with Biometrix(tmp_path / "p.db", prefer_gpu=False) as bx:
        image_model = bx.card().model_id
        bx.enroll("pen", signatures=refs)
        bx.enroll("scan", signatures=[rasterize(r) for r in refs])  # the same signatures, as images
        genuine = bx.verify("pen", signature=recordings[(1, 12)])
        forgery = bx.verify("pen", signature=recordings[(1, 30)])
        other = bx.verify("pen", signature=recordings[(2, 20)])
        assert {genuine.model_id, forgery.model_id, other.model_id} == {PEN_MODEL_ID}
        assert genuine.distance < forgery.distance and genuine.distance < other.distance
        assert not other.accepted  # another writer is far beyond the threshold
        # a scanned probe against pen references, and a pen probe against scanned ones: the image encoder
        assert bx.verify("pen", signature=rasterize(recordings[(1, 12)])).model_id == image_model
        assert bx.verify("scan", signature=recordings[(1, 12)]).model_id == image_model
        rows = [r for r in bx.audit() if r.event == "verify"]
    first = rows[0]
    assert (first.model_id, first.distance, first.threshold) == (PEN_MODEL_ID, genuine.distance,
                                                                 genuine.threshold.value)
    assert first.details["aggregate"] == "normalized" and first.details["capture"] == "pen"
    assert first.details["reference_distances"] == pytest.approx(list(genuine.reference_distances))
    assert first.details["reference_scale"] == pytest.approx(genuine.reference_scale)
    assert rows[-1].model_id == image_model
    # pen data without its time (every point stamped 0): its motion cannot be compared, so the image decides;
    untimed = [Stroke(tuple(replace(p, t=0.0) for p in s.points)) for s in recordings[(1, 12)]]
    # nor can a recording whose clock jumps by 90 s (DTW is quadratic in its steps: over MAX_PEN_MS, it is not run);
    # one that jumps by a day is over the limit of any pen recording (MAX_PEN_DURATION_MS) and refused
    first, *rest = recordings[(1, 12)]
    late = replace(first.points[-1], t=first.points[-1].t + 90_000)
    jumped = [Stroke((*first.points[:-1], late)), *rest]
    day = [Stroke((*first.points[:-1], replace(late, t=late.t + 86_400_000))), *rest]
    with Biometrix(tmp_path / "p.db", prefer_gpu=False) as bx:
        assert bx.verify("pen", signature=untimed).model_id == image_model
        assert bx.verify("pen", signature=jumped).model_id == image_model
        with pytest.raises(PenDataTooLarge, match="lasts 86"):
            bx.verify("pen", signature=day)
    # switched off, or with a threshold of its own bound to it
    # a fresh service deciding a pen probe by its motion never loads the image model
    with Biometrix(tmp_path / "p.db", prefer_gpu=False) as bx:
        assert bx.verify("pen", signature=recordings[(1, 12)]).model_id == PEN_MODEL_ID
        assert bx._pipelines == {}
    with Biometrix(tmp_path / "p.db", prefer_gpu=False, pen_comparator=False) as bx:
        assert bx.verify("pen", signature=recordings[(1, 12)]).model_id == image_model
    own = Threshold(value=genuine.distance * 0.9, model_id=PEN_MODEL_ID, distance="dtw", source="by hand")
    with Biometrix(tmp_path / "p.db", prefer_gpu=False, threshold=own) as bx:
        d = bx.verify("pen", signature=recordings[(1, 12)])
        assert d.threshold == own and not d.accepted


@needs_svc
def test_a_tampered_pen_card_is_a_clear_cli_error(recordings: dict[tuple[int, int], list[Stroke]],
                                                   tmp_path: Path) -> None:
    models = tmp_path / "models"
    shutil.copytree(models_dir(), models, ignore=shutil.ignore_patterns("face-*", "signature-v5*", "signature-v6.*"))
    card = models / PEN_MODEL_ID / PEN_CARD_FILE
    doc = json.loads(card.read_text())
    doc["features"] = ["x", "y", "pressure"]
    card.write_text(json.dumps(doc))
    files = []
    with zipfile.ZipFile(DATA / "svc2004_task2" / "svc2004_task2.zip") as zf:
        for i in (1, 2, 3, 4, 5, 12):
            path = tmp_path / f"U1S{i}.TXT"
            path.write_bytes(zf.read(f"Task2/U1S{i}.TXT"))
            files.append(str(path))
    env = {"BIOMETRIX_MODELS_DIR": str(models), "PATH": "/usr/bin:/bin"}
    db = str(tmp_path / "t.db")
    run = lambda *a: subprocess.run([sys.executable, "-m", "biometrix", *a], capture_output=True, text=True,  # noqa: E731
                                    env=env, timeout=120)
    assert run("enroll", "--db", db, "--subject", "u1", "--signature", *files[:5]).returncode == 0
    out = run("verify", "--db", db, "--subject", "u1", "--signature", files[5])
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "features" in lines[0] and PEN_CARD_FILE in lines[0], out.stderr
