"""The 2-channel pair network: its protocol scoring, pair sampling, loss direction and training run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from biometrix.core.errors import InvalidInput
from biometrix.evaluation.protocol import PAIR_AGGREGATES, PROTOCOL, pair_protocol_scores, protocol_scores
from biometrix.training.data import BalancedPairBatches, PairBatch, SignatureSample
from biometrix.training.pairnet import (
    PairSignatureCNN,
    pair_distances,
    pair_loss,
    stack_pairs,
    subsample_pairs,
)
from biometrix.training.train import TrainConfig, check_pair_config, fit

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
needs_data = pytest.mark.skipif(
    not ((DATA / "cedar" / "cedar_signatures_half.zip").is_file()
         and (DATA / "svc2004_task2" / "svc2004_task2.zip").is_file()),
    reason=f"CEDAR and SVC2004 data not found under {DATA}",
)


def _samples(seed: int = 0) -> tuple[list[SignatureSample], np.ndarray]:
    """Four CEDAR-shaped subjects (genuine 1-24, forgeries 1-24) and three SVC2004-shaped users (1-20 genuine,
    21-40 forgeries), one noisy direction per subject, as embeddings."""
    rng = np.random.default_rng(seed)
    samples, rows = [], []
    for source, subjects, genuine, forged in (("cedar", 4, range(1, 25), range(1, 25)),
                                              ("svc2004", 3, range(1, 21), range(21, 41))):
        for s in range(1, subjects + 1):
            centre = rng.normal(size=8)
            for is_genuine, indices, noise in ((True, genuine, 0.5), (False, forged, 0.8)):
                for i in indices:
                    samples.append(SignatureSample(source, s, i, is_genuine))
                    rows.append(centre + noise * rng.normal(size=8))
    emb = np.array(rows)
    return samples, emb / np.linalg.norm(emb, axis=1, keepdims=True)


@pytest.mark.parametrize("source", ["cedar", "svc2004"])
def test_pair_scores_of_embedding_distances_equal_the_embedding_protocol(source: str) -> None:
    # Oracle: a "pair network" that returns the cosine distance of two embeddings must reproduce the embedding
    # protocol's comparisons, kinds and mean / min / normalized distances exactly.
    samples, emb = _samples()
    calls: list[tuple[np.ndarray, np.ndarray]] = []

    def cosine(left: np.ndarray, right: np.ndarray) -> np.ndarray:
        calls.append((left, right))
        return 1.0 - np.sum(emb[left] * emb[right], axis=1)

    pairs = pair_protocol_scores(samples, cosine, source=source)
    plain = protocol_scores(samples, emb, source=source)
    assert len(calls) == 1  # every pair scored in one call, so the caller can batch them
    assert [(c.claimed, c.probe, c.kind) for c in pairs.comparisons] == [
        (c.claimed, c.probe, c.kind) for c in plain.comparisons]
    assert (pairs.n_subjects, pairs.n_references) == (plain.n_subjects, plain.n_references)
    for a, b in zip(pairs.comparisons, plain.comparisons, strict=True):
        assert set(a.distances) == set(PAIR_AGGREGATES)
        for agg in PAIR_AGGREGATES:
            np.testing.assert_allclose(a.distances[agg], b.distances[agg], rtol=1e-5, atol=1e-6)
    # the reference is always on the left: genuine samples 1-5 of a subject
    refs = set(PROTOCOL[source][0])
    left = calls[0][0]
    assert all(samples[i].genuine and samples[i].index in refs for i in left)


def test_pair_scores_follow_the_order_the_scorer_gives() -> None:
    # An asymmetric scorer (only the right-hand sample counts) shows which side the probe is on.
    samples, emb = _samples()
    probe_value = np.arange(len(samples), dtype=float)
    scores = pair_protocol_scores(samples, lambda left, right: probe_value[right], source="cedar")
    index = {s.sample_id: i for i, s in enumerate(samples)}
    for c in scores.comparisons:
        assert c.distances["mean"] == c.distances["min"] == probe_value[index[c.probe]]


def test_a_scorer_returning_the_wrong_shape_is_refused() -> None:
    samples, _ = _samples()
    with pytest.raises(ValueError, match="shape"):
        pair_protocol_scores(samples, lambda left, right: np.zeros(3), source="cedar")


def _batch(seed: int = 0) -> PairBatch:
    samples, _ = _samples(seed)
    batches = BalancedPairBatches(samples, signers=4, genuine=6, forgeries=2, batches_per_epoch=1, seed=seed,
                                  same_source=True)
    return batches.sample()


@pytest.mark.parametrize("n", [10, 64, 101])
def test_subsampled_pairs_keep_each_kind_share(n: int) -> None:
    pb = _batch()
    kinds = lambda b: np.where(b.y == 0, 0, np.where(b.skilled, 1, 2))  # noqa: E731
    full = np.bincount(kinds(pb), minlength=3)
    assert full.sum() > n
    sub = subsample_pairs(pb, n, np.random.default_rng(1))
    got = np.bincount(kinds(sub), minlength=3)
    assert got.sum() == n
    # each kind's count is its share of n rounded up or down
    share = full * n / full.sum()
    assert np.all(np.abs(got - share) < 1.0)
    # every kept pair is one of the batch's pairs, none twice, with its label
    original = {(int(a), int(b)): (float(y), bool(s)) for a, b, y, s in zip(pb.left, pb.right, pb.y, pb.skilled,
                                                                             strict=True)}
    kept = [(int(a), int(b)) for a, b in zip(sub.left, sub.right, strict=True)]
    assert len(set(kept)) == n
    for pair, y, s in zip(kept, sub.y, sub.skilled, strict=True):
        assert original[pair] == (float(y), bool(s))
    assert sub.images == pb.images


def test_subsampling_nothing_or_more_than_there_is_keeps_the_batch() -> None:
    pb = _batch()
    rng = np.random.default_rng(0)
    assert subsample_pairs(pb, 0, rng) is pb
    assert subsample_pairs(pb, len(pb.y), rng) is pb
    assert subsample_pairs(pb, len(pb.y) + 5, rng) is pb


def test_the_network_takes_two_channels_and_gives_one_logit_per_pair() -> None:
    model = PairSignatureCNN(width=4).eval()
    x = torch.rand(3, 2, 32, 64)
    assert model(x).shape == (3,)
    with pytest.raises(InvalidInput, match=r"\(N, 2, H, W\)"):
        model(torch.rand(3, 1, 32, 64))
    images = torch.arange(4, dtype=torch.float32).reshape(4, 1, 1, 1).expand(4, 1, 2, 2)
    stacked = stack_pairs(images, np.array([0, 3]), np.array([2, 1]))
    assert stacked.shape == (2, 2, 2, 2)
    assert stacked[:, 0, 0, 0].tolist() == [0.0, 3.0] and stacked[:, 1, 0, 0].tolist() == [2.0, 1.0]


class _FixedLogits(torch.nn.Module):
    """Returns the logit stored at the left image's pixel value (a stand-in with known outputs)."""

    def __init__(self, logits: list[float]) -> None:
        super().__init__()
        self.logits = torch.tensor(logits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits[x[:, 0, 0, 0].long()]


def test_confident_pairs_keep_their_order_instead_of_tying() -> None:
    # float32 sigmoid(-40) and sigmoid(-50) are both 0.0; in float64 they differ, so the EER sweep keeps the order
    images = np.arange(3, dtype=np.float32).reshape(3, 1, 1, 1)
    d = pair_distances(_FixedLogits([-50.0, -40.0, 3.0]), images, np.array([0, 1, 2]), np.array([0, 0, 0]),
                       batch_size=2)
    assert d.dtype == np.float64
    assert 0.0 < d[0] < d[1] < 1e-15 and abs(d[2] - 1 / (1 + np.exp(-3.0))) < 1e-12


def _two_kinds(rng: np.random.Generator, n: int) -> tuple[torch.Tensor, np.ndarray]:
    """n images of two writers: a bar in the top half (writer 0) or in the bottom half (writer 1), moved by a
    few pixels each time and of random length (as normalised signatures are placed alike, never exactly)."""
    x = np.zeros((n, 1, 32, 64), np.float32)
    writer = np.arange(n) % 2
    for i in range(n):
        r = rng.integers(4, 10) + 16 * writer[i]
        c, length = rng.integers(4, 20), rng.integers(20, 40)
        x[i, 0, r : r + 3, c : c + length] = 1.0
    return torch.from_numpy(x), writer


def test_training_scores_same_writer_pairs_closer_than_different_ones() -> None:
    # y = 1 marks different writers: trained with the labels the right way round, same-writer pairs must end
    # with the smaller distance. Flipping the label in pair_loss makes this fail.
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = PairSignatureCNN(width=4, dropout=0.0, hidden=16)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(60):
        x, writer = _two_kinds(rng, 16)
        left, right = rng.integers(0, 16, 32), rng.integers(0, 16, 32)
        y = (writer[left] != writer[right]).astype(np.float32)
        pb = PairBatch(images=list(range(16)), left=left, right=right, y=y, skilled=np.zeros(32, bool))
        model.train()
        loss = pair_loss(model, x, pb, rng)
        opt.zero_grad()
        loss.backward()
        opt.step()
    x, writer = _two_kinds(np.random.default_rng(99), 40)
    left, right = np.repeat(np.arange(40), 40), np.tile(np.arange(40), 40)
    d = pair_distances(model, x.numpy(), left, right)
    same = writer[left] == writer[right]
    assert d[same].mean() < 0.3 < 0.7 < d[~same].mean()


@pytest.mark.parametrize(("change", "message"), [
    ({"loss": "triplet"}, "pair_bce"),
    ({"backbone": "signature_cnn"}, "pair_bce"),
    ({"pairs_per_batch": -1}, "pairs_per_batch"),
    ({"hog_weight": 0.2}, "hog_weight"),
    ({"local_weight": 0.5}, "local_weight"),
])
def test_pair_configs_that_cannot_work_are_refused(change: dict[str, object], message: str) -> None:
    cfg = TrainConfig(backbone="pair_cnn", loss="pair_bce", pairs_per_batch=64)
    check_pair_config(cfg)  # the plain pair config is fine
    bad = TrainConfig(**{**cfg.__dict__, **change})
    with pytest.raises(InvalidInput, match=message):
        check_pair_config(bad)


@needs_data
def test_a_pair_network_trains_and_validates_under_the_protocol(tmp_path: Path) -> None:
    cfg = TrainConfig(out_dir=str(tmp_path / "run"), data_root=str(DATA), backbone="pair_cnn", loss="pair_bce",
                      pairs_per_batch=24, width=4, epochs=1, batches_per_epoch=2, signers_per_batch=4,
                      genuine_per_signer=4, forgeries_per_signer=2, mirror_identities=1, threads=2,
                      cedar_train=[1, 2, 3, 4, 5, 6], cedar_validation=[7, 8, 9],
                      svc_train=[1, 2, 3, 4, 5, 6], svc_validation=[7, 8, 9], keep_every_epoch=True)
    best = fit(cfg, progress=False)
    history = json.loads((tmp_path / "run" / "history.json").read_text())[0]
    assert history["aggregate"] in PAIR_AGGREGATES
    assert set(history["val_metric_by_aggregate"]) == set(PAIR_AGGREGATES)
    cedar, svc = history["val"]["cedar"], history["val"]["svc2004"]
    # the protocol's counts for 3 subjects: CEDAR 19 genuine probes, 24 forgeries, 2 random each
    assert (cedar["n_genuine"], cedar["n_skilled"], cedar["n_random"]) == (57, 72, 6)
    assert (svc["n_genuine"], svc["n_skilled"], svc["n_random"]) == (45, 60, 6)
    assert 0.0 <= cedar["skilled_eer"] <= 1.0 and np.isfinite(history["loss"])
    ck = torch.load(best, weights_only=False)
    model = PairSignatureCNN(width=4)
    model.load_state_dict(ck["model"])  # the checkpoint is the pair network's
    from biometrix.training.release import release_signature_model

    with pytest.raises(InvalidInput, match="pair network"):
        release_signature_model(best, model_id="x", out_dir=tmp_path / "model", data_root=DATA, progress=False)

