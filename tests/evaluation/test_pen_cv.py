"""evaluation.pen_cv: the three-zone thresholds and table, per-user EERs and fold means, on hand-made scores."""

from __future__ import annotations

import numpy as np
import pytest

from biometrix.core.errors import InvalidInput
from biometrix.evaluation.pen_cv import (
    SVC2004_FOLDS,
    Thresholds,
    fold_figures,
    mean_figures,
    per_user_eers,
    three_zone_thresholds,
    zones,
)
from biometrix.evaluation.protocol import Comparison, ProtocolScores


def test_three_zone_thresholds_count_what_falls_beyond_them() -> None:
    # 100 skilled forgeries at 1.00 .. 1.99 and 100 genuine at 0.50 .. 1.49: at 3 %, three forgeries may lie at or
    # below accept (1.00, 1.01, 1.02; accept midway to 1.03) and three genuine above reject (1.47 .. 1.49; reject
    # midway between 1.46 and 1.47).
    skilled = 1.0 + np.arange(100) / 100
    genuine = 0.5 + np.arange(100) / 100
    accept, reject = three_zone_thresholds(genuine=genuine, skilled=skilled, rate=0.03)
    assert accept == pytest.approx(1.025) and reject == pytest.approx(1.465)
    assert (skilled <= accept).sum() == 3 and (genuine > reject).sum() == 3
    with pytest.raises(InvalidInput, match="rate"):
        three_zone_thresholds(genuine=genuine, skilled=skilled, rate=0.0)


def test_zones_accept_reject_and_refer_between() -> None:
    d = np.array([0.5, 1.0, 1.2, 1.5, 2.0])
    assert zones(d, accept=1.0, reject=1.5) == {"accepted": 0.4, "referred": 0.4, "rejected": 0.2}
    # crossed thresholds (accept above reject): nothing is referred, the accept threshold decides
    assert zones(d, accept=1.3, reject=1.1) == {"accepted": 0.6, "referred": 0.0, "rejected": 0.4}
    with pytest.raises(InvalidInput):
        zones(np.array([]), accept=1.0, reject=2.0)


def comparisons(user: int, genuine: list[float], skilled: list[float], random: list[float]) -> list[Comparison]:
    return [Comparison(f"svc2004:{user}", f"svc2004:{user if k != 'random' else 99}", f"p{i}", k, {"a": d})
            for k, ds in (("genuine", genuine), ("skilled", skilled), ("random", random)) for i, d in enumerate(ds)]


def test_per_user_eers_fold_figures_and_means() -> None:
    # user 1 separates perfectly; user 10's genuine and skilled overlap by one each: EER 1/4 on 4 + 4 comparisons
    scores = ProtocolScores("svc2004", tuple(comparisons(10, [1, 2, 3, 6], [4, 5, 7, 8], [9, 9])
                                             + comparisons(1, [1, 1, 1, 1], [3, 3, 3, 3], [9, 9])), 2, 5)
    assert list(per_user_eers(scores, "a", "skilled")) == ["svc2004:1", "svc2004:10"]
    assert per_user_eers(scores, "a", "skilled") == pytest.approx({"svc2004:1": 0.0, "svc2004:10": 0.25})
    thr = Thresholds(default=3.5, accept=2.5, reject=5.5)
    f = fold_figures(scores, "a", thr, [1, 10])
    assert f.mean_user_skilled_eer == pytest.approx(0.125) and f.counts == {"genuine": 8, "skilled": 8, "random": 4}
    assert f.at_default == pytest.approx({"fnmr": 1 / 8, "skilled_fmr": 4 / 8, "random_fmr": 0.0})
    assert f.zones["genuine"] == pytest.approx({"accepted": 6 / 8, "referred": 1 / 8, "rejected": 1 / 8})
    m = mean_figures([f, f])
    assert m["mean_user_skilled_eer"] == pytest.approx(0.125) and m["genuine_referred"] == pytest.approx(1 / 8)


def test_the_folds_cover_the_40_users_once() -> None:
    assert sorted(u for fold in SVC2004_FOLDS for u in fold) == list(range(1, 41))
    assert all(len(fold) == 10 for fold in SVC2004_FOLDS)
