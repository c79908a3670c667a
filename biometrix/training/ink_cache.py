"""Training ink masks as one compact file per data set (bit-packed, compressed), for a device run's 64 MiB tree."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from biometrix.core.errors import InvalidInput
from biometrix.evaluation.datasets import SignatureRecord

#: Where a data root keeps the cache: ``<root>/ink_cache/<source>.npz``.
CACHE_DIR = "ink_cache"


def cache_path(root: Path, source: str) -> Path:
    """The cache file of one data set under a data root."""
    return root / CACHE_DIR / f"{source}.npz"


def write_ink_cache(path: Path, samples: Sequence[SignatureRecord]) -> int:
    """Write the samples' records and exact ink masks (``.ink``, bool) in their order; returns the file's bytes."""
    if not samples:
        raise InvalidInput(f"no samples to cache in {path}")
    masks = [np.asarray(s.ink, dtype=bool) for s in samples]  # type: ignore[attr-defined]
    packed = [np.packbits(m.ravel()) for m in masks]
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        source=np.array(sorted({s.source for s in samples})),
        records=np.array([[s.subject, s.index, int(s.genuine)] for s in samples], dtype=np.int32),
        shapes=np.array([m.shape for m in masks], dtype=np.int32),
        offsets=np.cumsum([0] + [len(p) for p in packed]).astype(np.int64),
        bits=np.concatenate(packed),
    )
    return path.stat().st_size


def read_ink_cache(path: Path, source: str, subjects: Sequence[int]) -> list[tuple[SignatureRecord, np.ndarray]]:
    """(record, ink mask) of the given subjects, in the cached (archive) order; InvalidInput for a file of another
    data set or one lacking a subject asked for."""
    with np.load(path) as z:
        if list(z["source"]) != [source]:
            raise InvalidInput(f"{path} caches {', '.join(z['source'])}, not {source}")
        records, shapes, offsets, bits = z["records"], z["shapes"], z["offsets"], z["bits"]
    missing = sorted(set(subjects) - set(records[:, 0].tolist()))
    if missing:
        raise InvalidInput(f"{path} lacks {source} subjects {missing}: stage them again (bench/device/stage_data.sh)")
    wanted = set(subjects)
    out = []
    for n, (subject, index, genuine) in enumerate(records.tolist()):
        if subject in wanted:
            h, w = shapes[n]
            ink = np.unpackbits(bits[offsets[n]:offsets[n + 1]], count=int(h * w)).reshape(h, w).astype(bool)
            out.append((SignatureRecord(source, subject, index, bool(genuine)), ink))
    return out
