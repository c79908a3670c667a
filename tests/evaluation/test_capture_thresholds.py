"""One threshold per capture: the card picks the stricter of a capture's own threshold and the default; the
calibration sets each at the target FMR on its own source's validation forgeries (checked against a brute-force
count) and the leave-one-subject-out check matches a hand-made example."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from biometrix.core.errors import InvalidInput
from biometrix.evaluation.protocol import Comparison, ProtocolScores
from biometrix.evaluation.signature_calibration import (
    calibrate_signature_card,
    capture_thresholds,
    leave_one_subject_out,
    transfer_det,
    transfer_thresholds,
    with_capture_thresholds,
)
from biometrix.runtime.model_card import ModelCard
from tests.runtime.conftest import card_dict


def _card(thresholds: list[dict[str, Any]]) -> ModelCard:
    raw = card_dict("sig-capture-v1", "0" * 64)
    raw["thresholds"] = thresholds
    return ModelCard.from_dict(raw)


def _t(name: str, value: float) -> dict[str, Any]:
    return {"name": name, "value": value, "target_fmr": 0.01, "source": f"test {name}"}


def test_a_capture_threshold_only_ever_tightens_the_default() -> None:
    card = _card([_t("default", 0.5), _t("scan", 0.7), _t("pen", 0.3)])
    assert card.capture_threshold("pen").value == 0.3  # stricter: used
    assert card.capture_threshold("pen").source == "test pen"
    assert card.capture_threshold("scan").value == 0.5  # looser: the default stays
    assert card.capture_threshold(None).value == 0.5
    only_default = _card([_t("default", 0.5)])
    assert only_default.capture_threshold("pen").value == 0.5
    with pytest.raises(ValueError, match="capture must be one of scan, pen"):
        card.capture_threshold("camera")


def _scores(source: str, subjects: dict[str, tuple[list[float], list[float]]]) -> ProtocolScores:
    """subject -> (genuine distances, skilled-forgery distances) as protocol comparisons."""
    comps = []
    for subject, (genuine, skilled) in subjects.items():
        comps += [Comparison(subject, subject, f"{subject}:g{i}", "genuine", {"min": d}) for i, d in enumerate(genuine)]
        comps += [Comparison(subject, "forger", f"{subject}:f{i}", "skilled", {"min": d})
                  for i, d in enumerate(skilled)]
    return ProtocolScores(source=source, comparisons=tuple(comps), n_subjects=len(subjects), n_references=5)


def _fmr(impostor: np.ndarray, thr: float) -> float:
    return float(np.mean(impostor <= thr))


def test_each_capture_is_set_on_its_own_source() -> None:
    rng = np.random.default_rng(0)
    cedar = _scores("cedar", {f"c{i}": (list(rng.uniform(0, 1, 5)), list(rng.uniform(0.5, 2, 40))) for i in range(5)})
    svc = _scores("svc2004", {f"s{i}": (list(rng.uniform(0, 1, 5)), list(rng.uniform(0.2, 1, 30))) for i in range(4)})
    entries = capture_thresholds([cedar, svc], "min", target_fmr=0.05, subjects={"cedar": [36, 45],
                                                                                  "svc2004": [26, 30]})
    assert [e["name"] for e in entries] == ["scan", "pen"]
    for entry, source in zip(entries, (cedar, svc), strict=True):
        impostor = source.scores("skilled", "min")
        thr = entry["value"]
        # brute force: at most 5 % of this source's forgeries accepted, and the next larger forgery would tip it
        assert _fmr(impostor, thr) <= 0.05
        above = np.sort(impostor[impostor > thr])
        assert above.size and _fmr(impostor, float(above[0])) > 0.05
    assert "CEDAR 36-45; 200 impostor comparisons" in entries[0]["source"]
    assert "SVC2004 26-30; 120 impostor comparisons" in entries[1]["source"]
    assert entries[1]["value"] < entries[0]["value"]  # the pen forgeries lie closer here


def test_new_capture_thresholds_replace_old_ones_and_keep_the_rest() -> None:
    raw = {"thresholds": [_t("default", 0.5), _t("pen", 0.9), _t("random_fmr1", 0.8)], "x": 1}
    out = with_capture_thresholds(raw, [_t("scan", 0.6), _t("pen", 0.4)])
    assert [(t["name"], t["value"]) for t in out["thresholds"]] == [
        ("default", 0.5), ("random_fmr1", 0.8), ("scan", 0.6), ("pen", 0.4)]
    assert out["x"] == 1 and raw["thresholds"][1]["value"] == 0.9  # the input is not changed


def test_leave_one_subject_out_by_hand() -> None:
    # two subjects of one source; target FMR 0 makes each threshold sit just below the other subject's
    # closest forgery, so the left-out subject's errors can be counted by hand.
    cedar = _scores("cedar", {"a": ([0.1, 0.4], [0.3, 0.9]), "b": ([0.2, 0.6], [0.5, 0.7])})
    svc = _scores("svc2004", {"c": ([0.1], [0.25]), "d": ([0.3], [0.35])})
    got = leave_one_subject_out([cedar, svc], "min", target_fmr=0.0)
    # per source, leaving a out: threshold just below 0.5 (b's closest forgery) -> a: forgery 0.3 accepted,
    # genuine 0.1 and 0.4 accepted; leaving b out: just below 0.3 -> b: no forgery accepted, genuine 0.2
    # accepted and 0.6 rejected.
    assert got["cedar"]["per_source"] == {"fmr": 1 / 4, "fnmr": 1 / 4, "n_skilled": 4, "n_genuine": 4}
    # pooled adds svc's forgeries 0.25 and 0.35: both thresholds just below 0.25 -> no forgery accepted,
    # genuine 0.4 (a) and 0.6 (b) rejected.
    assert got["cedar"]["pooled"] == {"fmr": 0.0, "fnmr": 2 / 4, "n_skilled": 4, "n_genuine": 4}
    # svc: leaving c out, just below 0.35 (per source) or 0.3 (pooled): c's forgery 0.25 accepted; leaving d
    # out, just below 0.25 either way: d's genuine 0.3 rejected.
    for way in ("per_source", "pooled"):
        assert got["svc2004"][way] == {"fmr": 1 / 2, "fnmr": 1 / 2, "n_skilled": 2, "n_genuine": 2}


def test_leave_one_subject_out_needs_two_subjects_per_source() -> None:
    lone = _scores("svc2004", {"c": ([0.1], [0.25])})
    with pytest.raises(InvalidInput, match="at least 2 validation subjects"):
        leave_one_subject_out([lone], "min", target_fmr=0.01)


def _with_random(scores: ProtocolScores, random: list[float]) -> ProtocolScores:
    extra = tuple(Comparison("s0", f"other{i}", f"r{i}", "random", {"min": d}) for i, d in enumerate(random))
    return ProtocolScores(source=scores.source, comparisons=scores.comparisons + extra,
                          n_subjects=scores.n_subjects, n_references=5)


def _two_sources(rng: np.random.Generator, scale: float) -> list[ProtocolScores]:
    out = []
    for source, n in (("cedar", 6), ("svc2004", 4)):
        subjects = {f"s{k}": (list(scale * rng.uniform(0, 1, 5)), list(scale * rng.uniform(0.5, 2, 30)))
                    for k in range(n)}
        out.append(_with_random(_scores(source, subjects), list(scale * rng.uniform(1, 3, 50))))
    return out


def test_transferred_thresholds_follow_the_ratio_on_trained_subjects() -> None:
    """A new model whose distances on the shared subjects are exactly twice the reference's gets every
    threshold doubled; and each value is t_ref × q_new / q_ref with q counted by brute force."""
    ref_card = _card([_t("default", 0.4), _t("random_fmr1", 0.9), _t("scan", 0.5), _t("pen", 0.3)])
    ref_card = ModelCard.from_dict({**ref_card.to_dict(), "aggregate": "min"})
    ref = _two_sources(np.random.default_rng(1), 1.0)
    doubled = _two_sources(np.random.default_rng(1), 2.0)
    subjects = {"cedar": list(range(1, 36)), "svc2004": list(range(1, 26))}
    entries, record = transfer_thresholds(ref_card, ref, doubled, aggregate="min", subjects=subjects)
    by_name = {e["name"]: e for e in entries}
    assert set(by_name) == {"default", "random_fmr1", "scan", "pen"}
    for name, value in (("default", 0.4), ("random_fmr1", 0.9), ("scan", 0.5), ("pen", 0.3)):
        assert by_name[name]["value"] == pytest.approx(2 * value, rel=1e-9), name
        assert record["thresholds"][name]["ratio"] == pytest.approx(2.0, rel=1e-9)
    assert "transferred from sig-capture-v1" in by_name["pen"]["source"]
    assert "SVC2004 1-25" in by_name["pen"]["source"] and "CEDAR" not in by_name["pen"]["source"]

    other = _two_sources(np.random.default_rng(2), 1.0)
    entries, record = transfer_thresholds(ref_card, ref, other, aggregate="min", subjects=subjects)
    for name, sources, kind in (("default", ("cedar", "svc2004"), "skilled"), ("scan", ("cedar",), "skilled"),
                                ("random_fmr1", ("cedar", "svc2004"), "random")):
        got = record["thresholds"][name]
        for scores, q in ((ref, got["q_reference"]), (other, got["q_new"])):
            imp = np.concatenate([s.scores(kind, "min") for s in scores if s.source in sources])
            # brute force: q accepts at most 1 % of these impostors, and the next impostor above it would not
            assert _fmr(imp, q) <= 0.01
            assert _fmr(imp, float(np.min(imp[imp > q]))) > 0.01
        assert got["value"] == pytest.approx(ref_card.threshold(name).value * got["q_new"] / got["q_reference"])


def test_transfer_refuses_another_aggregate_and_a_card_without_a_target() -> None:
    ref_card = ModelCard.from_dict({**_card([_t("default", 0.4)]).to_dict(), "aggregate": "min"})
    scores = _two_sources(np.random.default_rng(1), 1.0)
    subjects = {"cedar": [1, 2], "svc2004": [1, 2]}
    with pytest.raises(InvalidInput, match="one aggregate"):
        transfer_thresholds(ref_card, scores, scores, aggregate="mean", subjects=subjects)
    no_target = ModelCard.from_dict({**ref_card.to_dict(), "thresholds": [{**_t("default", 0.4), "target_fmr": None}]})
    with pytest.raises(InvalidInput, match="no target FMR"):
        transfer_thresholds(no_target, scores, scores, aggregate="min", subjects=subjects)


def test_a_card_with_no_validation_subjects_cannot_be_calibrated(tmp_path) -> None:
    raw = _card([_t("default", 0.4)]).to_dict()
    raw["training"] = {"validation_subjects": [], "svc2004_validation_users": []}
    card = ModelCard.from_dict(raw)

    def embed(_: np.ndarray) -> np.ndarray:
        raise AssertionError("nothing may be embedded")

    with pytest.raises(InvalidInput, match="no validation subjects.*transferred when it was exported"):
        calibrate_signature_card(card, embed, tmp_path, progress=False)


def test_a_transferred_det_scales_only_the_thresholds() -> None:
    raw = _card([_t("default", 0.4)]).to_dict()
    raw["evaluation"] = {"validation_det": {"fmr": [0.0, 0.5, 1.0], "fnmr": [1.0, 0.2, 0.0],
                                            "thresholds": [0.1, 0.3, 0.9], "n_genuine": 10, "n_impostor": 20,
                                            "source": "validation signers"}}
    det = transfer_det(ModelCard.from_dict(raw), 2.5)
    assert det is not None and det["thresholds"] == pytest.approx([0.25, 0.75, 2.25])
    assert (det["fmr"], det["fnmr"], det["n_impostor"]) == ([0.0, 0.5, 1.0], [1.0, 0.2, 0.0], 20)
    assert "x 2.5 " in det["source"]
    assert transfer_det(_card([_t("default", 0.4)]), 2.5) is None  # no curve on the reference: none here
