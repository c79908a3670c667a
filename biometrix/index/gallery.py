"""GalleryIndex: one model's templates in memory, answering 1:N exactly as ``core.matcher.Matcher.identify``.

A fast inner-product search (float32, FAISS or numpy) over the references (``min``) or one vector per template
(``mean``: the mean of its normalised references; ``centroid``: its prototype; ``normalized``: the mean and the
reference spread folded into one vector) shortlists every subject whose distance can be within the search's
rounding bound of the k-th best; the Matcher then scores that shortlist from the same float32 references the
store's templates hold, so the candidates and their distances are the Matcher's over the whole gallery (to the
last bit of float64 rounding, which already differs with the gallery's size and order in the Matcher itself).
The HNSW option proposes subjects from a graph over one vector per template instead: approximate, re-scored the
same way. Nothing here writes to disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any, cast

import numpy as np

from biometrix.core.errors import InvalidInput, ModelMismatch
from biometrix.core.matcher import AGGREGATES, MIN_SPREAD, Matcher
from biometrix.core.templates import l2_normalize, prototype, row_norms
from biometrix.core.thresholds import check_model
from biometrix.core.types import Candidate, Modality, SubjectId, Template, Threshold
from biometrix.index.rows import Rows
from biometrix.index.search import BACKENDS, Hnsw, resolve_backend, top_rows

SEARCHES = ("exact", "hnsw")
_EPS32 = 2.0 ** -24
_NORMALIZE_ROWS = 65536  # rows normalised at a time while loading


@dataclass(frozen=True)
class IndexOptions:
    """How an index searches. ``search``: ``exact`` (default) or ``hnsw`` (approximate; needs faiss-cpu).
    ``backend`` of the exact search: ``auto`` (faiss-cpu when installed, else numpy), ``faiss`` or ``numpy``.
    ``threads``: threads one search uses (blocks of 64 MB searched in parallel; 1 measured fastest on a busy
    2-core machine, bench/identify_scale.py). HNSW: ``links`` per node (FAISS's M), ``ef_construction``,
    ``ef_search``, and ``candidates``, the subjects the graph proposes for exact re-scoring."""

    search: str = "exact"
    backend: str = "auto"
    threads: int = 1
    links: int = 32
    ef_construction: int = 80
    ef_search: int = 64
    candidates: int = 32

    def __post_init__(self) -> None:
        if self.search not in SEARCHES:
            raise InvalidInput(f"unknown index search {self.search!r}; known: {', '.join(SEARCHES)}")
        if self.backend not in BACKENDS:
            raise InvalidInput(f"unknown index backend {self.backend!r}; known: {', '.join(BACKENDS)}")
        for name in ("threads", "links", "ef_construction", "ef_search", "candidates"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidInput(f"index option {name} must be a positive integer, got {value!r}")


class _Group:
    """The templates with ``k`` references: their rows in units of k (``refs``), one search vector each
    (``keys``; not for ``min``), and who they are; a template's place is its unit number."""

    def __init__(self, k: int, dim: int, key_width: int | None) -> None:
        self.k = k
        self.refs = Rows(dim, unit=k)
        self.keys = None if key_width is None else Rows(key_width)
        self.subject_ids: list[SubjectId] = []
        self.template_ids: list[int] = []


class GalleryIndex:
    """The templates of one (modality, model) in memory, kept current with ``add`` and ``remove``, searched with
    ``identify``. ``distance`` and ``aggregate`` are the model card's; an index answers only for them. Not
    thread-safe: its owner serialises calls."""

    def __init__(self, *, modality: Modality, model_id: str, distance: str, aggregate: str,
                 options: IndexOptions | None = None) -> None:
        if aggregate not in AGGREGATES:
            raise InvalidInput(f"unknown aggregate {aggregate!r}; known: {', '.join(AGGREGATES)}")
        self.modality = Modality(modality)
        self.model_id = model_id
        self.distance = distance
        self.aggregate = aggregate
        self.options = options or IndexOptions()
        self._backend = resolve_backend(self.options.backend)
        self.dim: int | None = None
        self._groups: dict[int, _Group] = {}
        self._where: dict[int, tuple[int, int]] = {}  # template id -> (k, unit)
        self._max_inv_spread = 1.0
        self._hnsw: Hnsw | None = None

    # --- contents ----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, template_id: object) -> bool:
        return template_id in self._where

    @property
    def backend(self) -> str:
        return self._backend

    @property
    def nbytes(self) -> int:
        """Bytes of vectors held: references, search vectors, the HNSW graph (ids and bookkeeping not counted)."""
        total = sum(g.refs.nbytes + (g.keys.nbytes if g.keys is not None else 0) for g in self._groups.values())
        return total + (self._hnsw.nbytes if self._hnsw is not None else 0)

    @property
    def n_references(self) -> int:
        return sum(g.refs.n for g in self._groups.values())

    def add(self, subject_ids: tuple[str, ...], template_ids: np.ndarray, counts: np.ndarray,
            vectors: np.ndarray) -> None:
        """Add templates: ``vectors`` (sum(counts), D) are their references as stored, template after template
        (each is L2-normalised here, as ``make_template`` does). A template id already held is replaced."""
        counts = np.asarray(counts, dtype=np.int64)
        vectors = np.asarray(vectors, dtype=np.float32)
        if len(subject_ids) != len(template_ids) or len(counts) != len(template_ids) \
                or (len(counts) and counts.min() < 1) or int(counts.sum()) != len(vectors):
            raise InvalidInput("templates to add need one id, subject and positive count each, and count rows")
        if not len(counts):
            return
        if vectors.ndim != 2 or (self.dim is not None and vectors.shape[1] != self.dim):
            raise ModelMismatch(f"embeddings of dimension {vectors.shape[-1]} do not fit this {self.dim}-dimensional "
                                f"index of {self.model_id}")
        self.dim = int(vectors.shape[1])
        ids = np.asarray(template_ids).tolist()
        if not self._where.keys().isdisjoint(ids):
            self.remove([t for t in ids if t in self._where])
        # each reference is divided by its norm as it is written into the index's rows: l2_normalize's values
        # (core.templates.row_norms), without a normalised copy in between
        norms = np.empty((len(vectors), 1), np.float32)
        for start in range(0, len(vectors), _NORMALIZE_ROWS):
            norms[start:start + _NORMALIZE_ROWS] = row_norms(vectors[start:start + _NORMALIZE_ROWS])
        if bool((norms <= 1e-12).any()):
            raise InvalidInput("cannot normalise a zero embedding")
        ends = np.cumsum(counts)
        for k in np.unique(counts):
            chosen = np.flatnonzero(counts == k)
            if len(chosen) == len(counts):
                self._add_group(int(k), vectors, norms, subject_ids, ids)
            else:
                rows = (ends[chosen] - k)[:, None] + np.arange(k)
                self._add_group(int(k), vectors[rows].reshape(-1, self.dim), norms[rows].reshape(-1, 1),
                                [subject_ids[i] for i in chosen], [ids[i] for i in chosen])

    def _add_group(self, k: int, raw: np.ndarray, norms: np.ndarray, subject_ids: Sequence[str],
                   template_ids: list[int]) -> None:
        """Add templates of ``k`` references each: ``raw`` rows as stored, ``norms`` their L2 norms."""
        assert self.dim is not None
        rows, divisors = (raw, norms) if self.aggregate == "min" and self.options.search == "exact" \
            else (raw / norms, None)  # the search vectors and the HNSW graph are made from the normalised rows
        keys = self._keys(rows.reshape(-1, k, self.dim)) if divisors is None else None
        group = self._groups.get(k)
        if group is None:
            group = self._groups[k] = _Group(k, self.dim, None if keys is None else keys.shape[1])
        first = group.refs.units
        group.refs.append(rows, divisors=divisors)
        if group.keys is not None and keys is not None:
            group.keys.append(keys)
        group.subject_ids.extend(cast(Sequence[SubjectId], subject_ids))  # a NewType of str: nothing to convert
        group.template_ids.extend(template_ids)
        self._where.update(zip(template_ids, zip(repeat(k), range(first, first + len(template_ids))), strict=True))
        if self.options.search == "hnsw":
            self._hnsw_add(rows.reshape(-1, k, self.dim), keys, np.asarray(template_ids, dtype=np.int64))

    def _keys(self, refs: np.ndarray) -> np.ndarray | None:
        """One search vector per template (n, K, D) -> (n, width): none for ``min`` (its references are searched)."""
        if self.aggregate == "min":
            return None
        mean = refs.mean(axis=1, dtype=np.float32)
        if self.aggregate == "centroid":
            return l2_normalize(mean)
        if self.aggregate == "mean":
            return mean
        spread = _spreads(refs)  # normalized: -(distance) = q . (mean / spread) - 1 / spread
        self._max_inv_spread = max(self._max_inv_spread, float((1.0 / spread).max()))
        return np.concatenate([mean / spread[:, None], -1.0 / spread[:, None]], axis=1).astype(np.float32)

    def _hnsw_add(self, refs: np.ndarray, keys: np.ndarray | None, template_ids: np.ndarray) -> None:
        # min and normalized: the graph links the templates' prototypes (an inner-product graph over vectors of
        # very different norms, as the normalized keys are, finds poorly); the shortlist is re-scored exactly
        if keys is None or self.aggregate == "normalized":
            keys = l2_normalize(refs.mean(axis=1, dtype=np.float32))
        vectors = keys
        if self._hnsw is None:
            o = self.options
            self._hnsw = Hnsw(vectors.shape[1], links=o.links, ef_construction=o.ef_construction,
                              ef_search=o.ef_search, threads=o.threads)
        self._hnsw.add(vectors, np.asarray(template_ids, dtype=np.int64))

    def remove(self, template_ids: Any) -> int:
        """Remove the templates with these ids (those not held are ignored); returns how many were removed."""
        removed = 0
        for t in template_ids:
            where = self._where.pop(int(t), None)
            if where is None:
                continue
            k, unit = where
            group = self._groups[k]
            moved = group.refs.remove_unit(unit)
            if group.keys is not None:
                group.keys.remove_unit(unit)
            if moved is not None:
                group.subject_ids[unit] = group.subject_ids[moved]
                group.template_ids[unit] = group.template_ids[moved]
                self._where[group.template_ids[unit]] = (k, unit)
            group.subject_ids.pop()
            group.template_ids.pop()
            if not group.template_ids:
                del self._groups[k]
            removed += 1
        if self._hnsw is not None and len(self._hnsw) > 2 * max(len(self), 1024):
            self._rebuild_hnsw()  # more than half the graph's vectors are gone
        return removed

    def _rebuild_hnsw(self) -> None:
        self._hnsw = None
        for k, group in self._groups.items():
            refs = np.concatenate([v for _, v in group.refs.filled()]).reshape(-1, k, group.refs.width)
            keys = None if group.keys is None else np.concatenate([v for _, v in group.keys.filled()])
            self._hnsw_add(refs, keys, np.asarray(group.template_ids, dtype=np.int64))

    def template(self, template_id: int) -> Template:
        """The held template as the store's ``gallery()`` returns it (bit for bit)."""
        k, unit = self._where[template_id]
        group = self._groups[k]
        refs = group.refs.unit_rows(unit)
        return Template(subject_id=group.subject_ids[unit], modality=self.modality, model_id=self.model_id,
                        references=refs, centroid=prototype(refs))

    # --- search ------------------------------------------------------------------------------------

    def identify(self, probe: np.ndarray, threshold: Threshold, *, top_k: int = 5) -> list[Candidate]:
        """What ``Matcher(threshold, aggregate=...).identify(probe, gallery, top_k=top_k)`` returns over the
        templates held (the HNSW option: over the subjects its graph proposes)."""
        matcher = Matcher(threshold, aggregate=self.aggregate)
        if top_k < 1:
            raise InvalidInput(f"top_k must be at least 1, got {top_k}")
        if not self._where:
            return []
        check_model(threshold, self.model_id)
        p = np.asarray(probe, dtype=np.float32).reshape(1, -1)
        if p.shape[1] != self.dim:
            first = min(s for g in self._groups.values() for s in g.subject_ids)
            raise ModelMismatch(f"probe has dimension {p.shape[1]}, template of {first!r} has {self.dim}")
        matcher.distance.pairwise(p, p)  # the Matcher's refusals: NaN or infinite values, a zero vector (cosine)
        if threshold.distance != self.distance or self.distance != "cosine" or top_k >= len(self._where):
            chosen = list(self._where)  # the search's bound holds for cosine only: score everyone
        elif self._hnsw is not None:
            chosen = self._proposed(p[0], top_k)
        else:
            chosen = self._shortlist(p[0], top_k)
        gallery = sorted((self.template(t) for t in chosen), key=lambda t: t.subject_id)
        return matcher.identify(probe, gallery, top_k=top_k)

    def _query(self, probe: np.ndarray, *, augmented: bool = True) -> np.ndarray:
        q = np.asarray(probe, dtype=np.float64)
        q = (q / np.linalg.norm(q)).astype(np.float32)
        return np.append(q, np.float32(1.0)) if augmented and self.aggregate == "normalized" else q

    def _bound(self) -> float:
        """How far a float32 search score can be from the Matcher's float64 one: the rounding of a dot product
        of D+1 terms of unit-norm vectors and of a mean of K of them (2 (D + K + 1) u, u = 2^-24), and 1e-6 for
        the normalisations; the normalized aggregate's vectors are scaled by up to 1 / spread."""
        assert self.dim is not None
        kmax = max(self._groups, default=1)
        base = 2 * (self.dim + kmax + 1) * _EPS32 + 1e-6
        return base * (1 + 2 * self._max_inv_spread) if self.aggregate == "normalized" else base

    def _parts(self) -> list[tuple[_Group, Rows]]:
        return [(g, g.refs if g.keys is None else g.keys) for g in self._groups.values()]

    def _shortlist(self, probe: np.ndarray, top_k: int) -> list[int]:
        """Template ids of every subject whose search score is within twice the bound of the k-th best subject's:
        the true top k (ties included) are among them."""
        parts = self._parts()
        query = self._query(probe)
        k = min(top_k, len(self._where))
        total = sum(rows.n for _, rows in parts)
        per_subject = max(g.k for g in self._groups.values()) if self.aggregate == "min" else 1
        m = min(total, 4 * k * per_subject + 64)  # enough, nearly always, for one pass (a longer heap costs little)
        margin = 2 * self._bound()
        while True:
            hits = top_rows([rows for _, rows in parts], query, m, backend=self._backend,
                            threads=self.options.threads)
            best: dict[int, float] = {}
            for score, part, row in zip(hits.scores.tolist(), hits.part.tolist(), hits.rows.tolist(), strict=True):
                group = parts[part][0]
                tid = group.template_ids[row // group.k if group.keys is None else row]
                best.setdefault(tid, score)
            if len(best) >= k:
                cutoff = sorted(best.values(), reverse=True)[k - 1] - margin
                if m >= total or hits.scores[-1] < cutoff:
                    return [t for t, s in best.items() if s >= cutoff]
            elif m >= total:
                return list(best)
            m = min(total, 4 * m)

    def _proposed(self, probe: np.ndarray, top_k: int) -> list[int]:
        """Template ids the HNSW graph proposes (skipping those removed since it was built), narrowed as the exact
        search narrows its own: to those whose search score is within the bound of the k-th best proposed."""
        assert self._hnsw is not None
        wanted = max(self.options.candidates, 2 * top_k)
        asked = wanted * len(self._hnsw) // max(len(self), 1) + 8  # as many more as the graph holds removed ones
        found = self._hnsw.search(self._query(probe, augmented=False), min(len(self._hnsw), asked))
        alive = list(dict.fromkeys(int(t) for t in found if int(t) in self._where))[:wanted]
        if not alive:
            return alive
        # the exact search's scores of the proposed subjects, and its margin: only those that can be in the top k
        query = self._query(probe)
        scores = np.empty(len(alive), np.float32)
        for i, t in enumerate(alive):
            k, unit = self._where[t]
            group = self._groups[k]
            vectors = group.refs.unit_rows(unit) if group.keys is None else group.keys.unit_rows(unit)
            scores[i] = (vectors @ query).max()
        cutoff = np.sort(scores)[::-1][min(top_k, len(alive)) - 1] - 2 * self._bound()
        return [t for t, s in zip(alive, scores.tolist(), strict=True) if s >= cutoff]


def _spreads(refs: np.ndarray) -> np.ndarray:
    """``core.matcher.reference_spread`` (cosine) of each template of (n, K, D) references, K >= 2, in float64."""
    n, k, _ = refs.shape
    if k < 2:
        raise InvalidInput("the 'normalized' aggregate needs at least 2 references per subject")
    unit = refs.astype(np.float64)
    unit /= np.linalg.norm(unit, axis=2, keepdims=True)
    dist = np.clip(1.0 - np.einsum("nkd,njd->nkj", unit, unit), 0.0, 2.0)
    upper = np.triu_indices(k, 1)
    return np.maximum(dist[:, upper[0], upper[1]].mean(axis=1), MIN_SPREAD)
