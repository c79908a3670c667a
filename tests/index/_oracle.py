"""The oracle of every identification test: ``core.matcher.Matcher.identify`` over the whole gallery.

The Matcher's float64 distance of a subject can move by one unit in the last place with the gallery's size and
order (its BLAS product blocks differently): measured, a few percent of distances differ when a gallery is
subsetted. So an answer is the oracle's when it has the same ranks and, at each rank, a distance equal to the
oracle's to 1e-9 and a subject whose oracle distance is within 1e-9 of it (the same subject unless two subjects are
that close); where no two subjects are that close, the ids are the oracle's, in its order."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from biometrix.core.matcher import Matcher
from biometrix.core.types import Candidate, Template, Threshold

TIE = 1e-9


def assert_oracle_answer(got: Sequence[Candidate], probe: np.ndarray, gallery: Sequence[Template],
                         threshold: Threshold, aggregate: str, top_k: int) -> None:
    everyone = Matcher(threshold, aggregate=aggregate).identify(probe, gallery, top_k=max(len(gallery), 1))
    want = everyone[:top_k]
    assert [c.rank for c in got] == [c.rank for c in want]
    assert len({c.subject_id for c in got}) == len(got)
    for g, w in zip(got, want, strict=True):
        assert g.distance == pytest.approx(w.distance, abs=TIE)
        peers = {c.subject_id for c in everyone if abs(c.distance - w.distance) <= TIE}
        assert g.subject_id in peers, (g, w)
        if abs(w.distance - threshold.value) > TIE:
            assert g.below_threshold == w.below_threshold
    close = any(abs(a.distance - b.distance) <= TIE for a, b in zip(everyone, everyone[1:top_k + 1], strict=False))
    if not close:
        assert [c.subject_id for c in got] == [c.subject_id for c in want]
