"""GalleryIndex against its oracle, Matcher.identify over the same templates, after adds, replaces and removals."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biometrix.core.errors import InvalidInput, ModelMismatch, RuntimeUnavailable
from biometrix.core.matcher import AGGREGATES, Matcher
from biometrix.core.templates import make_template
from biometrix.core.types import Modality, Template, Threshold
from biometrix.index import GalleryIndex, IndexOptions, faiss_or_none
from biometrix.index import rows as rows_module
from biometrix.index.rows import Rows
from tests.index._oracle import assert_oracle_answer

MODEL = "m1"
BACKENDS = ["numpy"] + (["faiss"] if faiss_or_none() is not None else [])
needs_faiss = pytest.mark.skipif(faiss_or_none() is None, reason="faiss-cpu is not installed (biometrix[index])")


def grid_vectors(rng: np.random.Generator, k: int, dim: int) -> np.ndarray:
    """k vectors of small integers: duplicates and exact ties across subjects are common; none is zero."""
    v = rng.integers(-2, 3, size=(k, dim)).astype(np.float32)
    v[~v.any(axis=1), 0] = 1.0
    return v


class Model:
    """What the index should hold: subject -> (template id, references as stored)."""

    def __init__(self) -> None:
        self.held: dict[str, tuple[int, np.ndarray]] = {}
        self.next_id = 1

    def templates(self) -> list[Template]:
        return [make_template(refs, subject_id=s, modality=Modality.FACE, model_id=MODEL)
                for s, (_, refs) in sorted(self.held.items())]


def apply(index: GalleryIndex, model: Model, op: str, subject: str, refs: np.ndarray) -> None:
    """enroll (ignored when enrolled), replace (enroll when not) or remove (ignored when not enrolled)."""
    old = model.held.get(subject)
    if op == "remove" or (op == "replace" and old is not None):
        if old is not None:
            assert index.remove([old[0]]) == 1
            del model.held[subject]
    if op in ("enroll", "replace") and subject not in model.held:
        tid, model.next_id = model.next_id, model.next_id + 1
        index.add((subject,), np.array([tid]), np.array([len(refs)]), refs)
        model.held[subject] = (tid, refs)


operations = st.lists(st.tuples(st.sampled_from(["enroll", "enroll", "replace", "remove"]),
                                st.sampled_from([f"s{i}" for i in range(12)]), st.integers(1, 5),
                                st.integers(0, 2**16)), min_size=1, max_size=30)


@settings(max_examples=120, deadline=None)
@given(ops=operations, dim=st.integers(2, 6), aggregate=st.sampled_from(AGGREGATES),
       distance=st.sampled_from(["cosine", "cosine", "euclidean"]), backend=st.sampled_from(BACKENDS),
       probe_seed=st.integers(0, 2**16), top_k=st.integers(1, 8))
def test_identify_is_the_matchers_answer_after_any_changes(ops, dim, aggregate, distance, backend, probe_seed, top_k):
    index = GalleryIndex(modality=Modality.FACE, model_id=MODEL, distance=distance, aggregate=aggregate,
                         options=IndexOptions(backend=backend))
    model = Model()
    threshold = Threshold(value=0.4, model_id=MODEL, distance=distance)
    rng = np.random.default_rng(probe_seed)
    for n, (op, subject, k, seed) in enumerate(ops):
        k = max(k, 2) if aggregate == "normalized" else k
        apply(index, model, op, subject, grid_vectors(np.random.default_rng(seed), k, dim))
        if n % 5 == 4 or n == len(ops) - 1:  # search between changes too
            assert len(index) == len(model.held)
            probe = grid_vectors(rng, 1, dim)[0]
            got = index.identify(probe, threshold, top_k=top_k)
            assert_oracle_answer(got, probe, model.templates(), threshold, aggregate, top_k)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("aggregate", AGGREGATES)
def test_many_subjects_in_blocks_and_reference_counts(aggregate, backend, monkeypatch):
    """Hundreds of close subjects (small perturbations of a few) with 2-5 references, stored in blocks of 2 KB so
    that the search spans dozens; every template is the store's bit for bit."""
    monkeypatch.setattr(rows_module, "BLOCK_BYTES", 2048)
    rng = np.random.default_rng(3)
    index = GalleryIndex(modality=Modality.FACE, model_id=MODEL, distance="cosine", aggregate=aggregate,
                         options=IndexOptions(backend=backend))
    centers = rng.normal(size=(8, 24))
    counts = rng.integers(2, 6, size=600)
    vectors = np.concatenate([centers[i % 8] + 0.05 * rng.normal(size=(c, 24)) for i, c in enumerate(counts)])
    vectors = vectors.astype(np.float32)
    ids = tuple(f"c{i:04d}" for i in rng.permutation(600))
    for start in range(0, 600, 150):  # four loads, as the store's batches come
        end = start + 150
        before = int(counts[:start].sum())
        index.add(ids[start:end], np.arange(start, end), counts[start:end],
                  vectors[before:before + int(counts[start:end].sum())])
    index.remove(range(0, 600, 7))
    ends = np.cumsum(counts)
    gallery = [make_template(vectors[ends[i] - counts[i]:ends[i]], subject_id=ids[i], modality=Modality.FACE,
                             model_id=MODEL) for i in range(600) if i % 7]
    for t, i in zip(sorted(gallery, key=lambda t: t.subject_id), sorted((ids[i], i) for i in range(600) if i % 7),
                    strict=True):
        held = index.template(i[1])
        assert held.subject_id == t.subject_id
        assert held.references.tobytes() == t.references.tobytes()
        assert held.centroid.tobytes() == t.centroid.tobytes()
    threshold = Threshold(value=0.2, model_id=MODEL)
    for _ in range(20):
        probe = (centers[rng.integers(8)] + 0.05 * rng.normal(size=24)).astype(np.float32)
        got = index.identify(probe, threshold, top_k=5)
        assert_oracle_answer(got, probe, sorted(gallery, key=lambda t: t.subject_id), threshold, aggregate, 5)


def test_rows_stay_dense_across_blocks():
    """Rows against a plain list: appends that cross blocks, removals that move the last unit into the hole."""
    rng = np.random.default_rng(0)
    rows = Rows(4, unit=3, block_bytes=4 * 4 * 7)  # 6 rows (two units) per block
    model: list[np.ndarray] = []
    for _ in range(200):
        if model and rng.random() < 0.4:
            u = int(rng.integers(len(model)))
            moved = rows.remove_unit(u)
            assert moved == (None if u == len(model) - 1 else len(model) - 1)
            model[u] = model[-1]
            model.pop()
        else:
            units = [rng.normal(size=(3, 4)).astype(np.float32) for _ in range(int(rng.integers(1, 6)))]
            rows.append(np.concatenate(units))
            model.extend(units)
        assert rows.units == len(model)
        for u, want in enumerate(model):
            assert np.array_equal(rows.unit_rows(u), want)
        assert sum(len(v) for _, v in rows.filled()) == rows.n
        assert len(list(rows.filled())) == -(-rows.n // rows.block_rows)


def test_rows_hold_what_they_were_given_past_the_first_block():
    """Past the first (grown) block, blocks are allocated whole and counted by the rows written into them: a large
    gallery holds its raw float32 bytes and no growth copies' spare room."""
    rows = Rows(4, block_bytes=4 * 4 * 64)  # 64 rows a block
    data = np.random.default_rng(1).normal(size=(1000, 4)).astype(np.float32)
    for start in range(0, len(data), 37):
        rows.append(data[start:start + 37])
        if rows.n > rows.block_rows:
            assert rows.nbytes == rows.n * 16
    assert np.array_equal(np.concatenate([v for _, v in rows.filled()]), data)


def test_refusals_are_the_matchers():
    index = GalleryIndex(modality=Modality.FACE, model_id=MODEL, distance="cosine", aggregate="min")
    threshold = Threshold(value=0.4, model_id=MODEL)
    assert index.identify(np.ones(3), threshold) == []
    refs = np.eye(3, dtype=np.float32)
    index.add(("bob", "al"), np.array([1, 2]), np.array([2, 1]), refs)
    gallery = [make_template(refs[2:], subject_id="al", modality=Modality.FACE, model_id=MODEL),
               make_template(refs[:2], subject_id="bob", modality=Modality.FACE, model_id=MODEL)]
    matcher = Matcher(threshold, aggregate="min")
    for probe, error in [(np.ones(4), ModelMismatch), (np.array([np.nan, 1, 1]), InvalidInput),
                         (np.zeros(3), InvalidInput)]:
        with pytest.raises(error) as want:
            matcher.identify(probe, gallery)
        with pytest.raises(error) as got:
            index.identify(probe, threshold)
        assert str(got.value) == str(want.value)
    with pytest.raises(InvalidInput, match="top_k must be at least 1"):
        index.identify(np.ones(3), threshold, top_k=0)
    with pytest.raises(ModelMismatch):
        index.identify(np.ones(3), Threshold(value=0.4, model_id="other"))
    with pytest.raises(ModelMismatch, match="dimension 4"):
        index.add(("eve",), np.array([3]), np.array([1]), np.ones((1, 4), np.float32))
    with pytest.raises(InvalidInput, match="unknown index backend"):
        IndexOptions(backend="gpu")
    with pytest.raises(InvalidInput, match="threads must be a positive integer"):
        IndexOptions(threads=0)


@pytest.mark.skipif(faiss_or_none() is not None, reason="faiss-cpu is installed")
def test_without_faiss_hnsw_says_what_to_install():
    with pytest.raises(RuntimeUnavailable, match=r"pip install 'biometrix\[index\]'"):
        GalleryIndex(modality=Modality.FACE, model_id=MODEL, distance="cosine", aggregate="mean",
                     options=IndexOptions(search="hnsw")).add(("a",), np.array([1]), np.array([1]), np.ones((1, 3)))


@needs_faiss
@pytest.mark.parametrize("aggregate", AGGREGATES)
def test_hnsw_finds_the_exact_first_and_never_a_removed_subject(aggregate):
    """Clustered subjects (perturbations of 50 centres), a probe near one enrolled subject: the approximate index's
    first candidate is the exact one in at least 95 of 100 probes, its distances are the Matcher's, and a removed
    subject is never proposed."""
    rng = np.random.default_rng(11)
    n, k, dim = 3000, 3, 32
    centers = rng.normal(size=(50, dim))
    base = centers[rng.integers(50, size=n)] + 0.3 * rng.normal(size=(n, dim))
    vectors = (np.repeat(base, k, axis=0) + 0.05 * rng.normal(size=(n * k, dim))).astype(np.float32)
    ids = tuple(f"p{i:05d}" for i in range(n))
    exact, approx = (GalleryIndex(modality=Modality.FACE, model_id=MODEL, distance="cosine", aggregate=aggregate,
                                  options=IndexOptions(search=s)) for s in ("exact", "hnsw"))
    for index in (exact, approx):
        index.add(ids, np.arange(n), np.full(n, k), vectors)
        index.remove(range(0, n, 3))
    threshold = Threshold(value=0.1, model_id=MODEL)
    agree = 0
    for _ in range(100):
        probe = (base[rng.integers(n)] + 0.05 * rng.normal(size=dim)).astype(np.float32)
        want, got = exact.identify(probe, threshold, top_k=3), approx.identify(probe, threshold, top_k=3)
        agree += got[0].subject_id == want[0].subject_id
        assert all(int(c.subject_id[1:]) % 3 for c in got)
        proposed = sorted((exact.template(int(c.subject_id[1:])) for c in got), key=lambda t: t.subject_id)
        assert_oracle_answer(got, probe, proposed, threshold, aggregate, 3)
    assert agree >= 95
