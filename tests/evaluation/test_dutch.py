"""SigComp2011 Dutch under the protocol: file names read both ways, counts and random forgeries as EVALUATION.md."""

from __future__ import annotations

import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from biometrix.core.errors import InvalidInput
from biometrix.evaluation.datasets import (
    DUTCH,
    DUTCH_DEVELOPMENT,
    DUTCH_HELDOUT,
    SignatureRecord,
    check_subjects,
    dutch_entry,
    iter_sigcomp2011_dutch,
)
from biometrix.evaluation.protocol import pooled, protocol_scores, subject_plans

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
DUTCH_ZIP = DATA / "sigcomp2011_dutch" / "sigcomp2011_dutch_half.zip"
needs_dutch = pytest.mark.skipif(not DUTCH_ZIP.is_file(), reason=f"SigComp2011 Dutch data not found at {DUTCH_ZIP}")
ROOT = "SigComp2011_Dutch_half"


@pytest.mark.parametrize(("name", "want"), [
    (f"{ROOT}/genuine/001/001_07.png", (1, True, "", 7)),
    (f"{ROOT}/forged/001/0119001_02.png", (1, False, "0119", 2)),
    (f"{ROOT}/genuine/049/12_049.png", (49, True, "", 12)),
    (f"{ROOT}/forged/049/03_0206049.png", (49, False, "0206", 3)),
    (f"{ROOT}/genuine/", None),
    (f"{ROOT}/README.txt", None),
])
def test_both_namings_of_the_set_are_read(name: str, want: tuple[int, bool, str, int] | None) -> None:
    assert dutch_entry(name) == want


@pytest.mark.parametrize("name", [
    f"{ROOT}/genuine/049/12_050.png",  # another writer's number in writer 049's folder
    f"{ROOT}/genuine/049/01_0206049.png",  # a forgery's name among the genuine ones
    f"{ROOT}/forged/001/001_01.png",  # a genuine name among the forgeries
    f"{ROOT}/genuine/049/12-049.png",
])
def test_a_name_outside_both_namings_is_refused(name: str) -> None:
    with pytest.raises(InvalidInput, match="not a SigComp2011 Dutch signature name"):
        dutch_entry(name)


def test_writer_ids_and_their_gaps() -> None:
    assert len(DUTCH_DEVELOPMENT) == 43 and len(DUTCH_HELDOUT) == 21
    assert not set(DUTCH_DEVELOPMENT) & set(DUTCH_HELDOUT)
    with pytest.raises(InvalidInput, match=r"has no subject 7: its subjects are 1-69 without 5, 7, 8, 10, 11"):
        check_subjects(DUTCH, (6, 7))


def test_random_forgeries_are_each_other_writers_last_genuine() -> None:
    """Writers with 12, 24 and 23 genuine signatures (one lacking number 19): each lends its last one."""
    have = {1: range(1, 25), 16: [i for i in range(1, 25) if i != 19], 49: range(1, 13)}
    recs = [SignatureRecord(DUTCH, w, i, True) for w, nums in have.items() for i in nums]
    recs += [SignatureRecord(DUTCH, w, i, False) for w in have for i in range(1, 5)]
    records = list(enumerate(recs))
    plans = {s: (refs, probes) for s, refs, probes in subject_plans(recs, DUTCH)}
    name = {i: (r.subject, r.genuine, r.index) for i, r in records}
    for w, nums in have.items():
        refs, probes = plans[w]
        assert [name[i] for i in refs] == [(w, True, i) for i in range(1, 6)]
        assert [name[i] for i, k in probes if k == "genuine"] == [(w, True, i) for i in nums if i >= 6]
        assert [name[i] for i, k in probes if k == "skilled"] == [(w, False, i) for i in range(1, 5)]
        assert sorted(name[i] for i, k in probes if k == "random") == sorted(
            (o, True, max(have[o])) for o in have if o != w)


def test_pooled_scores_keep_every_comparison_once() -> None:
    recs = [SignatureRecord(src, s, i, g) for src in ("cedar", DUTCH) for s in (1, 2) for g in (True, False)
            for i in range(1, 13)]
    emb = np.random.default_rng(0).normal(size=(len(recs), 4))
    parts = [protocol_scores(recs, emb, source=src) for src in ("cedar", DUTCH)]
    both = pooled(parts, source="offline")
    assert both.comparisons == parts[0].comparisons + parts[1].comparisons
    assert (both.n_subjects, both.n_references) == (4, 5)
    assert {c.claimed for c in both.comparisons} == {"cedar:1", "cedar:2", f"{DUTCH}:1", f"{DUTCH}:2"}


@needs_dutch
def test_the_archive_read_in_place_gives_the_protocol_counts() -> None:
    """Counts recomputed from the archive's folder listing alone: 1,649 images; held-out writers 049-069 give
    21 x 7 genuine probes, all their forgeries, and 21 x 20 random forgeries."""
    with zipfile.ZipFile(DUTCH_ZIP) as zf:
        names = [n.split("/") for n in zf.namelist() if n.endswith(".png")]
    per = Counter((parts[1], int(parts[2])) for parts in names)
    assert len(names) == 1649 and {w for _, w in per} == set(DUTCH_DEVELOPMENT + DUTCH_HELDOUT)
    recs, shapes = [], set()
    for rec, img in iter_sigcomp2011_dutch(DATA, DUTCH_HELDOUT):
        recs.append(rec)
        shapes.add(img.dtype == np.uint8 and img.ndim == 2 and min(img.shape) > 20)
    assert len(recs) == sum(n for (_, w), n in per.items() if w in DUTCH_HELDOUT) == 500 and shapes == {True}
    assert len({r.sample_id for r in recs}) == len(recs)
    kinds = Counter(k for _, _, probes in subject_plans(recs, DUTCH) for _, k in probes)
    skilled = sum(n for (kind, w), n in per.items() if kind == "forged" and w in DUTCH_HELDOUT)
    assert kinds == {"genuine": 21 * 7, "skilled": skilled, "random": 21 * 20}


def _listing() -> list[tuple[str, int, str]]:
    """(folder kind, writer folder, stem) of every image in the archive, from its listing alone."""
    with zipfile.ZipFile(DUTCH_ZIP) as zf:
        names = [n.split("/") for n in zf.namelist() if n.lower().endswith(".png")]
    return [(kind, int(writer), name[: -len(".png")]) for _, kind, writer, name in names]


@needs_dutch
def test_every_file_of_the_set_is_read_once_as_its_folder_says() -> None:
    """All 64 writers through the loader: per writer, as many genuine signatures and forgeries as the archive's
    folders hold (counted from its listing, without the loader's name patterns), the genuine ones under the numbers
    their names carry, the forgeries numbered 1..n; and the totals the set's README gives (887 genuine, 762
    forgeries, 1,649 images)."""
    listing = _listing()
    want = Counter((writer, kind == "genuine") for kind, writer, _ in listing)
    # a genuine name is W_NN or NN_W: its number is the two-digit part, whichever side it is on
    numbers = {(w, next(p for p in stem.split("_") if len(p) == 2)) for kind, w, stem in listing if kind == "genuine"}
    got: Counter[tuple[int, bool]] = Counter()
    genuine_numbers, forgery_numbers = set(), Counter()
    for rec, img in iter_sigcomp2011_dutch(DATA, DUTCH_DEVELOPMENT + DUTCH_HELDOUT):
        got[(rec.subject, rec.genuine)] += 1
        assert img is not None and img.ndim == 2 and min(img.shape) > 20, rec
        if rec.genuine:
            genuine_numbers.add((rec.subject, f"{rec.index:02d}"))
        else:
            forgery_numbers[rec.subject] = max(forgery_numbers[rec.subject], rec.index)
    assert got == want
    assert genuine_numbers == numbers
    assert forgery_numbers == {w: n for (w, genuine), n in want.items() if not genuine}
    assert (sum(n for (_, g), n in got.items() if g), sum(n for (_, g), n in got.items() if not g)) == (887, 762)
    assert {w for w, _ in got} == set(DUTCH_DEVELOPMENT + DUTCH_HELDOUT) and len({w for w, _ in got}) == 64


@needs_dutch
def test_the_two_namings_are_where_docs_evaluation_says() -> None:
    """docs/evaluation.md: writers 001-016 but 013 name their files W_NN (genuine) and FFFFW_NN (forgery, by
    forger FFFF); 013 and 017-069 NN_W and NN_FFFFW. Every name carries its folder's writer."""
    scheme: dict[int, set[str]] = {}
    for kind, writer, stem in _listing():
        first, second = stem.split("_")
        number_last = len(second) == 2
        named = first if number_last else second
        assert named[-3:] == f"{writer:03d}" and len(named) == (3 if kind == "genuine" else 7), (kind, writer, stem)
        scheme.setdefault(writer, set()).add("W_NN" if number_last else "NN_W")
    old = {w for w in DUTCH_DEVELOPMENT + DUTCH_HELDOUT if w <= 16 and w != 13}
    assert scheme == {w: {"W_NN" if w in old else "NN_W"} for w in DUTCH_DEVELOPMENT + DUTCH_HELDOUT}
