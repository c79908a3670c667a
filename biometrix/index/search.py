"""Inner-product search over Rows: exact (FAISS's brute-force kernel, or numpy), and FAISS's HNSW graph."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from biometrix.core.errors import RuntimeUnavailable
from biometrix.index.rows import Rows

BACKENDS = ("auto", "faiss", "numpy")
_INSTALL = "pip install 'biometrix[index]'"


def faiss_or_none() -> ModuleType | None:
    """The faiss module when faiss-cpu is installed (an optional extra: ``biometrix[index]``), else None."""
    try:
        import faiss
    except ModuleNotFoundError:
        return None
    return faiss


def need_faiss(what: str) -> ModuleType:
    faiss = faiss_or_none()
    if faiss is None:
        raise RuntimeUnavailable(f"{what} needs faiss-cpu, which is not installed: {_INSTALL}")
    return faiss


def resolve_backend(name: str) -> str:
    """``auto`` -> ``faiss`` when it is installed (faster at every size measured, bench/identify_scale.py), else
    ``numpy``; ``faiss`` when it is not installed is an error."""
    if name == "auto":
        return "faiss" if faiss_or_none() is not None else "numpy"
    if name == "faiss":
        need_faiss("the faiss search backend")
    return name


@dataclass(frozen=True)
class Hits:
    """The best rows found, best first: their inner product with the query, which Rows (``part``) and which row."""

    scores: np.ndarray
    part: np.ndarray
    rows: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)


def top_rows(parts: Sequence[Rows], query: np.ndarray, m: int, *, backend: str, threads: int) -> Hits:
    """The ``m`` rows of ``parts`` with the largest inner product with ``query`` (width,), exactly; ties in score
    are ordered by (part, row). Each block is one search call; ``threads`` > 1 searches blocks in parallel."""
    query = np.ascontiguousarray(query, dtype=np.float32)
    jobs = [(i, start, view) for i, rows in enumerate(parts) for start, view in rows.filled()]
    if backend == "faiss":
        faiss = need_faiss("the faiss search backend")
        faiss.omp_set_num_threads(1)  # one thread per block; blocks go to `threads` threads below

        def search(job: tuple[int, int, np.ndarray]) -> tuple[int, np.ndarray, np.ndarray]:
            i, start, view = job
            scores, found = faiss.knn(query[None], view, min(m, len(view)), metric=faiss.METRIC_INNER_PRODUCT)
            return i, start + found[0], scores[0]
    else:
        def search(job: tuple[int, int, np.ndarray]) -> tuple[int, np.ndarray, np.ndarray]:
            i, start, view = job
            scores = view @ query
            k = min(m, len(scores))
            found = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
            return i, start + found, scores[found]

    if threads > 1 and len(jobs) > 1:
        with ThreadPoolExecutor(max_workers=min(threads, len(jobs))) as pool:
            results = list(pool.map(search, jobs))
    else:
        results = [search(job) for job in jobs]
    if not results:
        empty = np.zeros(0, np.int64)
        return Hits(np.zeros(0, np.float32), empty, empty)
    part = np.concatenate([np.full(len(r[1]), r[0], np.int64) for r in results])
    rows = np.concatenate([r[1] for r in results]).astype(np.int64)
    scores = np.concatenate([r[2] for r in results]).astype(np.float32)
    if len(scores) > m:
        keep = np.argpartition(-scores, m - 1)[:m]
        part, rows, scores = part[keep], rows[keep], scores[keep]
    order = np.lexsort((rows, part, -scores))
    return Hits(scores[order], part[order], rows[order])


class Hnsw:
    """FAISS's HNSW graph (inner product) over one vector per template, labelled by template id. FAISS's graph
    cannot remove a vector: the caller skips labels that are gone and rebuilds when too many are."""

    def __init__(self, width: int, *, links: int, ef_construction: int, ef_search: int, threads: int) -> None:
        self._faiss = need_faiss("the HNSW index")
        self._index = self._faiss.IndexHNSWFlat(width, links, self._faiss.METRIC_INNER_PRODUCT)
        self._index.hnsw.efConstruction = ef_construction
        self._ef_search = ef_search
        self._threads = threads
        self._labels = np.zeros(1024, np.int64)
        self.width = width

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def nbytes(self) -> int:
        """The vectors and the graph's links (FAISS keeps both), and the labels."""
        hnsw = self._index.hnsw
        links = hnsw.neighbors.size() * 4 + hnsw.offsets.size() * 8 + hnsw.levels.size() * 4
        return len(self) * self.width * 4 + links + self._labels.nbytes

    def add(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        start = len(self)
        if start + len(labels) > len(self._labels):
            grown = np.zeros(max(2 * len(self._labels), start + len(labels)), np.int64)
            grown[:start] = self._labels[:start]
            self._labels = grown
        self._labels[start:start + len(labels)] = labels
        self._faiss.omp_set_num_threads(self._threads)
        self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def search(self, query: np.ndarray, k: int) -> np.ndarray:
        """The labels of the ``k`` vectors the graph finds nearest (largest inner product), best first."""
        self._faiss.omp_set_num_threads(1)
        params = self._faiss.SearchParametersHNSW(efSearch=max(self._ef_search, k))
        _, found = self._index.search(np.ascontiguousarray(query, dtype=np.float32)[None], k, params=params)
        found = found[0]
        return self._labels[found[found >= 0]]
