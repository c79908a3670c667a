"""bench/cv_posthoc.py: the embedding-spread figure and the fixed test-time warps, against hand computations."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from biometrix.training.data import SignatureSample

BENCH = Path(__file__).resolve().parents[2] / "bench" / "cv_posthoc.py"


def _load():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("biometrix_bench_cv_posthoc", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


posthoc = _load()


def unit(deg: float) -> list[float]:
    return [float(np.cos(np.deg2rad(deg))), float(np.sin(np.deg2rad(deg)))]


def test_spread_is_the_median_cosine_distance_of_each_kind_of_pair() -> None:
    samples = [SignatureSample("cedar", 1, 1, True), SignatureSample("cedar", 1, 2, True),
               SignatureSample("cedar", 1, 1, False), SignatureSample("cedar", 2, 1, True)]
    # signer 1's genuine at 0 and 10 degrees, its forgery at 30, signer 2 at 90: cos distances by hand
    emb = np.array([unit(0), unit(10), unit(30), unit(90)]) * 3.0  # scale must not matter
    genuine, skilled, other = posthoc.spread(samples, emb)
    cos = lambda a, b: 1 - np.cos(np.deg2rad(a - b))  # noqa: E731
    np.testing.assert_allclose(genuine, cos(0, 10))
    np.testing.assert_allclose(skilled, np.median([cos(0, 30), cos(10, 30)]))
    np.testing.assert_allclose(other, np.median([cos(0, 90), cos(10, 90)] * 2))


def test_the_identity_warp_keeps_the_mask_and_others_stay_ink() -> None:
    ink = np.zeros((20, 50), bool)
    ink[5:15, 3:47] = True
    ink[8:12, 10:12] = False
    np.testing.assert_array_equal(posthoc.warp(ink, 0.0, 1.0), ink[5:15, 3:47])
    for angle, scale in posthoc.TTA_WARPS[1:]:
        out = posthoc.warp(ink, angle, scale)
        assert out.any(1).all() and out.any(0).all()  # cropped to the ink again
        assert 0.8 < out.sum() / ink.sum() < 1.25
