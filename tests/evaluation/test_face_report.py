"""calibrate_card writes the validation DET curve beside the threshold (scores faked: no face data needed)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from biometrix.core.metrics import det_curve, threshold_at_fmr
from biometrix.evaluation import face_report
from biometrix.evaluation.faces import FaceScores
from biometrix.runtime.model_card import ModelCard

CARD = Path(__file__).resolve().parents[2] / "assets" / "models" / "face-siamese-v1.json"


def _scores(rng: np.random.Generator, n_gen: int, n_imp: int) -> FaceScores:
    g = rng.normal(0.2, 0.08, n_gen)
    i = rng.normal(0.6, 0.1, n_imp)
    g[:3] = np.inf  # failures to acquire
    i[:5] = np.inf
    return FaceScores(genuine=g, impostor=i, rank1_hits=n_gen - 3, n_probes=n_gen, fta=3, n_samples=2 * n_gen,
                      n_subjects=5)


def test_calibrate_card_stores_the_validation_det(monkeypatch) -> None:
    rng = np.random.default_rng(3)
    fake = {"att validation": (_scores(rng, 40, 300), Counter()), "yaleb validation": (_scores(rng, 60, 900),
                                                                                        Counter({"blur": 2}))}
    monkeypatch.setattr(face_report, "measure", lambda *a, **k: fake)
    monkeypatch.setattr(face_report, "describe", lambda name, s, r: {"n": len(s.genuine)})
    card = ModelCard.load(CARD)
    new = face_report.calibrate_card(card, lambda img: img, Path("."), progress=False,
                                     validation=(("att", "validation"), ("yaleb", "validation")))
    g = np.concatenate([s.genuine[np.isfinite(s.genuine)] for s, _ in fake.values()])
    i = np.concatenate([s.impostor[np.isfinite(s.impostor)] for s, _ in fake.values()])
    assert new.default_threshold().value == threshold_at_fmr(impostor=i, target_fmr=0.01)
    det = new.evaluation["validation_det"]
    assert (det["n_genuine"], det["n_impostor"]) == (g.size, i.size) == (94, 1190)
    assert "excluded" in det["source"] and "att validation" in det["source"]
    full = det_curve(genuine=g, impostor=i)
    rows = set(zip(full.thresholds.tolist(), full.fmr.tolist(), full.fnmr.tolist(), strict=True))
    assert len(det["fmr"]) <= 200
    assert all(r in rows for r in zip(det["thresholds"], det["fmr"], det["fnmr"], strict=True))
