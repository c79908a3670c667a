"""core.thresholds: calibrated Thresholds are bound to their model and record how they were set."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from biometrix.core.errors import InvalidInput, ModelMismatch
from biometrix.core.metrics import eer, fmr_fnmr, threshold_at_fmr
from biometrix.core.thresholds import calibrate_at_fmr, calibrate_eer, check_model
from biometrix.core.types import Threshold

RNG = np.random.default_rng(7)
GENUINE = RNG.uniform(0.0, 0.6, 200)
IMPOSTOR = RNG.uniform(0.4, 1.2, 1000)


@pytest.mark.parametrize("target", [0.0, 0.001, 0.01, 0.1])
def test_calibrate_at_fmr(target):
    t = calibrate_at_fmr(
        impostor=IMPOSTOR, target_fmr=target, model_id="sig-v1", distance="euclidean", source="val"
    )
    assert isinstance(t, Threshold)
    assert t.model_id == "sig-v1" and t.distance == "euclidean" and t.source == "val"
    assert t.target_fmr == target
    assert t.value == threshold_at_fmr(impostor=IMPOSTOR, target_fmr=target)
    # an independent count: no more than target * n impostors at or below the value
    assert int((IMPOSTOR <= t.value).sum()) <= target * IMPOSTOR.size + 1e-9
    assert int((IMPOSTOR <= np.sort(IMPOSTOR)[(IMPOSTOR <= t.value).sum()]).sum()) > target * IMPOSTOR.size


def test_calibrate_at_fmr_defaults():
    t = calibrate_at_fmr(impostor=IMPOSTOR, target_fmr=0.01, model_id="m")
    assert t.distance == "cosine" and t.source == "" and t.target_fmr == 0.01


def test_calibrate_eer():
    t = calibrate_eer(genuine=GENUINE, impostor=IMPOSTOR, model_id="face-v2", source="validation s1-s30")
    res = eer(genuine=GENUINE, impostor=IMPOSTOR)
    assert t.model_id == "face-v2" and t.source == "validation s1-s30" and t.distance == "cosine"
    assert t.target_fmr is None
    assert t.value == res.threshold
    fmr, fnmr = fmr_fnmr(genuine=GENUINE, impostor=IMPOSTOR, threshold=t.value)
    assert abs(fmr - res.eer) < 0.01 and abs(fnmr - res.eer) < 0.01


@pytest.mark.parametrize("target", [-0.1, 1.0, float("nan")])
def test_calibrate_at_fmr_bad_target(target):
    with pytest.raises(InvalidInput):
        calibrate_at_fmr(impostor=IMPOSTOR, target_fmr=target, model_id="m")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), np.nan])
def test_threshold_refuses_non_finite(value):
    with pytest.raises(InvalidInput):
        Threshold(value=value, model_id="m")


def test_threshold_is_frozen_and_hand_set():
    t = Threshold(value=0.3, model_id="m")
    assert t.target_fmr is None and t.distance == "cosine"
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.value = 0.5  # type: ignore[misc]


def test_check_model():
    t = Threshold(value=0.3, model_id="a")
    check_model(t, "a")  # no error
    with pytest.raises(ModelMismatch, match="'a'.*'b'"):
        check_model(t, "b")
