"""Batch samplers: balanced pairs, PK batches (P classes x K samples) and N-way K-shot episodes."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Literal, NamedTuple

import numpy as np

from biometrix.core.errors import InvalidInput
from biometrix.training.data import BalancedPairBatches

log = logging.getLogger(__name__)

__all__ = ["BalancedPairBatches", "Episode", "EpisodeSampler", "PKSampler"]


def _by_class(labels: Sequence[int] | np.ndarray) -> dict[int, np.ndarray]:
    """labels (N,) -> {label: indices with that label}, labels in sorted order."""
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise InvalidInput(f"labels must be (N,), got shape {arr.shape}")
    return {int(c): np.flatnonzero(arr == c) for c in np.unique(arr)}


class _Seeded:
    """Seeding shared by the samplers: iteration ``e`` draws from ``default_rng([seed, e])``.

    Iterating twice gives the same batches until ``set_epoch`` is called (torch's DistributedSampler
    convention), so a resumed run replays exactly what an uninterrupted one would have drawn.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _rng(self) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch])


class PKSampler(_Seeded):
    """Yields ``batches_per_epoch`` index lists of P classes x K samples each (class-major order).

    Classes with a single sample (e.g. skilled forgeries under their own labels) cannot form a positive
    pair and are never one of the P classes. Classes with 2 <= n < K samples are drawn with replacement
    when ``small="replace"`` (the batch then repeats some samples) and never drawn when ``small="skip"``.
    Usable as a ``torch.utils.data.DataLoader(batch_sampler=...)``.
    """

    def __init__(self, labels: Sequence[int] | np.ndarray, *, p: int, k: int, batches_per_epoch: int,
                 seed: int = 0, small: Literal["replace", "skip"] = "replace") -> None:
        super().__init__(seed)
        if p < 2 or k < 2:
            raise InvalidInput(f"a PK batch needs p >= 2 classes and k >= 2 samples each (got p={p}, k={k})")
        if batches_per_epoch < 1:
            raise InvalidInput(f"batches_per_epoch must be >= 1, got {batches_per_epoch}")
        if small not in ("replace", "skip"):
            raise InvalidInput(f"small must be 'replace' or 'skip', got {small!r}")
        min_size = 2 if small == "replace" else k
        self.classes = {c: idx for c, idx in _by_class(labels).items() if len(idx) >= min_size}
        if len(self.classes) < p:
            raise InvalidInput(f"need at least p={p} classes with >= {min_size} samples, found {len(self.classes)}")
        self.p, self.k, self.batches_per_epoch = p, k, batches_per_epoch
        self.keys = np.array(sorted(self.classes))

    def __len__(self) -> int:
        return self.batches_per_epoch

    def __iter__(self) -> Iterator[list[int]]:
        rng = self._rng()
        for _ in range(self.batches_per_epoch):
            batch: list[int] = []
            for c in rng.choice(self.keys, size=self.p, replace=False):
                idx = self.classes[int(c)]
                batch.extend(int(i) for i in rng.choice(idx, size=self.k, replace=len(idx) < self.k))
            yield batch


class Episode(NamedTuple):
    """One N-way K-shot episode: support (N*K,) and query (N*Q,) indices, class-major; classes (N,) the
    original labels. Within the episode class ``classes[c]`` is label ``c``."""

    support: np.ndarray
    query: np.ndarray
    classes: np.ndarray

    @property
    def support_labels(self) -> np.ndarray:
        """(N*K,) episode labels 0..N-1 of the support indices."""
        return np.repeat(np.arange(len(self.classes)), len(self.support) // len(self.classes))

    @property
    def query_labels(self) -> np.ndarray:
        """(N*Q,) episode labels 0..N-1 of the query indices."""
        return np.repeat(np.arange(len(self.classes)), len(self.query) // len(self.classes))


class EpisodeSampler(_Seeded):
    """Yields ``episodes`` N-way K-shot episodes with Q queries per class, support and query disjoint.

    Only classes with at least K + Q samples take part (others are skipped, logged once); N classes are
    drawn without replacement, then K + Q distinct samples of each.
    """

    def __init__(self, labels: Sequence[int] | np.ndarray, *, n_way: int, k_shot: int, n_query: int,
                 episodes: int, seed: int = 0) -> None:
        super().__init__(seed)
        if n_way < 2 or k_shot < 1 or n_query < 1 or episodes < 1:
            raise InvalidInput(f"need n_way >= 2, k_shot >= 1, n_query >= 1, episodes >= 1 "
                               f"(got {n_way}, {k_shot}, {n_query}, {episodes})")
        by = _by_class(labels)
        self.classes = {c: idx for c, idx in by.items() if len(idx) >= k_shot + n_query}
        if len(self.classes) < len(by):
            log.info("episodes skip %d classes with fewer than %d samples", len(by) - len(self.classes),
                     k_shot + n_query)
        if len(self.classes) < n_way:
            raise InvalidInput(f"need at least {n_way} classes with >= {k_shot + n_query} samples, "
                               f"found {len(self.classes)}")
        self.n_way, self.k_shot, self.n_query, self.episodes = n_way, k_shot, n_query, episodes
        self.keys = np.array(sorted(self.classes))

    def __len__(self) -> int:
        return self.episodes

    def __iter__(self) -> Iterator[Episode]:
        rng = self._rng()
        for _ in range(self.episodes):
            classes = rng.choice(self.keys, size=self.n_way, replace=False)
            picks = [rng.choice(self.classes[int(c)], size=self.k_shot + self.n_query, replace=False)
                     for c in classes]
            support = np.concatenate([x[: self.k_shot] for x in picks])
            query = np.concatenate([x[self.k_shot :] for x in picks])
            yield Episode(support=support, query=query, classes=classes)
