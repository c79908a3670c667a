"""training.pen_score: the grid, the inner folds, and a selection on real SVC2004 pen recordings whose fitted model
scores through the runtime exactly as the evaluation tables do; training.pen_encoder's input and output shapes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from biometrix.capture.pen import stroke_arrays
from biometrix.core.types import SubjectId
from biometrix.evaluation.datasets import iter_svc2004_strokes
from biometrix.evaluation.pen import PenRecordings, comparator_scores
from biometrix.runtime.pen_comparator import PEN_AGGREGATE, PenComparatorCard, pen_verify
from biometrix.training.pen_encoder import IN_CHANNELS, LENGTH, PenEncoder, embed, encoder_input
from biometrix.training.pen_score import Candidate, build_tables, grid, inner_folds, select

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
needs_svc = pytest.mark.skipif(not (DATA / "svc2004_task2" / "svc2004_task2.zip").is_file(),
                               reason=f"SVC2004 data not found under {DATA}")


def test_the_grid_lists_every_candidate_once_cheapest_first() -> None:
    g = grid()
    assert len(g) == len({c.label() for c in g}) == 4 * 3 * 2 * 2
    assert g[0] == Candidate("joint", 0.1, "sum", ("mean",))
    assert g[0].inputs == ("joint:mean",)
    assert Candidate("pos-vel-acc", None, "n+m", ("min", "max", "mean", "medoid")).inputs[:2] == (
        "position:min", "position:max")
    assert inner_folds(list(range(11, 41))) == [tuple(range(11, 21)), tuple(range(21, 31)), tuple(range(31, 41))]


@needs_svc
def test_a_selection_on_real_users_scores_in_the_runtime_as_in_the_tables() -> None:
    users = [1, 2, 3, 4, 5, 6]
    recordings = PenRecordings.read(DATA, users)
    candidates = [Candidate("pos-vel-acc", 0.1, "sum", ("mean",)), Candidate("joint", 0.1, "n+m", ("mean",))]
    tables = build_tables(recordings, ["acceleration", "joint", "position", "velocity"], [0.1], log=lambda _: None)
    sel = select(recordings, tables, users, candidates)
    assert set(sel.inner) == {c.label() for c in candidates} and sel.candidate in candidates
    assert sum(sel.inner[sel.candidate.label()]) == min(sum(v) for v in sel.inner.values())
    assert sel.model.inputs == sel.candidate.inputs and sum(sel.model.weights) > 0
    own = {ch: tables[(ch, 0.1, sel.candidate.length_norm)] for ch in sel.candidate.channels}
    scores = comparator_scores(recordings, own, sel.model, users)
    pens = {(r.subject, r.index): stroke_arrays(s) for r, s in iter_svc2004_strokes(DATA, [4])}
    want = {c.probe: c.distances[PEN_AGGREGATE] for c in scores.comparisons if c.claimed == "svc2004:4"}
    card = PenComparatorCard.load(Path(__file__).resolve().parents[2] / "assets" / "models" / "pen-dtw-v2"
                                  / "comparator.json")
    for probe in (7, 33):
        d = pen_verify(pens[(4, probe)], [pens[(4, i)] for i in range(1, 6)], subject_id=SubjectId("4"),
                       threshold=card.threshold, model=sel.model)
        assert d.distance == pytest.approx(want[f"svc2004:4:{'g' if probe <= 20 else 'f'}{probe}"], rel=1e-9)


def test_the_encoder_maps_a_signature_to_a_unit_embedding() -> None:
    t = np.arange(0.0, 1500.0, 10.0)
    strokes = [np.stack([np.cos(t / 100), np.sin(t / 170), 0.5 + 0 * t, t], axis=1)]
    x = encoder_input(strokes)
    assert x.shape == (IN_CHANNELS, LENGTH) and x.dtype == np.float32
    assert x[-1, 0] == pytest.approx(np.log(1490 / 3000), rel=1e-6)  # the tempo channel: pen time over 3 s
    emb = embed(PenEncoder(), np.stack([x, x * 0.5]))
    assert emb.shape == (2, 64)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)
