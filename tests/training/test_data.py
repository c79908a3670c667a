"""Tests for biometrix.training.data: balanced pair batches on synthetic samples, augmentation, tensor batches."""

from __future__ import annotations

from itertools import combinations

import cv2
import numpy as np
import pytest

from biometrix.core.errors import InvalidInput
from biometrix.training.data import Augmenter, BalancedPairBatches, PairBatch, SignatureSample, to_tensor_batch


def make_samples(n_subjects: int = 10, *, genuine: int = 6, forgeries: int = 4) -> list[SignatureSample]:
    out = []
    for s in range(1, n_subjects + 1):
        out += [SignatureSample("cedar", s, i, True) for i in range(1, genuine + 1)]
        out += [SignatureSample("cedar", s, i, False) for i in range(1, forgeries + 1)]
    out.append(SignatureSample("cedar", 99, 1, True))  # too few genuine samples: never sampled
    out += [SignatureSample("svc2004", u, i, i <= 20) for u in range(1, 6) for i in range(1, 41)]  # other source
    order = np.random.default_rng(0).permutation(len(out))
    return [out[k] for k in order]


def check_batch(samples: list[SignatureSample], pb: PairBatch, *, signers: int, genuine: int, forgeries: int,
                same_source: bool = True) -> None:
    imgs = pb.images
    if same_source:
        assert len({samples[i].source for i in imgs}) == 1
    assert len(imgs) == len(set(imgs)) == signers * (genuine + forgeries)
    assert all(0 <= i < len(samples) for i in imgs)
    keys = {samples[i].key for i in imgs}
    assert len(keys) == signers and "cedar:99" not in keys
    for k in keys:
        assert sum(samples[i].genuine for i in imgs if samples[i].key == k) == genuine
        assert sum(not samples[i].genuine for i in imgs if samples[i].key == k) == forgeries
    n = len(pb.y)
    assert pb.left.shape == pb.right.shape == pb.skilled.shape == (n,)
    assert ((pb.left >= 0) & (pb.left < len(imgs)) & (pb.right >= 0) & (pb.right < len(imgs))).all()
    assert set(np.unique(pb.y)) <= {0.0, 1.0}
    n_sim = int((pb.y == 0).sum())
    assert n_sim == signers * len(list(combinations(range(genuine), 2)))  # every genuine pair of each signer
    assert int((pb.y == 1).sum()) == n_sim  # balanced
    assert int(pb.skilled.sum()) == n_sim // 2  # half the dissimilar pairs are skilled forgeries
    seen = set()
    for a, b, y, sk in zip(pb.left, pb.right, pb.y, pb.skilled, strict=True):
        assert a != b
        sa, sb = samples[imgs[a]], samples[imgs[b]]
        seen.add(frozenset((int(a), int(b))))
        if y == 0:
            assert not sk and sa.key == sb.key and sa.genuine and sb.genuine
        elif sk:
            assert sa.key == sb.key and sa.genuine != sb.genuine
        else:
            assert sa.key != sb.key and sa.genuine and sb.genuine
    assert len(seen) == n  # no pair twice


@pytest.mark.parametrize("same_source", [True, False])
@pytest.mark.parametrize(("signers", "genuine", "forgeries"), [(4, 4, 2), (3, 3, 4), (5, 2, 1)])
def test_balanced_pairs(signers: int, genuine: int, forgeries: int, same_source: bool) -> None:
    samples = make_samples()
    batches = BalancedPairBatches(samples, signers=signers, genuine=genuine, forgeries=forgeries,
                                  batches_per_epoch=8, seed=1, same_source=same_source)
    assert len(batches) == 8
    got = list(batches)
    assert len(got) == 8
    for pb in got:
        check_batch(samples, pb, signers=signers, genuine=genuine, forgeries=forgeries, same_source=same_source)


def test_same_source_batches_use_both_sources_and_mixed_batches_mix() -> None:
    samples = make_samples()
    same = BalancedPairBatches(samples, signers=4, batches_per_epoch=30, seed=5)
    per_batch = [{samples[i].source for i in pb.images} for pb in same]
    assert all(len(s) == 1 for s in per_batch)
    assert {s.pop() for s in per_batch} == {"cedar", "svc2004"}
    mixed = BalancedPairBatches(samples, signers=4, batches_per_epoch=30, seed=5, same_source=False)
    assert any(len({samples[i].source for i in pb.images}) == 2 for pb in mixed)


def test_same_source_falls_back_to_all_subjects_when_a_source_is_too_small() -> None:
    samples = [s for s in make_samples() if s.source == "cedar" or s.subject == 1]  # one SVC user
    batches = BalancedPairBatches(samples, signers=4, batches_per_epoch=60, seed=0)
    for pb in batches:
        check_batch(samples, pb, signers=4, genuine=4, forgeries=2, same_source=False)


def test_without_forgeries_every_negative_is_random() -> None:
    samples = [s for s in make_samples() if s.genuine]
    pb = BalancedPairBatches(samples, signers=4, genuine=4, forgeries=2, seed=0).sample()
    assert not pb.skilled.any()
    assert (pb.y == 1).sum() == (pb.y == 0).sum() == 24
    for a, b, y in zip(pb.left, pb.right, pb.y, strict=True):
        same = samples[pb.images[a]].key == samples[pb.images[b]].key
        assert same == (y == 0)


def test_same_seed_same_batches_other_seed_other_batches() -> None:
    samples = make_samples()

    def run(seed: int) -> list[list[int]]:
        return [pb.images for pb in BalancedPairBatches(samples, signers=4, batches_per_epoch=3, seed=seed)]

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_batches_cover_many_subjects() -> None:
    samples = make_samples()
    batches = BalancedPairBatches(samples, signers=4, batches_per_epoch=40, seed=2)
    keys = {samples[i].key for pb in batches for i in pb.images}
    assert keys == {s.key for s in samples} - {"cedar:99"}


def test_too_few_subjects_is_an_error() -> None:
    with pytest.raises(InvalidInput, match="subjects"):
        BalancedPairBatches(make_samples(3), signers=9, genuine=4)  # 3 + 5 subjects


@pytest.mark.parametrize(("signers", "genuine"), [(1, 4), (4, 1), (0, 0)])
def test_batches_without_pairs_are_refused(signers: int, genuine: int) -> None:
    with pytest.raises(InvalidInput, match="at least 2"):
        BalancedPairBatches(make_samples(), signers=signers, genuine=genuine)


# --- augmentation ------------------------------------------------------------------------------------


def ink_mask(seed: int) -> np.ndarray:
    """A cropped bool mask of thick random strokes."""
    rng = np.random.default_rng(seed)
    img = np.zeros((70, 180), np.uint8)
    pts = np.stack([np.linspace(5, 175, 9), rng.uniform(5, 65, 9)], 1).astype(np.int32)
    cv2.polylines(img, [pts], False, 255, 3)
    ink = img > 0
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


@pytest.mark.parametrize("seed", range(6))
def test_augmenter_keeps_the_ink(seed: int) -> None:
    ink = ink_mask(seed)
    aug = Augmenter()
    out = aug(ink, np.random.default_rng(seed))
    assert out.dtype == bool and out.ndim == 2
    # cropped to its ink
    assert out[0].any() and out[-1].any() and out[:, 0].any() and out[:, -1].any()
    h, w = ink.shape
    # bounds from the largest warp: rotation 6 deg, scale 1.08 x 1.08, shear 0.1
    assert 0.8 * w - 3 <= out.shape[1] <= 1.25 * w + 0.2 * h + 3
    assert 0.8 * h - 0.12 * w - 3 <= out.shape[0] <= 1.25 * h + 0.15 * w + 3
    assert 0.4 * ink.sum() <= out.sum() <= 2.0 * ink.sum()


def test_augmenter_is_deterministic_for_a_seed_and_varies_across_seeds() -> None:
    ink = ink_mask(0)
    aug = Augmenter()
    a = aug(ink, np.random.default_rng(11))
    b = aug(ink, np.random.default_rng(11))
    np.testing.assert_array_equal(a, b)
    c = aug(ink, np.random.default_rng(12))
    assert a.shape != c.shape or not np.array_equal(a, c)


def test_augmenter_without_warp_is_identity() -> None:
    ink = ink_mask(1)
    aug = Augmenter(rotate_deg=0.0, scale=0.0, shear=0.0, width_change=0.0)
    np.testing.assert_array_equal(aug(ink, np.random.default_rng(0)), ink)


def test_to_tensor_batch_shape_and_range() -> None:
    masks = [ink_mask(0), ink_mask(1)[:20, :30], np.ones((6, 6), bool)]
    x = to_tensor_batch(masks, height=24, width=48)
    assert x.shape == (3, 1, 24, 48) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0
    # a full square is padded to 2:1 and centred: ink in the middle columns only
    np.testing.assert_allclose(x[2, 0, :, 12:36], 1.0, atol=1e-6)
    assert x[2, 0, :, :12].max() == 0.0 and x[2, 0, :, 36:].max() == 0.0


def test_mirror_identities_are_new_signers_with_flipped_ink() -> None:
    from biometrix.training.data import MIRROR_OFFSET, SignatureSample, mirror_identities

    ink = np.zeros((3, 4), bool)
    ink[0, 0] = True
    base = [SignatureSample("cedar", 7, 1, True, ink=ink), SignatureSample("cedar", 7, 1, False, ink=ink)]
    out = mirror_identities(base, 4)
    assert len(out) == 8 and out[:2] == base
    where = {(s.subject, s.genuine): tuple(np.argwhere(s.ink)[0]) for s in out}
    assert where[(7 + MIRROR_OFFSET, True)] == (0, 3)          # left-right
    assert where[(7 + 2 * MIRROR_OFFSET, True)] == (2, 0)      # upside down
    assert where[(7 + 3 * MIRROR_OFFSET, False)] == (2, 3)     # 180 degrees, forgeries follow their signer
    assert len({s.key for s in out}) == 4                       # four distinct signers
    assert mirror_identities(base, 1) == base
    with pytest.raises(InvalidInput):
        mirror_identities(base, 5)


def test_stretch_identities_are_new_signers_with_wider_or_narrower_ink() -> None:
    from biometrix.training.data import (
        MIRROR_OFFSET,
        STRETCH_OFFSET,
        SignatureSample,
        mirror_identities,
        stretch_identities,
    )

    ink = np.zeros((20, 40), bool)
    ink[2:18, 10] = True            # a 1-pixel vertical stroke: it must survive the narrowing
    ink[10, 5:35] = True            # a horizontal stroke 30 pixels long
    base = [SignatureSample("cedar", 7, 1, True, ink=ink), SignatureSample("cedar", 7, 1, False, ink=ink)]
    out = stretch_identities(base, [0.7, 1.4])
    assert len(out) == 6 and out[:2] == base
    by_key = {(s.subject, s.genuine): s.ink for s in out}
    narrow, wide = by_key[(7 + STRETCH_OFFSET, True)], by_key[(7 + 2 * STRETCH_OFFSET, False)]  # forgeries follow
    assert narrow.shape == (20, 28) and wide.shape == (20, 56)
    for m, f in ((narrow, 0.7), (wide, 1.4)):
        row = np.flatnonzero(m[10])
        assert abs((row[-1] - row[0] + 1) - 30 * f) <= 2          # the horizontal stroke scales with the factor
        assert m[2:18, int(10 * f) - 1:int(10 * f) + 2].any(axis=1).all()  # the vertical stroke is still whole
    assert len({s.key for s in out}) == 3
    both = mirror_identities(out, 4)                              # combined: every subject stays distinct
    assert len({s.key for s in both}) == 12 and max(s.subject for s in both) == 7 + 2 * STRETCH_OFFSET \
        + 3 * MIRROR_OFFSET
    for bad in ([1.0], [1.1], [0.2], [5.0]):
        with pytest.raises(InvalidInput, match="stretch_identities"):
            stretch_identities(base, bad)


def test_fit_trains_on_stretched_then_mirrored_signers() -> None:
    from biometrix.training.data import MIRROR_OFFSET, STRETCH_OFFSET, SignatureSample
    from biometrix.training.train import TrainConfig, with_synthetic_identities

    ink = np.zeros((10, 20), bool)
    ink[5, 2:18] = True
    base = [SignatureSample("svc2004", 3, i, True, ink=ink) for i in (1, 2)]
    plain = with_synthetic_identities(base, TrainConfig())
    assert plain == base
    both = with_synthetic_identities(base, TrainConfig(stretch_identities=[0.7, 1.4], mirror_identities=4))
    subjects = {s.subject for s in both}
    assert len(both) == 24 and len(subjects) == 12
    assert 3 + STRETCH_OFFSET + MIRROR_OFFSET in subjects  # the stretched signer's mirror: a signer of its own
    wide_mirrored = [s.ink for s in both if s.subject == 3 + 2 * STRETCH_OFFSET + MIRROR_OFFSET]
    assert all(m.shape == (10, 28) for m in wide_mirrored)
