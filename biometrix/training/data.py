"""Signature data sets (CEDAR and SigComp2011 Dutch scans, SVC2004 pen recordings), subject-disjoint splits,
augmentation, samplers."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from biometrix.core.errors import InvalidInput
from biometrix.evaluation.datasets import (  # noqa: F401  (the splits are re-exported for configs)
    CEDAR_HELDOUT,
    CEDAR_TRAIN,
    CEDAR_VALIDATION,
    DUTCH,
    DUTCH_DEVELOPMENT,
    DUTCH_HELDOUT,
    SVC_HELDOUT,
    SVC_TRAIN,
    SVC_VALIDATION,
    SignatureRecord,
    check_subjects,
    default_data_root,
    iter_cedar,
    iter_sigcomp2011_dutch,
    iter_svc2004,
)
from biometrix.preprocess.signature import ink_mask, normalize
from biometrix.training.ink_cache import cache_path, read_ink_cache

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignatureSample(SignatureRecord):
    """A signature record with its cropped ink mask (bool (h, w)), ready for augmentation."""

    ink: np.ndarray = field(default_factory=lambda: np.zeros((1, 1), bool), compare=False, repr=False)


def _load(pairs: Iterator[tuple[SignatureRecord, np.ndarray]], desc: str, progress: bool) -> list[SignatureSample]:
    return [
        SignatureSample(r.source, r.subject, r.index, r.genuine, ink=ink_mask(img))
        for r, img in tqdm(pairs, desc=desc, disable=not progress, leave=False)
    ]


def _cached(root: Path, source: str, subjects: Sequence[int]) -> list[SignatureSample] | None:
    """The samples from ``<root>/ink_cache/<source>.npz`` when the root has one (a device run's staged data), else
    None: the masks are those the archives give, bit for bit, in the same order (``training.ink_cache``)."""
    path = cache_path(root, source)
    if not path.is_file():
        return None
    return [SignatureSample(r.source, r.subject, r.index, r.genuine, ink=ink)
            for r, ink in read_ink_cache(path, source, subjects)]


def load_cedar(root: Path, subjects: Sequence[int], *, progress: bool = True) -> list[SignatureSample]:
    """CEDAR genuine and skilled-forgery scans of the given signers, as cropped ink masks."""
    cached = _cached(root, "cedar", subjects)
    return cached if cached is not None else _load(iter_cedar(root, subjects), "CEDAR", progress)


def load_sigcomp2011_dutch(root: Path, writers: Sequence[int], *, progress: bool = True) -> list[SignatureSample]:
    """SigComp2011 Dutch genuine and skilled-forgery scans of the given development writers, as cropped ink masks;
    InvalidInput for a writer the set lacks or one of the held-out writers (049-069), which no training sees."""
    check_subjects(DUTCH, writers)
    held = sorted(set(writers) & set(DUTCH_HELDOUT))
    if held:
        raise InvalidInput(f"SigComp2011 Dutch writers {held[0]:03d}-{held[-1]:03d} are held out "
                           f"(../shared/design/EVALUATION.md): train and validate on 001-048 only")
    cached = _cached(root, DUTCH, writers)
    return cached if cached is not None else _load(iter_sigcomp2011_dutch(root, writers), "SigComp2011 Dutch", progress)


def load_svc2004(root: Path, users: Sequence[int], *, progress: bool = True) -> list[SignatureSample]:
    """SVC2004 pen recordings of the given users, rendered by the app's renderer, as cropped ink masks."""
    cached = _cached(root, "svc2004", users)
    return cached if cached is not None else _load(iter_svc2004(root, users), "SVC2004", progress)


#: Offsets of the synthetic signers made by ``mirror_identities`` (subject + offset * k).
MIRROR_OFFSET = 1000


def mirror_identities(samples: Sequence[SignatureSample], n: int) -> list[SignatureSample]:
    """The samples plus up to 3 mirrored copies of every signer, each a new signer of its own.

    A signer's signatures flipped left-right (k=1), upside down (k=2) or turned by 180 degrees (k=3)
    are still handwriting with the same stroke quality, and their skilled forgeries stay forgeries of
    them, but nobody signs like that: each copy is a new identity (subject + 1000 k). With only a few
    dozen training signers this multiplies the identities the encoder must tell apart. Training only.
    """
    if not 1 <= n <= 4:
        raise InvalidInput(f"mirror_identities takes 1 to 4 variants, got {n}")
    axes: tuple[int | tuple[int, int], ...] = (1, 0, (0, 1))  # left-right, upside down, 180 degrees
    out = list(samples)
    for k, axis in enumerate(axes[: n - 1], start=1):
        out.extend(
            SignatureSample(s.source, s.subject + MIRROR_OFFSET * k, s.index, s.genuine,
                            ink=np.ascontiguousarray(np.flip(s.ink, axis=axis)))
            for s in samples
        )
    return out


#: Offset of the synthetic signers made by ``stretch_identities`` (subject + offset * j for the j-th factor);
#: above every mirrored subject, so the two can be combined.
STRETCH_OFFSET = 10_000


def stretch_identities(samples: Sequence[SignatureSample], factors: Sequence[float]) -> list[SignatureSample]:
    """The samples plus one copy of every signer per factor, its ink stretched horizontally by it, each a new signer.

    A signature drawn 0.7 or 1.4 times as wide keeps its letters, its stroke quality and its skilled forgeries
    (stretched alike), but its proportions are no longer the signer's: a near miss of the signer, as a skilled
    forgery is. The augmentation's small scale and shear changes teach the encoder to ignore what a signer varies;
    these copies, far outside that range, ask it to tell proportions apart. Thin strokes survive the narrowing
    (area interpolation, any covered pixel kept). Training only.
    """
    for f in factors:
        if not (0.25 <= f <= 4.0 and abs(np.log(f)) >= np.log(1.15)):
            raise InvalidInput(f"stretch_identities factors must be in [0.25, 4], at most 0.87 or at least 1.15 "
                               f"(a stretch a signer's own variation does not reach), got {f}")
    out = list(samples)
    for j, f in enumerate(factors, start=1):
        out.extend(SignatureSample(s.source, s.subject + STRETCH_OFFSET * j, s.index, s.genuine,
                                   ink=stretch(s.ink, f)) for s in samples)
    return out


def stretch(ink: np.ndarray, factor: float) -> np.ndarray:
    """An ink mask ``factor`` times as wide (the height kept)."""
    h, w = ink.shape
    wide = cv2.resize(ink.astype(np.float32), (max(1, round(w * factor)), h), interpolation=cv2.INTER_AREA)
    return wide > 0.25


class Augmenter:
    """Random small affine warps and stroke-width changes of an ink mask (training only)."""

    def __init__(self, *, rotate_deg: float = 6.0, scale: float = 0.08, shear: float = 0.1,
                 width_change: float = 0.3) -> None:
        self.rotate_deg, self.scale, self.shear, self.width_change = rotate_deg, scale, shear, width_change

    def __call__(self, ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        h, w = ink.shape
        ang = np.deg2rad(rng.uniform(-self.rotate_deg, self.rotate_deg))
        sx = 1 + rng.uniform(-self.scale, self.scale)
        sy = sx * (1 + rng.uniform(-self.scale, self.scale))
        sh = rng.uniform(-self.shear, self.shear)
        a = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]]) @ np.array(
            [[sx, sh * sx], [0, sy]]
        )
        corners = np.array([[0, 0], [w, 0], [0, h], [w, h]], dtype=np.float64) @ a.T
        lo, hi = corners.min(0), corners.max(0)
        m = np.hstack([a, -lo[:, None]])
        size = (int(np.ceil(hi[0] - lo[0])) + 1, int(np.ceil(hi[1] - lo[1])) + 1)
        out = cv2.warpAffine(ink.astype(np.uint8) * 255, m, size, flags=cv2.INTER_LINEAR) > 127
        r = rng.uniform()
        if r < self.width_change / 2:
            out = cv2.dilate(out.astype(np.uint8), np.ones((2, 2), np.uint8)) > 0
        elif r < self.width_change and out.sum() > 400:
            eroded = cv2.erode(out.astype(np.uint8), np.ones((2, 2), np.uint8)) > 0
            if eroded.sum() > 0.4 * out.sum():
                out = eroded
        if not out.any():
            return ink
        rows, cols = np.flatnonzero(out.any(1)), np.flatnonzero(out.any(0))
        return out[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def to_tensor_batch(masks: Sequence[np.ndarray], *, height: int, width: int) -> np.ndarray:
    """Cropped ink masks -> float32 (N, 1, height, width) encoder input."""
    return np.stack([normalize(m, height=height, width=width) for m in masks])[:, None]


@dataclass(frozen=True)
class PairBatch:
    """Indices into a batch of images plus pair labels y (0 = same signer genuine, 1 = dissimilar)."""

    images: list[int]  # sample indices into the data set, one per image in the batch
    left: np.ndarray
    right: np.ndarray
    y: np.ndarray
    skilled: np.ndarray  # True where the dissimilar pair is genuine vs a skilled forgery


class BalancedPairBatches:
    """PK-style batches with balanced pairs inside them.

    Each batch takes ``signers`` subjects (all from one data set when ``same_source``), ``genuine``
    genuine and ``forgeries`` skilled forgeries of each. Pairs formed within the batch: every
    genuine-genuine pair of one signer (similar, y=0), and an equal number of dissimilar pairs (y=1),
    half genuine-vs-skilled-forgery of the same signer and half genuine-vs-genuine of two different
    signers. Encoding each image once and comparing it in several pairs is what makes CPU training
    affordable.
    """

    def __init__(self, samples: Sequence[SignatureSample], *, signers: int = 8, genuine: int = 4,
                 forgeries: int = 2, batches_per_epoch: int = 100, seed: int = 0,
                 same_source: bool = True) -> None:
        if signers < 2 or genuine < 2:
            raise InvalidInput(f"a pair batch needs at least 2 signers and 2 genuine samples of each "
                               f"(got signers={signers}, genuine={genuine})")
        self.samples = samples
        self.signers, self.genuine, self.forgeries = signers, genuine, forgeries
        self.batches_per_epoch = batches_per_epoch
        self.rng = np.random.default_rng(seed)
        by: dict[str, tuple[list[int], list[int]]] = {}
        for i, s in enumerate(samples):
            by.setdefault(s.key, ([], []))[0 if s.genuine else 1].append(i)
        self.by_subject = {k: v for k, v in by.items() if len(v[0]) >= genuine}
        if len(self.by_subject) < signers:
            raise InvalidInput(f"need at least {signers} subjects with {genuine} genuine samples each")
        self.keys = sorted(self.by_subject)
        self.same_source = same_source
        self.sources = sorted({k.split(":", 1)[0] for k in self.keys})

    def __len__(self) -> int:
        return self.batches_per_epoch

    def __iter__(self) -> Iterator[PairBatch]:
        for _ in range(self.batches_per_epoch):
            yield self.sample()

    def sample(self) -> PairBatch:
        rng = self.rng
        pool = np.arange(len(self.keys))
        if self.same_source and len(self.sources) > 1:
            # Signers of one data set per batch: a scan against a pen rendering is too easy a negative.
            weights = np.array([sum(k.startswith(src + ":") for k in self.keys) for src in self.sources], float)
            src = self.sources[rng.choice(len(self.sources), p=weights / weights.sum())]
            pool = np.array([i for i, k in enumerate(self.keys) if k.startswith(src + ":")])
            if pool.size < self.signers:
                pool = np.arange(len(self.keys))
        chosen = rng.choice(pool, size=self.signers, replace=False)
        images: list[int] = []
        gen_pos: list[list[int]] = []
        forg_pos: list[list[int]] = []
        for c in chosen:
            g, f = self.by_subject[self.keys[c]]
            gi = rng.choice(g, size=self.genuine, replace=False)
            fi = rng.choice(f, size=min(self.forgeries, len(f)), replace=False) if f else []
            gen_pos.append(list(range(len(images), len(images) + len(gi))))
            images.extend(int(x) for x in gi)
            forg_pos.append(list(range(len(images), len(images) + len(fi))))
            images.extend(int(x) for x in fi)
        pos = [(a, b) for g in gen_pos for i, a in enumerate(g) for b in g[i + 1 :]]
        skilled = [(a, b) for g, f in zip(gen_pos, forg_pos, strict=True) for a in g for b in f]
        random_neg = [
            (a, b)
            for i, g in enumerate(gen_pos)
            for j, h in enumerate(gen_pos)
            if i < j
            for a in g
            for b in h
        ]
        n_neg = len(pos)
        n_skilled = min(len(skilled), n_neg // 2)
        sk = [skilled[k] for k in rng.choice(len(skilled), size=n_skilled, replace=False)] if n_skilled else []
        rn = [random_neg[k] for k in rng.choice(len(random_neg), size=n_neg - n_skilled, replace=False)]
        pairs = pos + sk + rn
        y = np.array([0] * len(pos) + [1] * (len(sk) + len(rn)), dtype=np.float32)
        is_sk = np.array([False] * len(pos) + [True] * len(sk) + [False] * len(rn))
        arr = np.array(pairs, dtype=np.int64)
        return PairBatch(images=images, left=arr[:, 0], right=arr[:, 1], y=y, skilled=is_sk)
