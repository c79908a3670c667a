"""PKSampler and EpisodeSampler: batch composition, disjointness, label consistency, determinism per seed."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from biometrix.core.errors import InvalidInput
from biometrix.training.data import BalancedPairBatches as FromData
from biometrix.training.samplers import BalancedPairBatches, EpisodeSampler, PKSampler

rng = np.random.default_rng(0)
# 12 classes of 3..9 samples, two singletons (forgeries) and one class of 2, shuffled
LABELS = np.concatenate([np.full(n, c) for c, n in enumerate([3, 4, 5, 6, 7, 8, 9, 3, 4, 5, 6, 7])]
                        + [np.array([100, 101, 50, 50])])
rng.shuffle(LABELS)


def test_balanced_pairs_is_re_exported() -> None:
    assert BalancedPairBatches is FromData


@pytest.mark.parametrize(("p", "k", "small"), [(4, 3, "replace"), (6, 5, "replace"), (3, 4, "skip")])
def test_pk_batches_have_p_classes_of_k(p: int, k: int, small: str) -> None:
    sampler = PKSampler(LABELS, p=p, k=k, batches_per_epoch=30, seed=1, small=small)  # type: ignore[arg-type]
    batches = list(sampler)
    assert len(batches) == len(sampler) == 30
    seen: set[int] = set()
    for b in batches:
        assert len(b) == p * k
        counts = Counter(int(LABELS[i]) for i in b)
        assert len(counts) == p and set(counts.values()) == {k}
        assert not {100, 101} & set(counts)  # singletons never form a class of the batch
        for c, n in counts.items():
            members = [i for i in b if LABELS[i] == c]
            if (LABELS == c).sum() >= k:
                assert len(set(members)) == n  # no repeats when the class is large enough
            else:
                assert small == "replace"
        seen |= set(counts)
    if small == "skip":
        assert all((LABELS == c).sum() >= k for c in seen)
    assert len(seen) > p  # batches vary


def test_pk_determinism_and_epochs() -> None:
    a = PKSampler(LABELS, p=4, k=2, batches_per_epoch=5, seed=3)
    b = PKSampler(LABELS, p=4, k=2, batches_per_epoch=5, seed=3)
    c = PKSampler(LABELS, p=4, k=2, batches_per_epoch=5, seed=4)
    assert list(a) == list(b) == list(a)
    assert list(a) != list(c)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    b.set_epoch(1)
    assert list(a) == list(b)


def test_pk_errors() -> None:
    with pytest.raises(InvalidInput, match="p >= 2"):
        PKSampler(LABELS, p=1, k=2, batches_per_epoch=1)
    with pytest.raises(InvalidInput, match="classes with >= 9"):
        PKSampler(LABELS, p=2, k=9, batches_per_epoch=1, small="skip")
    with pytest.raises(InvalidInput, match="small"):
        PKSampler(LABELS, p=2, k=2, batches_per_epoch=1, small="drop")  # type: ignore[arg-type]


@pytest.mark.parametrize(("n", "k", "q"), [(5, 1, 2), (4, 2, 3), (3, 3, 3)])
def test_episodes(n: int, k: int, q: int) -> None:
    sampler = EpisodeSampler(LABELS, n_way=n, k_shot=k, n_query=q, episodes=40, seed=2)
    episodes = list(sampler)
    assert len(episodes) == 40
    for ep in episodes:
        support, query, classes = ep  # a tuple too
        assert support.shape == (n * k,) and query.shape == (n * q,) and classes.shape == (n,)
        assert len(set(classes.tolist())) == n
        assert not set(support.tolist()) & set(query.tolist())
        assert len(set(support.tolist())) == n * k and len(set(query.tolist())) == n * q
        np.testing.assert_array_equal(LABELS[support], classes[ep.support_labels])
        np.testing.assert_array_equal(LABELS[query], classes[ep.query_labels])
        np.testing.assert_array_equal(ep.support_labels, np.repeat(np.arange(n), k))
        assert all((LABELS == c).sum() >= k + q for c in classes)
    again = list(EpisodeSampler(LABELS, n_way=n, k_shot=k, n_query=q, episodes=40, seed=2))
    other = list(EpisodeSampler(LABELS, n_way=n, k_shot=k, n_query=q, episodes=40, seed=3))
    for e1, e2 in zip(episodes, again, strict=True):
        assert all(np.array_equal(x, y) for x, y in zip(e1, e2, strict=True))
    assert any(not np.array_equal(e1.support, e2.support) for e1, e2 in zip(episodes, other, strict=True))


def test_episode_errors() -> None:
    with pytest.raises(InvalidInput, match="classes with >= 12"):
        EpisodeSampler(LABELS, n_way=2, k_shot=6, n_query=6, episodes=1)
    with pytest.raises(InvalidInput, match="n_way >= 2"):
        EpisodeSampler(LABELS, n_way=1, k_shot=1, n_query=1, episodes=1)
