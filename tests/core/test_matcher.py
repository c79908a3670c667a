"""core.matcher against brute-force numpy / plain Python over subjects."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist

from biometrix.core.errors import InvalidInput, ModelMismatch
from biometrix.core.matcher import AGGREGATES, Matcher
from biometrix.core.templates import make_template
from biometrix.core.types import Modality, Template, Threshold

MODEL = "m1"
DIST_NAMES = ["cosine", "euclidean"]


def tmpl(subject: str, refs: np.ndarray, model_id: str = MODEL) -> Template:
    return make_template(refs, subject_id=subject, modality=Modality.FACE, model_id=model_id)


def bf_aggregate(probe: np.ndarray, t: Template, aggregate: str, metric: str) -> float:
    p = np.asarray(probe, dtype=np.float64).reshape(1, -1)
    if aggregate == "centroid":
        return float(cdist(p, t.centroid[None].astype(np.float64), metric=metric)[0, 0])
    d = [float(x) for x in cdist(p, t.references.astype(np.float64), metric=metric)[0]]
    if aggregate == "mean":
        return sum(d) / len(d)
    if aggregate == "normalized":
        refs = t.references.astype(np.float64)
        pair = [float(cdist(refs[i : i + 1], refs[j : j + 1], metric=metric)[0, 0])
                for i in range(len(refs)) for j in range(i + 1, len(refs))]
        return (sum(d) / len(d)) / max(sum(pair) / len(pair), 1e-3)
    return min(d)


def random_gallery(rng, n_subjects, dim, kmax=5):
    ids = rng.permutation([f"s{j:03d}" for j in range(n_subjects)])
    return [tmpl(str(s), rng.normal(size=(int(rng.integers(2, kmax + 1)), dim))) for s in ids]


# --------------------------------------------------------------------------- verify


@pytest.mark.parametrize("metric", DIST_NAMES)
@pytest.mark.parametrize("aggregate", AGGREGATES)
def test_verify_distance_matches_brute_force(aggregate, metric):
    rng = np.random.default_rng(1)
    for _ in range(20):
        t = tmpl("alice", rng.normal(size=(int(rng.integers(2 if aggregate == "normalized" else 1, 6)), 16)))
        probe = rng.normal(size=16).astype(np.float32)
        m = Matcher(Threshold(value=0.5, model_id=MODEL, distance=metric), aggregate=aggregate)
        dec = m.verify(probe, t)
        assert dec.distance == pytest.approx(bf_aggregate(probe, t, aggregate, metric), abs=1e-9)
        assert dec.accepted == (dec.distance <= 0.5)
        assert dec.subject_id == "alice" and dec.modality is Modality.FACE and dec.model_id == MODEL
        assert dec.label == ("Accept" if dec.accepted else "Reject")
        # per-reference distances, in enrollment order
        want = cdist(probe[None].astype(np.float64), t.references.astype(np.float64), metric=metric)[0]
        assert isinstance(dec.reference_distances, tuple) and len(dec.reference_distances) == t.n_references
        np.testing.assert_allclose(dec.reference_distances, want, atol=1e-9)
        # on the threshold's scale: the normalized aggregate is the mean of the scaled distances; others unscaled
        if aggregate == "normalized":
            assert np.mean(dec.reference_scores) == pytest.approx(dec.distance, abs=1e-9)
            np.testing.assert_allclose(np.array(dec.reference_scores) * dec.reference_scale, want, atol=1e-9)
        else:
            assert dec.reference_scale == 1.0 and dec.reference_scores == dec.reference_distances


@pytest.mark.parametrize("aggregate", AGGREGATES)
def test_verify_float64_probe(aggregate):
    rng = np.random.default_rng(2)
    t = tmpl("a", rng.normal(size=(3, 8)))
    probe = rng.normal(size=8)
    dec = Matcher(Threshold(value=0.5, model_id=MODEL), aggregate=aggregate).verify(probe, t)
    assert dec.distance == pytest.approx(bf_aggregate(probe, t, aggregate, "cosine"), abs=1e-6)


def test_reference_distances_follow_enrollment_order():
    refs = np.eye(4)[[2, 0, 3]]  # three orthogonal references
    t = tmpl("a", refs)
    probe = np.array([1.0, 0.0, 0.0, 0.0])
    dec = Matcher(Threshold(value=0.5, model_id=MODEL), aggregate="min").verify(probe, t)
    np.testing.assert_allclose(dec.reference_distances, [1.0, 0.0, 1.0], atol=1e-7)
    assert dec.distance == pytest.approx(0.0, abs=1e-7) and dec.accepted
    dec = Matcher(Threshold(value=0.5, model_id=MODEL), aggregate="mean").verify(probe, t)
    assert dec.distance == pytest.approx(2 / 3, abs=1e-7) and not dec.accepted


@pytest.mark.parametrize("metric", DIST_NAMES)
@pytest.mark.parametrize("aggregate", AGGREGATES)
def test_verify_exactly_at_threshold_accepts(aggregate, metric):
    rng = np.random.default_rng(3)
    t = tmpl("a", rng.normal(size=(4, 12)))
    probe = rng.normal(size=12).astype(np.float32)
    d = (
        Matcher(Threshold(value=1.0, model_id=MODEL, distance=metric), aggregate=aggregate)
        .verify(probe, t)
        .distance
    )
    at = Matcher(Threshold(value=d, model_id=MODEL, distance=metric), aggregate=aggregate).verify(probe, t)
    assert at.distance == d and at.accepted
    below = Threshold(value=float(np.nextafter(d, -np.inf)), model_id=MODEL, distance=metric)
    assert not Matcher(below, aggregate=aggregate).verify(probe, t).accepted
    above = Threshold(value=float(np.nextafter(d, np.inf)), model_id=MODEL, distance=metric)
    assert Matcher(above, aggregate=aggregate).verify(probe, t).accepted


@pytest.mark.parametrize("aggregate", AGGREGATES)
def test_verify_threshold_of_another_model(aggregate):
    t = tmpl("a", np.ones((2, 4)), model_id="other")
    m = Matcher(Threshold(value=0.5, model_id=MODEL), aggregate=aggregate)
    with pytest.raises(ModelMismatch):
        m.verify(np.ones(4), t)
    with pytest.raises(ModelMismatch):
        m.identify(np.ones(4), [tmpl("b", np.ones((1, 4))), t])


@pytest.mark.parametrize("aggregate", AGGREGATES)
@pytest.mark.parametrize("dim", [3, 5])
def test_verify_probe_of_wrong_dimension(aggregate, dim):
    t = tmpl("a", np.ones((2, 4)))
    with pytest.raises(ModelMismatch):
        Matcher(Threshold(value=0.5, model_id=MODEL), aggregate=aggregate).verify(np.ones(dim), t)


def test_verify_nan_probe_is_invalid_input():
    t = tmpl("a", np.ones((2, 4)))
    with pytest.raises(InvalidInput):
        Matcher(Threshold(value=0.5, model_id=MODEL)).verify(np.array([1.0, np.nan, 0.0, 0.0]), t)


def test_matcher_refuses_unknown_aggregate_and_distance():
    with pytest.raises(InvalidInput):
        Matcher(Threshold(value=0.5, model_id=MODEL), aggregate="max")
    with pytest.raises(InvalidInput):
        Matcher(Threshold(value=0.5, model_id=MODEL, distance="hamming"))


# --------------------------------------------------------------------------- identify


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_subjects=st.integers(1, 9),
    top_k=st.integers(1, 12),
    aggregate=st.sampled_from(AGGREGATES),
    metric=st.sampled_from(DIST_NAMES),
)
def test_identify_matches_brute_force_sort(seed, n_subjects, top_k, aggregate, metric):
    rng = np.random.default_rng(seed)
    dim = int(rng.integers(2, 10))
    gallery = random_gallery(rng, n_subjects, dim)
    probe = rng.normal(size=dim).astype(np.float32)
    thr = 1.0 if metric == "cosine" else 3.0
    m = Matcher(Threshold(value=thr, model_id=MODEL, distance=metric), aggregate=aggregate)
    got = m.identify(probe, gallery, top_k=top_k)

    scored = [(bf_aggregate(probe, t, aggregate, metric), str(t.subject_id)) for t in gallery]
    scored.sort()
    want = scored[:top_k]
    assert len(got) == min(top_k, n_subjects)
    assert [c.subject_id for c in got] == [s for _, s in want]
    assert [c.rank for c in got] == list(range(1, len(got) + 1))
    for c, (d, _) in zip(got, want, strict=True):
        assert c.distance == pytest.approx(d, abs=1e-9)
        assert c.below_threshold == (c.distance <= thr)
    # 1:N distances agree with 1:1 verification of the same subject
    by_id = {str(t.subject_id): t for t in gallery}
    for c in got:
        assert c.distance == pytest.approx(m.verify(probe, by_id[c.subject_id]).distance, abs=1e-12)


@pytest.mark.parametrize("aggregate", AGGREGATES)
def test_identify_ties_broken_by_subject_id(aggregate):
    rng = np.random.default_rng(5)
    same = rng.normal(size=(3, 6))
    far = -np.abs(rng.normal(size=(2, 6)))
    gallery = [tmpl("carol", same), tmpl("zed", far), tmpl("alice", same), tmpl("bob", same)]
    probe = np.abs(rng.normal(size=6)).astype(np.float32)
    got = Matcher(Threshold(value=0.5, model_id=MODEL), aggregate=aggregate).identify(probe, gallery, top_k=4)
    assert [c.subject_id for c in got[:3]] == ["alice", "bob", "carol"]
    assert got[0].distance == got[1].distance == got[2].distance
    assert [c.rank for c in got] == [1, 2, 3, 4]


def test_identify_hand_case():
    gallery = [tmpl("x", np.array([[0.0, 1.0]])), tmpl("y", np.array([[1.0, 0.0], [0.0, 1.0]]))]
    probe = np.array([1.0, 0.0])
    th = Threshold(value=0.1, model_id=MODEL)
    got = Matcher(th, aggregate="min").identify(probe, gallery)
    assert [(c.subject_id, round(c.distance, 6), c.below_threshold) for c in got] == [
        ("y", 0.0, True),
        ("x", 1.0, False),
    ]
    got = Matcher(th, aggregate="mean").identify(probe, gallery)
    assert [(c.subject_id, round(c.distance, 6)) for c in got] == [("y", 0.5), ("x", 1.0)]
    got = Matcher(th, aggregate="centroid").identify(probe, gallery, top_k=1)
    assert [(c.subject_id, round(c.distance, 6)) for c in got] == [("y", round(1 - 1 / np.sqrt(2), 6))]


@pytest.mark.parametrize("top_k", [0, -1])
def test_identify_top_k_below_one(top_k):
    g = [tmpl("a", np.ones((1, 3)))]
    with pytest.raises(InvalidInput):
        Matcher(Threshold(value=0.5, model_id=MODEL)).identify(np.ones(3), g, top_k=top_k)


@pytest.mark.parametrize("aggregate", AGGREGATES)
def test_identify_empty_gallery(aggregate):
    assert Matcher(Threshold(value=0.5, model_id=MODEL), aggregate=aggregate).identify(np.ones(3), []) == []
    assert Matcher(Threshold(value=0.5, model_id=MODEL), aggregate=aggregate).identify(np.ones(3), ()) == []


def test_normalized_needs_two_references():
    t = tmpl("solo", np.ones((1, 4)))
    m = Matcher(Threshold(value=1.0, model_id=t.model_id), aggregate="normalized")
    with pytest.raises(InvalidInput, match="at least 2 references"):
        m.verify(np.ones(4), t)


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan"), float("inf")])
def test_decision_refuses_a_reference_scale_that_is_not_a_positive_number(scale):
    from biometrix.core.types import Decision

    with pytest.raises(InvalidInput, match="reference_scale"):
        Decision(subject_id="a", modality=Modality.FACE, accepted=False, distance=1.0,
                 threshold=Threshold(value=0.5, model_id=MODEL), reference_distances=(0.1,), reference_scale=scale)
