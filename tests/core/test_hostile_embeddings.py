"""Hostile embeddings: NaN or infinite values are refused with InvalidInput everywhere, and nothing is stored."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biometrix.core.errors import InvalidInput
from biometrix.core.matcher import AGGREGATES, Matcher
from biometrix.core.templates import make_template, prototype
from biometrix.core.types import Modality, Threshold
from biometrix.store import SampleIn, SqliteStore

MODEL = "m1"
DIM = 8
BAD = [np.nan, np.inf, -np.inf]
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def poisoned(k: int, seed: int, cells: list[tuple[int, int, float]]) -> np.ndarray:
    emb = np.random.default_rng(seed).normal(size=(k, DIM)).astype(np.float32)
    for i, j, v in cells:
        emb[i % k, j % DIM] = v
    return emb


bad_cells = st.lists(
    st.tuples(st.integers(0, 100), st.integers(0, 100), st.sampled_from(BAD)), min_size=1, max_size=4
)


def good_template(subject: str = "alice", k: int = 3, seed: int = 1):
    refs = np.random.default_rng(seed).normal(size=(k, DIM)).astype(np.float32)
    return make_template(refs, subject_id=subject, modality=Modality.FACE, model_id=MODEL)


@FAST
@given(k=st.integers(1, 5), seed=st.integers(0, 2**16), cells=bad_cells)
def test_templates_refuse_non_finite(k: int, seed: int, cells: list[tuple[int, int, float]]) -> None:
    emb = poisoned(k, seed, cells)
    with pytest.raises(InvalidInput):
        prototype(emb)
    with pytest.raises(InvalidInput):
        make_template(emb, subject_id="s", modality=Modality.FACE, model_id=MODEL)


@FAST
@given(
    seed=st.integers(0, 2**16),
    cells=st.lists(st.tuples(st.integers(0, 100), st.sampled_from(BAD)), min_size=1, max_size=3),
    aggregate=st.sampled_from(AGGREGATES),
    distance=st.sampled_from(["cosine", "euclidean"]),
)
def test_matcher_refuses_non_finite_probe(
    seed: int, cells: list[tuple[int, float]], aggregate: str, distance: str
) -> None:
    probe = np.random.default_rng(seed).normal(size=DIM).astype(np.float32)
    for j, v in cells:
        probe[j % DIM] = v
    matcher = Matcher(Threshold(value=0.5, model_id=MODEL, distance=distance), aggregate=aggregate)
    gallery = [good_template("alice", seed=1), good_template("bob", seed=2)]
    with pytest.raises(InvalidInput, match="NaN or infinite"):
        matcher.verify(probe, gallery[0])
    with pytest.raises(InvalidInput, match="NaN or infinite"):
        matcher.identify(probe, gallery)


def test_matcher_still_accepts_a_finite_probe() -> None:
    t = good_template()
    dec = Matcher(Threshold(value=0.5, model_id=MODEL), aggregate="min").verify(t.references[0], t)
    assert dec.accepted and np.isfinite(dec.distance)


def _table_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        conn.close()


def _samples(k: int) -> list[SampleIn]:
    return [SampleIn(data=b"\x89PNG\r\n\x1a\n" + bytes([i]) * 16, media_type="image/png", meta={"i": i})
            for i in range(k)]


@FAST
@given(k=st.integers(1, 4), seed=st.integers(0, 2**16), cells=bad_cells)
def test_store_enroll_refuses_non_finite_and_writes_nothing(
    tmp_path: Path, k: int, seed: int, cells: list[tuple[int, int, float]]
) -> None:
    path = tmp_path / f"db-{seed}-{k}.db"
    path.unlink(missing_ok=True)
    with SqliteStore(path) as store:
        before = _table_counts(path)
        with pytest.raises(InvalidInput):
            store.enroll("carol", modality=Modality.FACE, model_id=MODEL, samples=_samples(k),
                         embeddings=poisoned(k, seed, cells))
        assert _table_counts(path) == before
        assert store.subjects() == []
    after = _table_counts(path)
    assert after == before
    for table in ("subjects", "templates", "template_references", "samples"):
        if table in after:
            assert after[table] == 0, table
