"""A short real learning check: contrastive training on CEDAR signers separates signers better than no training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from biometrix.training.data import BalancedPairBatches, SignatureSample, load_cedar, to_tensor_batch
from biometrix.training.encoder import SignatureCNN
from biometrix.training.losses import ContrastiveLoss

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
pytestmark = pytest.mark.skipif(not (DATA / "cedar" / "cedar_signatures_half.zip").is_file(),
                                reason=f"CEDAR data not found under {DATA}")

H, W = 48, 96
STEPS = 40


@pytest.fixture(scope="module")
def samples() -> list[SignatureSample]:
    return load_cedar(DATA, list(range(1, 9)), progress=False)


def separation(model: torch.nn.Module, samples: list[SignatureSample]) -> tuple[float, float]:
    """(mean Euclidean distance between genuine signatures of one signer, ... of two different signers)."""
    gen = [s for s in samples if s.genuine]
    x = torch.from_numpy(to_tensor_batch([s.ink for s in gen], height=H, width=W))
    model.eval()
    with torch.no_grad():
        e = model(x).numpy().astype(np.float64)
    d = np.sqrt(((e[:, None] - e[None]) ** 2).sum(-1))
    subj = np.array([s.subject for s in gen])
    same = subj[:, None] == subj[None]
    off_diagonal = ~np.eye(len(gen), dtype=bool)
    return float(d[same & off_diagonal].mean()), float(d[~same].mean())


def train(samples: list[SignatureSample], *, flip_labels: bool) -> torch.nn.Module:
    torch.manual_seed(0)
    model = SignatureCNN(width=4, embedding_dim=16)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = ContrastiveLoss(margin=1.0)
    for pb in BalancedPairBatches(samples, signers=4, genuine=4, forgeries=2, batches_per_epoch=STEPS, seed=0):
        model.train()
        x = torch.from_numpy(to_tensor_batch([samples[i].ink for i in pb.images], height=H, width=W))
        y = torch.from_numpy(1 - pb.y if flip_labels else pb.y)
        e = model(x)
        loss = loss_fn(e[pb.left], e[pb.right], y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


def test_contrastive_training_separates_signers(samples: list[SignatureSample]) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    g0, r0 = separation(SignatureCNN(width=4, embedding_dim=16), samples)
    g1, r1 = separation(train(samples, flip_labels=False), samples)
    assert r1 - g1 > r0 - g0  # the gap between other-signer and same-signer distances grows
    assert r1 / g1 > 1.5 * (r0 / g0)  # and not only by scale: relative to the genuine distance
    # the label-flipped loss does not get there (guards the y = 0 similar / y = 1 dissimilar convention)
    gf, rf = separation(train(samples, flip_labels=True), samples)
    assert rf / gf < (r1 / g1) / 1.3
