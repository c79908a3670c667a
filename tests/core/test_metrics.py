"""core.metrics against a brute-force threshold sweep written with plain Python loops, and sklearn's ROC."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from biometrix.core.errors import InvalidInput
from biometrix.core.metrics import DET_TARGETS, det_curve, det_points, eer, fmr_fnmr, fnmr_at_fmr, threshold_at_fmr

TOL = 1e-12

# --------------------------------------------------------------------------- brute force oracle


def bf_rates(genuine, impostor, t):
    """(FMR, FNMR) as exact fractions: accept when distance <= t."""
    accepted_impostors = 0
    for s in impostor:
        if s <= t:
            accepted_impostors += 1
    rejected_genuines = 0
    for s in genuine:
        if s > t:
            rejected_genuines += 1
    return Fraction(accepted_impostors, len(impostor)), Fraction(rejected_genuines, len(genuine))


def bf_sweep(genuine, impostor):
    """[(threshold, FMR, FNMR)] at -inf (accept nothing) and at every distinct score, ascending."""
    cands = sorted(set(genuine) | set(impostor))
    return [(t, *bf_rates(genuine, impostor, t)) for t in [-math.inf, *cands]]


def bf_eer(genuine, impostor):
    """(EER, k) with exact fractions: k is the first sweep row where FMR >= FNMR; linear interpolation
    between rows k-1 and k of the point where FMR - FNMR = 0."""
    rows = bf_sweep(genuine, impostor)
    k = 0
    while rows[k][1] < rows[k][2]:
        k += 1
    (_, f0, n0), (_, f1, n1) = rows[k - 1], rows[k]
    d0, d1 = f0 - n0, f1 - n1
    alpha = Fraction(0) if d1 == d0 else -d0 / (d1 - d0)
    return f0 + alpha * (f1 - f0), k, rows


def ok_fmr(fmr, target):
    return float(fmr) <= target + 1e-12


# --------------------------------------------------------------------------- strategies

float_scores = st.lists(st.floats(0, 2, allow_nan=False, allow_infinity=False), min_size=1, max_size=25)
# integer-valued scores: many ties inside and across the two sets
int_scores = st.lists(st.integers(0, 6).map(float), min_size=1, max_size=25)
scores = float_scores | int_scores
targets = st.sampled_from([0.0, 0.01, 0.1, 0.2, 0.25, 1 / 3, 0.5, 0.75, 0.9]) | st.floats(0, 0.999)


# --------------------------------------------------------------------------- fmr_fnmr / det_curve


@settings(max_examples=200, deadline=None)
@given(genuine=scores, impostor=scores, t=st.floats(-0.5, 2.5) | st.integers(-1, 7).map(float))
def test_fmr_fnmr_matches_brute_force(genuine, impostor, t):
    fmr, fnmr = fmr_fnmr(genuine=np.array(genuine), impostor=np.array(impostor), threshold=t)
    bf_fmr, bf_fnmr = bf_rates(genuine, impostor, t)
    assert fmr == pytest.approx(float(bf_fmr), abs=TOL)
    assert fnmr == pytest.approx(float(bf_fnmr), abs=TOL)


def test_fmr_fnmr_exactly_at_a_score_accepts_it():
    # distance == threshold is accepted, for genuine and impostor alike
    assert fmr_fnmr(genuine=[0.5, 0.7], impostor=[0.5, 0.9], threshold=0.5) == (0.5, 0.5)
    assert fmr_fnmr(genuine=[1.0, 1.0], impostor=[1.0], threshold=1.0) == (1.0, 0.0)
    assert fmr_fnmr(genuine=[1.0, 1.0], impostor=[1.0], threshold=np.nextafter(1.0, 0)) == (0.0, 1.0)


@settings(max_examples=200, deadline=None)
@given(genuine=scores, impostor=scores)
def test_det_curve_matches_brute_force(genuine, impostor):
    det = det_curve(genuine=np.array(genuine), impostor=np.array(impostor))
    rows = bf_sweep(genuine, impostor)
    assert det.n_genuine == len(genuine) and det.n_impostor == len(impostor)
    assert len(det.thresholds) == len(det.fmr) == len(det.fnmr) == len(rows)
    # first row: a threshold below every score, nothing accepted
    assert det.thresholds[0] < min(genuine + impostor)
    assert det.fmr[0] == 0.0 and det.fnmr[0] == 1.0
    for j, (t, f, n) in enumerate(rows[1:], start=1):
        assert det.thresholds[j] == t
        assert det.fmr[j] == pytest.approx(float(f), abs=TOL)
        assert det.fnmr[j] == pytest.approx(float(n), abs=TOL)
    assert det.fmr[-1] == 1.0 and det.fnmr[-1] == pytest.approx(0.0, abs=TOL)
    assert (np.diff(det.thresholds) > 0).all()
    assert (np.diff(det.fmr) >= 0).all() and (np.diff(det.fnmr) <= 0).all()


# --------------------------------------------------------------------------- eer


@settings(max_examples=300, deadline=None)
@given(genuine=scores, impostor=scores)
@example(genuine=[1.0, 3.0, 5.0], impostor=[2.0, 4.0, 6.0, 8.0])
@example(genuine=[1.0, 1.0], impostor=[1.0, 1.0])
@example(genuine=[0.0, 0.0, 0.0, 1.0, 1.0], impostor=[1.0, 1.0, 1.0, 0.01, 0.001])  # found by CI: rounding
def test_eer_matches_brute_force(genuine, impostor):
    res = eer(genuine=np.array(genuine), impostor=np.array(impostor))
    want, k, rows = bf_eer(genuine, impostor)
    assert res.n_genuine == len(genuine) and res.n_impostor == len(impostor)
    assert res.eer == pytest.approx(float(want), abs=1e-9)
    # bounds from the two neighbouring thresholds of the crossing
    (t0, f0, n0), (t1, f1, n1) = rows[k - 1], rows[k]
    assert float(f0) - 1e-9 <= res.eer <= float(f1) + 1e-9
    assert float(n1) - 1e-9 <= res.eer <= float(n0) + 1e-9
    assert t0 <= res.threshold <= t1
    # EER is no worse than the best operating point's max(FMR, FNMR), no better than any min(FMR, FNMR)
    assert res.eer <= min(float(max(f, n)) for _, f, n in rows) + 1e-9
    assert res.eer >= max(float(min(f, n)) for _, f, n in rows) - 1e-9


def sklearn_eer(genuine, impostor):
    """EER from sklearn's ROC, scoring by -distance (accept d <= t  <=>  -d >= -t)."""
    roc_curve = pytest.importorskip("sklearn.metrics", reason="the oracle is scikit-learn's ROC: pip install "
                                    "'biometrix[dev]'").roc_curve
    y = np.r_[np.ones(len(genuine)), np.zeros(len(impostor))]
    s = -np.r_[np.asarray(genuine, float), np.asarray(impostor, float)]
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    fnr = 1.0 - tpr
    k = int(np.argmax(fpr >= fnr))
    if k == 0:
        return float(fpr[0]), (float(fpr[0]), float(fpr[0]))
    d0, d1 = fpr[k - 1] - fnr[k - 1], fpr[k] - fnr[k]
    a = 0.0 if d1 == d0 else -d0 / (d1 - d0)
    e = fpr[k - 1] + a * (fpr[k] - fpr[k - 1])
    lo = min(fpr[k - 1], fnr[k])
    hi = max(fpr[k], fnr[k - 1])
    return float(e), (float(lo), float(hi))


@settings(max_examples=200, deadline=None)
@given(genuine=scores, impostor=scores)
def test_eer_matches_sklearn_roc(genuine, impostor):
    res = eer(genuine=np.array(genuine), impostor=np.array(impostor))
    want, (lo, hi) = sklearn_eer(genuine, impostor)
    assert lo - 1e-9 <= res.eer <= hi + 1e-9  # inside the bracket of the neighbouring ROC points
    assert res.eer == pytest.approx(want, abs=1e-9)


def test_eer_perfectly_separated_is_zero():
    res = eer(genuine=np.array([0.1, 0.2, 0.25]), impostor=np.array([0.5, 0.6, 0.9]))
    assert res.eer == 0.0
    assert 0.25 <= res.threshold <= 0.5
    fmr, fnmr = fmr_fnmr(genuine=[0.1, 0.2, 0.25], impostor=[0.5, 0.6, 0.9], threshold=res.threshold)
    assert (fmr, fnmr) == (0.0, 0.0)


def test_eer_fully_inverted_is_one():
    res = eer(genuine=np.array([0.8, 0.9]), impostor=np.array([0.1, 0.2]))
    assert res.eer == pytest.approx(1.0)


@pytest.mark.parametrize("values", [[0.3, 0.5, 0.7], [1.0], [0.2, 0.2, 0.4, 0.9, 0.9]])
def test_eer_identical_distributions_is_one_half(values):
    assert eer(genuine=np.array(values), impostor=np.array(values)).eer == pytest.approx(0.5)


def test_eer_hand_computed_interpolation():
    # thresholds  -inf   1    2    3    4    5    6    8
    # FMR           0    0   1/4  1/4  1/2  1/2  3/4   1
    # FNMR          1   2/3  2/3  1/3  1/3   0    0    0
    # crossing between t=3 (diff -1/12) and t=4 (diff +1/6): alpha = 1/3
    # FMR = 1/4 + 1/3 * 1/4 = 1/3 = FNMR; threshold = 3 + 1/3
    res = eer(genuine=np.array([1.0, 3.0, 5.0]), impostor=np.array([2.0, 4.0, 6.0, 8.0]))
    assert res.eer == pytest.approx(1 / 3, abs=1e-12)
    assert res.threshold == pytest.approx(10 / 3, abs=1e-12)


def test_eer_crossing_exactly_at_a_threshold():
    # at t=2: FMR 1/2, FNMR 1/2 -> EER exactly there, no interpolation
    res = eer(genuine=np.array([1.0, 3.0]), impostor=np.array([2.0, 4.0]))
    assert res.eer == pytest.approx(0.5)
    assert res.threshold == pytest.approx(2.0)


# --------------------------------------------------------------------------- threshold_at_fmr / fnmr_at_fmr


@settings(max_examples=300, deadline=None)
@given(impostor=scores, target=targets)
def test_threshold_at_fmr_is_the_largest_allowed(impostor, target):
    t = threshold_at_fmr(impostor=np.array(impostor), target_fmr=target)
    assert math.isfinite(t)
    fmr_t, _ = bf_rates([0.0], impostor, t)
    assert ok_fmr(fmr_t, target), f"FMR {float(fmr_t)} at {t} exceeds target {target}"
    above = [s for s in impostor if s > t]
    assert above, "the threshold accepts every impostor (FMR 1) although target < 1"
    nxt = min(above)
    fmr_next, _ = bf_rates([0.0], impostor, nxt)
    assert not ok_fmr(fmr_next, target), "a larger threshold (the next impostor score) also meets the target"


@pytest.mark.parametrize(
    "impostor, target, expected",
    [
        ([2.0, 4.0, 6.0, 8.0], 0.25, 3.0),
        ([2.0, 4.0, 6.0, 8.0], 0.5, 5.0),
        ([2.0, 4.0, 6.0, 8.0], 0.74, 5.0),
        ([2.0, 4.0, 6.0, 8.0], 0.75, 7.0),
        ([1.0, 1.0, 2.0, 3.0], 0.5, 1.5),
        ([1.0, 1.0, 2.0, 3.0], 0.75, 2.5),
    ],
)
def test_threshold_at_fmr_hand_cases(impostor, target, expected):
    assert threshold_at_fmr(impostor=np.array(impostor), target_fmr=target) == pytest.approx(expected)


@pytest.mark.parametrize(
    "impostor, target", [([2.0, 4.0, 6.0, 8.0], 0.1), ([2.0, 4.0], 0.0), ([1.0, 1.0, 2.0], 0.4)]
)
def test_threshold_at_fmr_below_everything(impostor, target):
    t = threshold_at_fmr(impostor=np.array(impostor), target_fmr=target)
    assert t < min(impostor)
    assert t >= min(impostor) - 1e-9  # just below, not arbitrarily far
    assert fmr_fnmr(genuine=[0.0], impostor=impostor, threshold=t)[0] == 0.0


def test_threshold_at_fmr_adjacent_floats():
    # the midpoint of two adjacent floats must not round up onto the next (rejected) impostor score
    a = 1.0 + 2.0**-52
    b = np.nextafter(a, 2.0)
    t = threshold_at_fmr(impostor=np.array([a, b]), target_fmr=0.5)
    assert fmr_fnmr(genuine=[0.0], impostor=[a, b], threshold=t)[0] == 0.5


def test_threshold_at_fmr_huge_scores_stay_finite():
    t = threshold_at_fmr(impostor=np.array([1e308, 1.7e308]), target_fmr=0.5)
    assert math.isfinite(t) and 1e308 <= t < 1.7e308


@settings(max_examples=300, deadline=None)
@given(genuine=scores, impostor=scores, target=targets)
@example(genuine=[0.55], impostor=[0.4, 0.6], target=0.5)
def test_fnmr_at_fmr_matches_brute_force(genuine, impostor, target):
    t, fnmr = fnmr_at_fmr(genuine=np.array(genuine), impostor=np.array(impostor), target_fmr=target)
    rows = bf_sweep(genuine, impostor)
    best = min(n for _, f, n in rows if ok_fmr(f, target))  # the ROC operating point at FMR <= target
    assert fnmr == pytest.approx(float(best), abs=TOL)
    fmr_t, fnmr_t = bf_rates(genuine, impostor, t)
    assert ok_fmr(fmr_t, target)
    assert fnmr == pytest.approx(float(fnmr_t), abs=TOL)  # the pair is consistent


def test_fnmr_at_fmr_hand_case():
    t, fnmr = fnmr_at_fmr(
        genuine=np.array([1.0, 3.0, 5.0]), impostor=np.array([2.0, 4.0, 6.0, 8.0]), target_fmr=0.25
    )
    assert fnmr == pytest.approx(1 / 3)
    assert 3.0 <= t < 4.0


def test_fnmr_at_fmr_genuine_between_impostor_scores():
    # the genuine 0.55 lies below the next impostor score 0.6: at FMR <= 1/2 it can be accepted
    t, fnmr = fnmr_at_fmr(genuine=np.array([0.55]), impostor=np.array([0.4, 0.6]), target_fmr=0.5)
    assert fnmr == 0.0
    assert 0.55 <= t < 0.6


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "genuine, impostor",
    [([], [0.1]), ([0.1], []), ([np.nan], [0.1]), ([0.1], [0.2, np.inf])],
    ids=["no-genuine", "no-impostor", "nan", "inf"],
)
def test_bad_scores_are_invalid_input(genuine, impostor):
    g, i = np.array(genuine, dtype=float), np.array(impostor, dtype=float)
    with pytest.raises(InvalidInput):
        fmr_fnmr(genuine=g, impostor=i, threshold=0.5)
    with pytest.raises(InvalidInput):
        det_curve(genuine=g, impostor=i)
    with pytest.raises(InvalidInput):
        eer(genuine=g, impostor=i)
    with pytest.raises(InvalidInput):
        fnmr_at_fmr(genuine=g, impostor=i, target_fmr=0.1)


@pytest.mark.parametrize("target", [-0.01, 1.0, 1.5, float("nan")])
def test_bad_target_fmr_is_invalid_input(target):
    with pytest.raises(InvalidInput):
        threshold_at_fmr(impostor=np.array([0.1, 0.2]), target_fmr=target)
    with pytest.raises(InvalidInput):
        threshold_at_fmr(impostor=np.array([]), target_fmr=0.1)


# --- det_points: the downsampled DET curve a model card carries ----------------------------------------------


def _on_curve(full, pts) -> None:
    rows = {(float(t), float(f), float(n)) for t, f, n in zip(full.thresholds, full.fmr, full.fnmr, strict=True)}
    for t, f, n in zip(pts["thresholds"], pts["fmr"], pts["fnmr"], strict=True):
        assert (t, f, n) in rows


@pytest.mark.parametrize(("n_gen", "n_imp", "max_points"), [(30, 40, 200), (2000, 17000, 200), (265, 340, 50),
                                                             (500, 3000, 100)])
def test_det_points_lie_on_the_full_curve_and_are_monotone(n_gen: int, n_imp: int, max_points: int) -> None:
    rng = np.random.default_rng(n_gen)
    g = np.round(rng.normal(0.3, 0.1, n_gen), 4)  # rounding makes ties between and within the classes
    i = np.round(rng.normal(0.7, 0.15, n_imp), 4)
    full = det_curve(genuine=g, impostor=i)
    pts = det_points(genuine=g, impostor=i, max_points=max_points)
    assert pts["n_genuine"] == n_gen and pts["n_impostor"] == n_imp
    assert 2 <= len(pts["fmr"]) <= max_points
    _on_curve(full, pts)
    assert np.all(np.diff(pts["thresholds"]) > 0)
    assert np.all(np.diff(pts["fmr"]) >= 0) and np.all(np.diff(pts["fnmr"]) <= 0)
    # the extremes
    assert (pts["fmr"][0], pts["fnmr"][0]) == (0.0, 1.0) and (pts["fmr"][-1], pts["fnmr"][-1]) == (1.0, 0.0)
    if full.thresholds.size <= max_points:
        assert len(pts["fmr"]) == full.thresholds.size


def test_det_points_keep_the_operating_points_of_the_standard_targets() -> None:
    rng = np.random.default_rng(7)
    g, i = rng.normal(0.3, 0.1, 3000), rng.normal(0.8, 0.15, 17000)
    full = det_curve(genuine=g, impostor=i)
    pts = det_points(genuine=g, impostor=i)
    fmr = np.array(pts["fmr"])
    for target in DET_TARGETS:
        j_full = int(np.flatnonzero(full.fmr <= target + 1e-12)[-1])
        j = int(np.flatnonzero(fmr <= target + 1e-12)[-1])
        assert pts["thresholds"][j] == full.thresholds[j_full]  # the same threshold as on the full curve
        assert pts["thresholds"][j] == fnmr_at_fmr(genuine=g, impostor=i, target_fmr=target)[0]
    # dense in 1e-3..1e-1: many points there
    assert np.count_nonzero((fmr >= 1e-3) & (fmr <= 1e-1)) >= 60


def test_det_points_keep_the_exact_rates_at_the_cards_thresholds() -> None:
    """The Settings page reads a card threshold's rates from the last kept point at or below it: with the
    threshold kept, those are the rates at the threshold itself (fmr_fnmr, the independent oracle)."""
    rng = np.random.default_rng(11)
    g, i = rng.normal(0.3, 0.1, 265), rng.normal(0.8, 0.15, 340)
    values = [threshold_at_fmr(impostor=i, target_fmr=0.01), threshold_at_fmr(impostor=i, target_fmr=0.05), 0.5,
              -1.0, 9.0]  # midpoints between impostor scores, an arbitrary value, below and above every score
    for keep, exact in (((), False), (values, True)):
        pts = det_points(genuine=g, impostor=i, max_points=40, keep_thresholds=keep)
        _on_curve(det_curve(genuine=g, impostor=i), pts)
        thr = np.array(pts["thresholds"])
        hits = []
        for v in values:
            j = max(int(np.searchsorted(thr, v, side="right")) - 1, 0)
            fmr, fnmr = fmr_fnmr(genuine=g, impostor=i, threshold=v)
            hits.append((pts["fmr"][j], pts["fnmr"][j]) == pytest.approx((fmr, fnmr), abs=1e-12))
        assert all(hits) if exact else not all(hits)  # without them, 40 points miss some (so the test can fail)


def test_det_points_refuses_too_few_points() -> None:
    with pytest.raises(InvalidInput):
        det_points(genuine=np.array([0.1, 0.2]), impostor=np.array([0.5, 0.6]), max_points=3)
