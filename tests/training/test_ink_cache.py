"""The staged ink-mask cache gives the training loaders exactly what the archives give, in the same order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from biometrix.core.errors import InvalidInput
from biometrix.training.data import load_cedar, load_sigcomp2011_dutch, load_svc2004
from biometrix.training.ink_cache import cache_path, write_ink_cache

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
pytestmark = pytest.mark.skipif(
    not all((DATA / z).is_file() for z in ("cedar/cedar_signatures_half.zip", "svc2004_task2/svc2004_task2.zip",
                                            "sigcomp2011_dutch/sigcomp2011_dutch_half.zip")),
    reason=f"CEDAR, SVC2004 and SigComp2011 Dutch data not found under {DATA}",
)

LOADERS = {"cedar": (load_cedar, [3, 1]), "svc2004": (load_svc2004, [2, 5]),
           "sigcomp2011_dutch": (load_sigcomp2011_dutch, [1, 12])}


@pytest.mark.parametrize("source", sorted(LOADERS))
def test_cached_masks_equal_the_archives(source: str, tmp_path: Path) -> None:
    load, subjects = LOADERS[source]
    from_zip = load(DATA, subjects, progress=False)
    write_ink_cache(cache_path(tmp_path, source), from_zip)
    for asked in (subjects, subjects[:1]):
        cached = load(tmp_path, asked, progress=False)  # tmp_path holds no archive: only the cache can answer
        expected = [s for s in from_zip if s.subject in asked]
        assert [(s.source, s.subject, s.index, s.genuine) for s in cached] == \
               [(s.source, s.subject, s.index, s.genuine) for s in expected]
        assert all(a.ink.dtype == bool and np.array_equal(a.ink, b.ink) for a, b in zip(cached, expected, strict=True))
    with pytest.raises(InvalidInput, match="lacks"):
        load(tmp_path, [4], progress=False)


def test_a_cache_of_another_set_is_refused(tmp_path: Path) -> None:
    samples = load_cedar(DATA, [1], progress=False)
    write_ink_cache(cache_path(tmp_path, "svc2004"), samples)  # CEDAR masks filed as SVC2004
    with pytest.raises(InvalidInput, match="not svc2004"):
        load_svc2004(tmp_path, [1], progress=False)
