"""The service's identification indexes: per modality, the GalleryIndex of the model in use, built from the store's
decrypted templates on first use (or ``Biometrix.prepare_identify``) and kept current from the store's change
counter: after each write of this service, and before every search, so that what another process sharing the
database enrolled, replaced or erased meanwhile is in the next answer. Memory only: nothing is written to disk."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import numpy as np

from biometrix.core.types import Candidate, Modality, Threshold
from biometrix.index import GalleryIndex, IndexOptions
from biometrix.runtime.model_card import ModelCard
from biometrix.store import EnrollmentStore, GalleryRows

log = logging.getLogger("biometrix.service")

#: Templates decrypted per batch while building (about 5 MB of 256-d references: little memory held transiently).
_BATCH = 1024


@dataclass(frozen=True)
class IndexKey:
    """What an index answers for: a model of a modality, with its card's distance and aggregate."""

    modality: Modality
    model_id: str
    distance: str
    aggregate: str

    @classmethod
    def of(cls, card: ModelCard) -> IndexKey:
        return cls(Modality(card.modality), card.model_id, card.distance, card.aggregate)


@dataclass
class _Held:
    key: IndexKey
    store: EnrollmentStore
    index: GalleryIndex
    version: int


class IdentifyIndexes:
    """One GalleryIndex per modality (the model in use; another model's is dropped), safe to share between
    threads (one search or update at a time)."""

    def __init__(self, options: IndexOptions | None = None) -> None:
        self.options = options or IndexOptions()
        self._held: dict[Modality, _Held] = {}
        self._lock = threading.RLock()

    def identify(self, store: EnrollmentStore, card: ModelCard, probe: np.ndarray, threshold: Threshold, *,
                 top_k: int) -> tuple[list[Candidate], int]:
        """The Matcher's top_k over the store's templates of ``card``'s model, and the gallery size."""
        with self._lock:
            index = self._current(store, IndexKey.of(card))
            return index.identify(probe, threshold, top_k=top_k), len(index)

    def prepare(self, store: EnrollmentStore, card: ModelCard) -> GalleryIndex:
        """The index of ``card``'s model, built now if it is not held, caught up if it is."""
        with self._lock:
            return self._current(store, IndexKey.of(card))

    def refresh(self, store: EnrollmentStore) -> None:
        """Catch every held index up with the store (after a write of this service)."""
        with self._lock:
            for held in list(self._held.values()):
                self._current(store, held.key)

    def clear(self) -> None:
        """Drop every index (the store was closed)."""
        with self._lock:
            self._held.clear()

    def _current(self, store: EnrollmentStore, key: IndexKey) -> GalleryIndex:
        held = self._held.get(key.modality)
        if held is None or held.key != key or held.store is not store:
            self._held.pop(key.modality, None)  # free the old index before building the new one
            held = self._held[key.modality] = self._build(store, key)
            return held.index
        if store.gallery_version() == held.version:
            return held.index
        delta = store.gallery_changes(held.version, modality=key.modality, model_id=key.model_id)
        if not delta.complete or len(delta.touched) > max(len(held.index), 1000):
            self._held.pop(key.modality, None)
            held = self._held[key.modality] = self._build(store, key)
            return held.index
        held.index.remove(delta.touched)
        _add(held.index, delta.rows)
        held.version = delta.version
        return held.index

    def _build(self, store: EnrollmentStore, key: IndexKey) -> _Held:
        start = time.perf_counter()
        index = GalleryIndex(modality=key.modality, model_id=key.model_id, distance=key.distance,
                             aggregate=key.aggregate, options=self.options)
        version = store.read_gallery(modality=key.modality, model_id=key.model_id,
                                     consume=lambda rows: _add(index, rows), batch=_BATCH)
        log.info("identification index of %s (%s): %d templates, %d references, %.1f MB, built in %.2f s (%s)",
                 key.model_id, key.modality.value, len(index), index.n_references, index.nbytes / 1e6,
                 time.perf_counter() - start, index.backend if self.options.search == "exact" else "hnsw")
        return _Held(key=key, store=store, index=index, version=version)


def _add(index: GalleryIndex, rows: GalleryRows) -> None:
    index.add(rows.subject_ids, rows.template_ids, rows.counts, rows.vectors)
