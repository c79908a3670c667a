"""core.templates against a manual mean-of-normalised-then-renormalised."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from biometrix.core.errors import InvalidInput
from biometrix.core.templates import l2_normalize, make_template, prototype
from biometrix.core.types import Modality


def manual_prototype(feats: np.ndarray) -> np.ndarray:
    rows = [np.asarray(r, dtype=np.float64) for r in feats]
    unit = [r / np.sqrt(sum(float(v) ** 2 for v in r)) for r in rows]
    mean = sum(unit) / len(unit)
    return mean / np.sqrt(sum(float(v) ** 2 for v in mean))


@st.composite
def feature_sets(draw):
    k = draw(st.integers(1, 6))
    d = draw(st.integers(1, 16))
    x = draw(arrays(np.float32, (k, d), elements=st.floats(-5, 5, width=32)))
    x[np.linalg.norm(x, axis=1) < 0.1, 0] = 1.0  # no (near-)zero rows
    # avoid references that (nearly) cancel out: their mean has no direction
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    if np.linalg.norm(unit.mean(0)) < 0.1:
        x = np.abs(x)
        x[:, 0] += 1.0
    return x


@settings(max_examples=150, deadline=None)
@given(feature_sets())
def test_prototype_matches_manual(x):
    got = prototype(x)
    assert got.shape == (x.shape[1],)
    np.testing.assert_allclose(got, manual_prototype(x), atol=1e-5)
    assert np.linalg.norm(got) == pytest.approx(1.0, abs=1e-5)


@settings(max_examples=100, deadline=None)
@given(feature_sets())
def test_make_template_keeps_normalised_references(x):
    t = make_template(x, subject_id=42, modality=Modality.FACE, model_id="m1")
    assert t.subject_id == "42" and isinstance(t.subject_id, str)
    assert t.modality is Modality.FACE and t.model_id == "m1"
    assert t.references.shape == x.shape and t.n_references == x.shape[0] and t.dim == x.shape[1]
    assert t.references.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(t.references, axis=1), 1.0, atol=1e-5)
    # the same directions, in enrollment order
    want = x.astype(np.float64) / np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True)
    np.testing.assert_allclose(t.references, want, atol=1e-5)
    np.testing.assert_allclose(t.centroid, manual_prototype(x), atol=1e-5)


def test_prototype_hand_case():
    x = np.array([[2.0, 0.0], [0.0, 5.0]])
    np.testing.assert_allclose(prototype(x), [1 / np.sqrt(2), 1 / np.sqrt(2)], atol=1e-6)
    # magnitudes do not weigh in: normalised before averaging
    np.testing.assert_allclose(prototype(np.array([[100.0, 0.0], [0.0, 0.01]])), prototype(x), atol=1e-6)
    np.testing.assert_allclose(prototype(np.array([[3.0, 4.0]])), [0.6, 0.8], atol=1e-6)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((0, 4)),
        np.zeros((0,)),
        np.ones(4),  # 1-D: not (K, D)
        np.array([[1.0, np.nan]]),
        np.array([[1.0, 2.0], [np.inf, 0.0]]),
        np.array([[1.0, 2.0], [0.0, 0.0]]),  # zero reference
        np.array([[1.0, 0.0], [-1.0, 0.0]]),  # references cancel out: no prototype direction
    ],
    ids=["empty", "empty-1d", "1d", "nan", "inf", "zero-row", "cancel"],
)
def test_bad_features_are_invalid_input(bad):
    with pytest.raises(InvalidInput):
        prototype(bad)
    with pytest.raises(InvalidInput):
        make_template(bad, subject_id="s", modality=Modality.SIGNATURE, model_id="m")


def test_l2_normalize_zero_row():
    np.testing.assert_allclose(l2_normalize(np.array([[3.0, 4.0]])), [[0.6, 0.8]])
    with pytest.raises(InvalidInput):
        l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
