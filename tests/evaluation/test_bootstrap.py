"""Subject-level bootstrap of EERs, against the exact distribution of resamples enumerated by hand."""

from __future__ import annotations

import numpy as np
import pytest

from biometrix.core.errors import InvalidInput
from biometrix.core.metrics import eer
from biometrix.evaluation.protocol import Comparison, ProtocolScores, subject_bootstrap_eer


def _scores(subjects: dict[str, dict[str, list[float]]]) -> ProtocolScores:
    comps = tuple(Comparison(claimed=s, real=s if kind == "genuine" else "x", probe=f"{s}:{kind}:{i}", kind=kind,
                             distances={"mean": d})
                  for s, by_kind in subjects.items() for kind, ds in by_kind.items() for i, d in enumerate(ds))
    return ProtocolScores("cedar", comps, len(subjects), 5)


# A separates perfectly (EER 0); B is inverted (its forgeries are closer than its genuine: EER 1).
A = {"genuine": [0.1, 0.2], "skilled": [0.8, 0.9], "random": [0.15]}
B = {"genuine": [0.6, 0.7], "skilled": [0.1, 0.2], "random": [0.95]}


def test_the_interval_is_the_quantiles_of_the_enumerated_resamples() -> None:
    # Resamples of 2 subjects: AA (p 1/4, EER 0), AB or BA (p 1/2, the pooled EER), BB (p 1/4, EER 1).
    scores = _scores({"a": A, "b": B})
    pooled = eer(genuine=np.array(A["genuine"] + B["genuine"]), impostor=np.array(A["skilled"] + B["skilled"])).eer
    assert 0.0 < pooled < 1.0
    assert subject_bootstrap_eer(scores, "mean", "skilled", level=0.95) == (0.0, 1.0)
    lo, hi = subject_bootstrap_eer(scores, "mean", "skilled", level=0.4)  # quantiles 0.3 and 0.7: both AB
    assert lo == pytest.approx(pooled) and hi == pytest.approx(pooled)


def test_identical_subjects_give_no_spread() -> None:
    scores = _scores({"a": A, "b": A, "c": A})
    point = eer(genuine=np.array(A["genuine"] * 3), impostor=np.array(A["random"] * 3)).eer
    assert subject_bootstrap_eer(scores, "mean", "random") == (point, point)


def test_random_comparisons_do_not_enter_a_skilled_interval() -> None:
    # b differs from a only in a random comparison closer than its genuine ones
    only_random_differs = {"genuine": A["genuine"], "skilled": A["skilled"], "random": [0.05]}
    scores = _scores({"a": A, "b": only_random_differs})
    assert subject_bootstrap_eer(scores, "mean", "skilled") == (0.0, 0.0)
    assert subject_bootstrap_eer(scores, "mean", "random")[1] > 0.0


def test_the_same_seed_gives_the_same_interval_and_bad_arguments_are_refused() -> None:
    rng = np.random.default_rng(0)
    subjects = {f"s{k}": {"genuine": list(rng.random(5)), "skilled": list(rng.random(6) + 0.3)} for k in range(6)}
    scores = _scores(subjects)
    first = subject_bootstrap_eer(scores, "mean", "skilled", seed=3)
    assert first == subject_bootstrap_eer(scores, "mean", "skilled", seed=3)
    assert first[0] <= first[1]
    with pytest.raises(ValueError, match="kind"):
        subject_bootstrap_eer(scores, "mean", "genuine")
    with pytest.raises(ValueError, match="level"):
        subject_bootstrap_eer(scores, "mean", "skilled", level=1.0)
    with pytest.raises(InvalidInput, match="no subject has both"):
        subject_bootstrap_eer(scores, "mean", "random")
