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
from biometrix.core.errors import InvalidInput, ModelIntegrityError, ModelMismatch, PenDataTooLarge
from biometrix.core.types import SubjectId, Threshold
from biometrix.evaluation.datasets import iter_svc2004_strokes
from biometrix.evaluation.pen import PenRecordings, channel_tables, comparator_scores
from biometrix.runtime.paths import models_dir
from biometrix.runtime.pen_comparator import (
    PEN_AGGREGATE,
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


def test_the_shipped_card_loads_with_its_thresholds_model_and_figures() -> None:
    card = load_pen_card(models_dir())
    assert card is not None and card.model_id == PEN_MODEL_ID
    doc = json.loads(SHIPPED.read_text())
    named = {t["name"]: t for t in doc["thresholds"]}
    assert card.threshold.value == named["default"]["value"] > 0 and card.threshold.target_fmr == 0.01
    assert card.accept_threshold is not None and card.accept_threshold.value == named["accept"]["value"]
    assert card.reject_threshold is not None and card.reject_threshold.value == named["reject"]["value"]
    assert {t.model_id for t in card.thresholds.values()} == {PEN_MODEL_ID}
    assert card.model.weights == tuple(doc["score_model"]["weights"]) and sum(card.model.weights) > 0
    dev, held = card.evaluation["development"], card.evaluation["heldout"]
    # the protocol's counts: 30 development users and 10 held-out users, 5 references each
    assert (dev["n_genuine"], dev["n_skilled"], dev["n_random"]) == (450, 600, 870)
    assert (held["n_genuine"], held["n_skilled"], held["n_random"]) == (150, 200, 90)
    assert held["svc2004_users"] == list(range(31, 41)) and not set(dev["svc2004_users"]) & set(held["svc2004_users"])
    assert card.evaluation["command"] == "OMP_NUM_THREADS=1 python bench/pen_dtw_card.py --write"


def test_a_card_reads_back_as_written(tmp_path: Path) -> None:
    card = PenComparatorCard.load(SHIPPED)
    folder = tmp_path / PEN_MODEL_ID
    folder.mkdir()
    (folder / PEN_CARD_FILE).write_text(json.dumps(card.document(created_at="2027-01-01T00:00:00+00:00")))
    again = load_pen_card(tmp_path)
    assert again == card and again.model == card.model and again.thresholds == card.thresholds


def _card_folder(tmp_path: Path, change: dict[str, Any] | None = None, text: str | None = None) -> Path:
    folder = tmp_path / PEN_MODEL_ID
    folder.mkdir(parents=True, exist_ok=True)
    doc = json.loads(SHIPPED.read_text())
    doc.update(change or {})
    (folder / PEN_CARD_FILE).write_text(text if text is not None else json.dumps(doc))
    return folder / PEN_CARD_FILE


def default(value: object = 1.0, **more: object) -> dict[str, object]:
    return {"name": "default", "value": value, "target_fmr": 0.01, "source": "", **more}


@pytest.mark.parametrize(("change", "message"), [
    ({"format": "biometrix-pen-comparator/1"}, "another version"),
    ({"channels": [{"name": "velocity", "features": ["vx", "speed"]}]}, "features"),
    ({"channels": [{"name": "velocity"}]}, "channels"),
    ({"channels": "velocity"}, "channels"),
    ({"step_ms": -5.0}, "step_ms"),
    ({"band": 2.0}, "band"),
    ({"length_norm": "max"}, "length_norm"),
    ({"aggregate": "normalized"}, "aggregate"),
    ({"distance": "euclidean"}, "distance"),
    ({"score_model": {"kind": "svm", "inputs": [], "weights": [], "intercept": 0}}, "score_model"),
    ({"score_model": {"kind": "logistic", "inputs": ["velocity:mean"], "weights": [1.0, 2.0], "intercept": 0}},
     "one weight per"),
    ({"score_model": {"kind": "logistic", "inputs": ["nowhere:mean"], "weights": [1.0], "intercept": 0}},
     "channel:statistic"),
    ({"score_model": {"kind": "logistic", "inputs": ["velocity:mean"], "weights": [-1.0], "intercept": 0}},
     "positive"),
    ({"score_model": {"kind": "logistic", "inputs": ["velocity:mean"], "weights": ["1"], "intercept": 0}},
     "finite"),
    ({"extra": 1}, "unknown keys"),
    ({"thresholds": [default(-1.0)]}, "positive"),
    ({"thresholds": [default(True)]}, "positive"),
    ({"thresholds": []}, "default"),
    ({"thresholds": [default(), default()]}, "default"),
    ({"thresholds": [default(), {"name": "lenient", "value": 2.0}]}, "at most one"),
    ({"thresholds": [default(), {"name": "accept", "value": 0.0}]}, "accept threshold must be a positive"),
    ({"thresholds": [default(target_fmr="1 %")]}, "target_fmr"),
    ({"thresholds": [default(target_fmr=1.5)]}, "target_fmr"),
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
    # Oracle: the evaluation protocol's distance of the same probe against the same 5 references (the tables and
    # log ratios that set the card's thresholds, built comparison by comparison) must be what the runtime decides on.
    card = load_pen_card(models_dir())
    assert card is not None
    users = [1, 2]
    proto = PenRecordings.read(DATA, users)
    scores = comparator_scores(proto, channel_tables(proto, card.model), card.model, users)
    by_probe = {(c.claimed, c.probe): c.distances[PEN_AGGREGATE] for c in scores.comparisons}
    refs = [stroke_arrays(recordings[(1, i)]) for i in range(1, 6)]
    for probe, sample_id in (((1, 9), "svc2004:1:g9"), ((1, 25), "svc2004:1:f25"), ((2, 20), "svc2004:2:g20")):
        d = pen_verify(stroke_arrays(recordings[probe]), refs, subject_id=SubjectId("u1"), threshold=card.threshold)
        assert d.distance == pytest.approx(by_probe[("svc2004:1", sample_id)], rel=1e-9)
        assert d.accepted == (d.distance <= card.threshold.value) and d.model_id == PEN_MODEL_ID
        assert len(d.reference_distances) == 5 and d.reference_scale > 0
        assert np.mean(d.reference_scores) == pytest.approx(d.distance, rel=1e-12)  # as the verify page shows them


@needs_svc
def test_the_shipped_cards_held_out_decisions_are_as_recorded() -> None:
    # The card records the distance and decision of a few held-out comparisons as bench/pen_dtw_card.py computed
    # them (evaluation tables); the runtime, from the raw SVC2004 files, must decide the same.
    card = load_pen_card(models_dir())
    assert card is not None
    examples = card.evaluation["heldout"]["examples"]
    users = sorted({e["user"] for e in examples})
    pens = {(r.subject, r.index): stroke_arrays(s) for r, s in iter_svc2004_strokes(DATA, users)}
    assert len(examples) == 12 and {e["accepted"] for e in examples} == {True, False}
    for e in examples:
        refs = [pens[(e["user"], i)] for i in range(1, 6)]
        d = pen_verify(pens[(e["user"], e["sample"])], refs, subject_id=SubjectId("h"), threshold=card.threshold)
        assert d.distance == pytest.approx(e["distance"], rel=1e-9), e
        assert d.accepted == e["accepted"], e


@needs_svc
def test_without_its_model_the_threshold_must_be_the_installed_comparators(
        recordings: dict[tuple[int, int], list[Stroke]]) -> None:
    refs = [stroke_arrays(recordings[(1, i)]) for i in range(1, 6)]
    other = Threshold(value=1.0, model_id="pen-dtw-v9", distance="dtw")
    with pytest.raises(ModelMismatch, match="pen-dtw-v9"):
        pen_verify(stroke_arrays(recordings[(1, 9)]), refs, subject_id=SubjectId("u1"), threshold=other)


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
    assert first.details["aggregate"] == PEN_AGGREGATE and first.details["capture"] == "pen"
    assert first.details["reference_distances"] == pytest.approx(list(genuine.reference_distances))
    assert first.details["reference_scale"] == pytest.approx(genuine.reference_scale)
    assert rows[-1].model_id == image_model
    # three zones from the pen card (the default policy): the label follows the card's accept and reject thresholds
    # as a hand-written comparison does, and the audit row names both
    card = PenComparatorCard.load(models_dir() / PEN_MODEL_ID / PEN_CARD_FILE)
    accept, reject = card.accept_threshold.value, card.reject_threshold.value
    for d in (genuine, forgery, other):
        want = "Accept" if d.distance <= min(accept, reject) else "Reject" if d.distance > max(accept, reject) \
            else "Refer"
        assert (d.label, d.threshold.value, d.reject_threshold) == (want, accept, reject)
    assert first.details["decision_policy"] == {"policy": "three-zone", "accept": accept, "reject": reject,
                                                "accept_source": card.accept_threshold.source,
                                                "reject_source": card.reject_threshold.source}
    assert rows[-1].details["decision_policy"] == {"policy": "threshold"}  # the image card names no zones
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
    # a fresh service deciding a pen probe by its motion never loads the image model
    with Biometrix(tmp_path / "p.db", prefer_gpu=False) as bx:
        assert bx.verify("pen", signature=recordings[(1, 12)]).model_id == PEN_MODEL_ID
        assert bx._pipelines == {}
    # switched off by the database's policy (an admin's change, audited), for every later session too
    with Biometrix(tmp_path / "p.db", prefer_gpu=False) as bx:
        bx.set_policy(pen_comparator=False)
    with Biometrix(tmp_path / "p.db", prefer_gpu=False) as bx:
        assert bx.verify("pen", signature=recordings[(1, 12)]).model_id == image_model


@needs_svc
def test_a_tampered_pen_card_is_a_clear_cli_error(recordings: dict[tuple[int, int], list[Stroke]],
                                                   tmp_path: Path) -> None:
    models = tmp_path / "models"
    shutil.copytree(models_dir(), models, ignore=shutil.ignore_patterns("face-*", "signature-v5*", "signature-v6.*"))
    card = models / PEN_MODEL_ID / PEN_CARD_FILE
    doc = json.loads(card.read_text())
    doc["channels"][0]["features"] = ["x", "y", "speed"]
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
