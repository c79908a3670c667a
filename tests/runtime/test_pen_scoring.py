"""runtime.pen_scoring: dtaidistance's DTW against our own, the reference statistics on a hand-made reference set,
the score model's distance, and pen_verify against the same arithmetic done by hand with core.dtw."""

from __future__ import annotations

import math

import numpy as np
import pytest

from biometrix.core.dtw import dtw_distance
from biometrix.core.errors import InvalidInput
from biometrix.core.types import SubjectId, Threshold
from biometrix.preprocess.pen_dynamics import local_features
from biometrix.runtime.pen_comparator import PEN_MODEL_ID, pen_verify
from biometrix.runtime.pen_scoring import (
    Channel,
    PenScoreModel,
    dtw_cost,
    dtw_window,
    probe_ratios,
    reference_stats,
)


def test_the_compiled_dtaidistance_is_installed() -> None:
    from dtaidistance import dtw

    assert dtw.try_import_c() and dtw.dtw_cc is not None


@pytest.mark.parametrize("seed", range(4))
def test_dtaidistance_equals_core_dtw_with_the_same_band(seed: int) -> None:
    # Oracle: core.dtw (numpy, tested against the textbook programme in tests/core/test_dtw.py), which divides by
    # n + m; the band's window is the same number for both.
    rng = np.random.default_rng(seed)
    for _ in range(25):
        n, m = (int(v) for v in rng.integers(2, 60, 2))
        a, b = rng.normal(size=(n, 3)), rng.normal(size=(m, 3))
        for band in (None, 0.1, 0.3):
            w = dtw_window(band, n, m)
            want = dtw_distance(a, b, window=w)
            assert dtw_cost(a, b, band=band, length_norm="n+m") == pytest.approx(want, rel=1e-12, abs=1e-12)
            assert dtw_cost(a, b, band=band, length_norm="sum") == pytest.approx(want * (n + m), rel=1e-12)


def test_a_narrow_band_costs_at_least_as_much_and_the_window_covers_the_length_difference() -> None:
    rng = np.random.default_rng(9)
    a, b = np.cumsum(rng.normal(size=(80, 2)), 0), np.cumsum(rng.normal(size=(50, 2)), 0)
    assert dtw_cost(a, b, band=0.05, length_norm="sum") >= dtw_cost(a, b, band=None, length_norm="sum")
    assert math.isfinite(dtw_cost(a, b, band=0.01, length_norm="sum"))  # 80 vs 50 points: still reachable
    assert dtw_window(None, 80, 50) is None and dtw_window(0.1, 80, 50) == 8 and dtw_window(0.001, 5, 3) == 2


def hand_set() -> np.ndarray:
    """Three references: d(0, 1) = 1, d(0, 2) = 2, d(1, 2) = 4."""
    return np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 4.0], [2.0, 4.0, 0.0]])


def test_reference_statistics_of_a_hand_made_set() -> None:
    s = reference_stats(hand_set())
    # per reference, its distances to the others: r0 (1, 2), r1 (1, 4), r2 (2, 4)
    assert s.min == pytest.approx((1 + 1 + 2) / 3)
    assert s.max == pytest.approx((2 + 4 + 4) / 3)
    assert s.mean == pytest.approx((1 + 2 + 1 + 4 + 2 + 4) / 6)
    assert s.medoid_index == 0 and s.medoid == pytest.approx((1 + 2) / 2)  # r0 sums 3, r1 5, r2 6
    r = probe_ratios(np.array([2.0, 3.0, 5.0]), s)
    assert r == pytest.approx({"min": 2 / (4 / 3), "max": 5 / (10 / 3), "mean": (10 / 3) / (7 / 3),
                               "medoid": 2 / 1.5})


def test_identical_or_too_few_references_have_no_statistics() -> None:
    with pytest.raises(InvalidInput, match="identical"):
        reference_stats(np.zeros((3, 3)))
    with pytest.raises(InvalidInput, match="K >= 2"):
        reference_stats(np.zeros((1, 1)))


def model(**change: object) -> PenScoreModel:
    fields: dict[str, object] = {
        "channels": (Channel("velocity", ("vx", "vy")), Channel("pressure", ("pressure",))), "band": 0.2,
        "length_norm": "sum", "inputs": ("velocity:mean", "velocity:min", "pressure:max"),
        "weights": (2.0, 1.0, 1.0), "intercept": -3.0}
    fields.update(change)
    return PenScoreModel(**fields)  # type: ignore[arg-type]


def test_the_distance_is_the_weighted_geometric_mean_of_the_ratios() -> None:
    m = model()
    x = np.log([[2.0, 16.0, 1.0], [1.0, 1.0, 1.0]])
    assert m.distance(x) == pytest.approx([2 ** (2 / 4) * 16 ** (1 / 4) * 1.0, 1.0])
    assert m.channel_exponents() == pytest.approx({"velocity": 0.75, "pressure": 0.25})


@pytest.mark.parametrize(("change", "message"), [
    ({"channels": ()}, "channels"),
    ({"channels": (Channel("v", ("vx",)), Channel("v", ("vy",)))}, "distinct"),
    ({"channels": (Channel("velocity", ("speed",)), Channel("pressure", ("pressure",)))}, "features"),
    ({"band": 0.0}, "band"),
    ({"band": True}, "band"),
    ({"length_norm": "max"}, "length_norm"),
    ({"inputs": ("velocity:median", "velocity:min", "pressure:max")}, "channel:statistic"),
    ({"inputs": ("speed:mean", "velocity:min", "pressure:max")}, "channel:statistic"),
    ({"weights": (1.0, 1.0)}, "one weight per"),
    ({"weights": (1.0, -2.0, 0.5)}, "positive"),
    ({"weights": (1.0, float("nan"), 1.0)}, "finite"),
    ({"step_ms": 0.0}, "step_ms"),
])
def test_a_model_that_cannot_score_is_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        model(**change)


def strokes_of(seed: int, *, wobble: float = 0.0) -> list[np.ndarray]:
    """Two strokes of a loop-and-bar signature, with a seeded wobble (another writer: a larger one)."""
    rng = np.random.default_rng(seed)
    t1 = np.arange(0.0, 700.0, 10.0)
    s1 = np.stack([np.cos(t1 / 90) * 50 + wobble * rng.normal(size=t1.size).cumsum(),
                   np.sin(t1 / 130) * 30 + wobble * rng.normal(size=t1.size).cumsum(),
                   0.5 + 0.2 * np.sin(t1 / 70) + 0.01 * rng.normal(size=t1.size), t1], axis=1)
    t2 = np.arange(0.0, 250.0, 10.0)
    s2 = np.stack([100 + t2 / 2 + wobble * rng.normal(size=t2.size), 10 + 0 * t2, 0.4 + 0 * t2, 900 + t2], axis=1)
    return [s1, s2]


def test_pen_verify_is_the_hand_arithmetic_with_core_dtw() -> None:
    # Oracle: every DTW by core.dtw (times n + m for the sum), the statistics and the distance written out here.
    m = model()
    refs = [strokes_of(i, wobble=0.3) for i in range(4)]
    probe = strokes_of(10, wobble=0.6)
    t = Threshold(value=1.3, model_id=PEN_MODEL_ID, distance="dtw")
    d = pen_verify(probe, refs, subject_id=SubjectId("s"), threshold=t, model=m)
    logs = []
    for c in m.channels:
        f = [local_features(s, c.features) for s in refs]
        x = local_features(probe, c.features)
        dist = lambda a, b: dtw_distance(a, b, window=dtw_window(0.2, len(a), len(b))) * (len(a) + len(b))  # noqa: E731
        rr = [[dist(a, b) for b in f] for a in f]
        per = [dist(r, x) for r in f]
        others = [[rr[i][j] for j in range(4) if j != i] for i in range(4)]
        med = min(range(4), key=lambda i: sum(others[i]))
        logs.append({"mean": math.log(np.mean(per) / np.mean(others)),
                     "min": math.log(min(per) / np.mean([min(o) for o in others])),
                     "max": math.log(max(per) / np.mean([max(o) for o in others])),
                     "medoid": math.log(per[med] / np.mean(others[med]))})
    want = math.exp((2 * logs[0]["mean"] + logs[0]["min"] + logs[1]["max"]) / 4)
    assert d.distance == pytest.approx(want, rel=1e-9)
    assert d.accepted == (want <= 1.3) and d.model_id == PEN_MODEL_ID and len(d.reference_distances) == 4
