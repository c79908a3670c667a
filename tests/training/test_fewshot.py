"""Few-shot heads: prototypes = core.templates.prototype, logits and attention vs loops, relation ONNX parity,
and small real trainings on scikit-learn's digits that must transfer to held-out classes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.nn import functional as F

from biometrix.core.errors import InvalidInput
from biometrix.core.templates import prototype
from biometrix.training.fewshot import MatchingHead, PrototypicalHead, RelationHead, prototypes
from biometrix.training.losses import build_loss
from biometrix.training.samplers import EpisodeSampler, PKSampler

torch.set_num_threads(1)


def episode(n: int, k: int, q: int, d: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    support = F.normalize(torch.randn(n * k, d, generator=g, dtype=torch.float64), dim=1)
    perm = torch.randperm(n * k, generator=g)  # labels in any order, not class-major
    labels = (torch.arange(n * k) % n)[perm]
    query = F.normalize(torch.randn(q, d, generator=g, dtype=torch.float64), dim=1)
    return support, labels, query


@pytest.mark.parametrize(("n", "k", "seed"), [(3, 1, 0), (4, 3, 1), (5, 5, 2)])
def test_prototypes_are_the_runtime_templates(n: int, k: int, seed: int) -> None:
    support, labels, _ = episode(n, k, 2, 6, seed)
    got = prototypes(support * 3.0, labels).numpy()  # scale does not matter: rows are normalised first
    for c in range(n):
        np.testing.assert_allclose(got[c], prototype(support[labels == c].numpy()), atol=1e-6)
    s = support.clone().requires_grad_(True)
    prototypes(s, labels).sum().backward()  # differentiable through core.templates
    assert torch.isfinite(s.grad).all()


@pytest.mark.parametrize("scale", [1.0, 7.5])
def test_prototypical_logits_match_loops(scale: float) -> None:
    support, labels, query = episode(4, 3, 5, 6, 3)
    got = PrototypicalHead(scale=scale)(support, labels, query)
    for qi in range(query.shape[0]):
        for c in range(4):
            members = [support[i] / math.sqrt(sum(float(v) ** 2 for v in support[i]))
                       for i in range(len(labels)) if int(labels[i]) == c]
            mean = sum(members) / len(members)
            proto = mean / math.sqrt(sum(float(v) ** 2 for v in mean))
            want = -scale * sum((float(query[qi, j]) - float(proto[j])) ** 2 for j in range(6))
            assert float(got[qi, c]) == pytest.approx(want, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("scale", [1.0, 10.0])
def test_matching_attention_and_probabilities_match_loops(scale: float) -> None:
    support, labels, query = episode(3, 4, 4, 5, 4)
    support = support * 2.0  # cosine similarity, not dot product
    head = MatchingHead(scale=scale)
    att = head.attention(support, query)
    logp = head(support, labels, query)
    for qi in range(query.shape[0]):
        cos = []
        for i in range(support.shape[0]):
            dot = sum(float(query[qi, j]) * float(support[i, j]) for j in range(5))
            norms = math.sqrt(sum(float(v) ** 2 for v in query[qi])) * math.sqrt(sum(float(v) ** 2 for v in support[i]))
            cos.append(dot / norms)
        z = sum(math.exp(scale * c) for c in cos)
        for i in range(support.shape[0]):
            assert float(att[qi, i]) == pytest.approx(math.exp(scale * cos[i]) / z, rel=1e-9)
        for c in range(3):
            p = sum(math.exp(scale * cos[i]) / z for i in range(len(labels)) if int(labels[i]) == c)
            assert float(logp[qi, c]) == pytest.approx(math.log(p), rel=1e-9)


def test_heads_loss_and_predict_shapes_and_errors() -> None:
    support, labels, query = episode(4, 2, 6, 8, 5)
    support, query = support.float(), query.float()
    qlabels = torch.arange(6) % 4
    for head in (PrototypicalHead(scale=5.0), MatchingHead(), RelationHead(8, hidden=16)):
        assert head(support, labels, query).shape == (6, 4)
        assert head.predict(support, labels, query).shape == (6,)
        loss = head.loss(support, labels, query, qlabels)
        assert loss.ndim == 0 and math.isfinite(float(loss.detach()))
        with pytest.raises(InvalidInput, match="0..N-1"):
            head(support, labels + 1, query)
        with pytest.raises(InvalidInput, match="query"):
            head(support, labels, query[:, :3])
    scores = RelationHead(8)(support, labels, query)
    assert ((scores > 0) & (scores < 1)).all()


def test_relation_objectives_against_hand_formulas() -> None:
    """With every relation logit equal to c (the collapsed state), MSE is ((s - 1)^2 + (N - 1) s^2) / N with
    s = sigmoid(c), lowest near s = 1/N, while the cross-entropy is log N whatever c: it cannot be lowered
    without ranking the right class above the wrong ones."""
    support, labels, query = episode(20, 1, 3, 8, 7)
    support, query, qlabels = support.float(), query.float(), torch.tensor([0, 5, 19])
    for c in (-6.0, 0.0, 2.0):
        heads = {o: RelationHead(8, hidden=4, objective=o) for o in ("mse", "cross_entropy")}
        for head in heads.values():
            with torch.no_grad():
                head.relation.net[2].weight.zero_()
                head.relation.net[2].bias.fill_(c)
        s = 1 / (1 + math.exp(-c))
        mse = heads["mse"].loss(support, labels, query, qlabels)
        assert float(mse) == pytest.approx(((s - 1) ** 2 + 19 * s ** 2) / 20, rel=1e-5)
        ce = heads["cross_entropy"].loss(support, labels, query, qlabels)
        assert float(ce) == pytest.approx(math.log(20), rel=1e-6)
        assert torch.equal(heads["mse"](support, labels, query), heads["cross_entropy"](support, labels, query))
    with pytest.raises(InvalidInput, match="relation objective must be one of mse, cross_entropy, got 'hinge'"):
        RelationHead(8, objective="hinge")


def test_relation_head_exports_to_onnx_with_parity(tmp_path: Path) -> None:
    torch.manual_seed(0)
    head = RelationHead(16, hidden=32).eval()
    path = tmp_path / "relation.onnx"
    q, p = torch.randn(5, 16), torch.randn(3, 16)
    dims = {"query": {0: torch.export.Dim("q")}, "prototypes": {0: torch.export.Dim("n")}}
    torch.onnx.export(head.relation, (q, p), str(path), dynamo=True, opset_version=18, external_data=False,
                      input_names=["query", "prototypes"], output_names=["scores"], dynamic_shapes=dims)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for qn, pn in [(5, 3), (7, 4), (2, 9)]:  # other sizes than the traced ones
        query, protos = torch.randn(qn, 16), F.normalize(torch.randn(pn, 16), dim=1)
        (got,) = sess.run(None, {"query": query.numpy(), "prototypes": protos.numpy()})
        with torch.no_grad():
            want = head.relation(query, protos).numpy()
        assert got.shape == (qn, pn)
        np.testing.assert_allclose(got, want, atol=1e-4)


# ---- real learning on scikit-learn's bundled digits (8x8, 10 classes) -----------------------------------------
# Train on classes 0-5, evaluate 4-way 1-shot (5 queries per class) on the held-out classes 6-9 over 300 fixed
# episodes. Every image is shifted by up to one pixel (support, queries and training batches alike): raw pixels
# then score about 37 % and an untrained CNN about 40 %, so the thresholds below need transfer that was learned.

SHIFT = 1


class TinyCNN(nn.Module):
    """(B, 1, 8, 8) -> (B, 32) unit vectors."""

    def __init__(self) -> None:
        super().__init__()
        self.f = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                               nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                               nn.Flatten(), nn.Linear(128, 32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.f(x), dim=1)


@pytest.fixture(scope="module")
def digits() -> tuple[torch.Tensor, np.ndarray]:
    x, y = load_digits(return_X_y=True)
    padded = F.pad(torch.tensor(x / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8), (SHIFT,) * 4)
    return padded, y


def shifted(padded: torch.Tensor, idx: np.ndarray, g: torch.Generator) -> torch.Tensor:
    """idx (B,) -> (B, 1, 8, 8) crops of the padded images at random offsets (shifts of up to SHIFT pixels)."""
    off = torch.randint(0, 2 * SHIFT + 1, (len(idx), 2), generator=g).tolist()
    return torch.stack([padded[i, :, a : a + 8, b : b + 8] for i, (a, b) in zip(idx.tolist(), off, strict=True)])


def held_out_accuracy(model: nn.Module, digits: tuple[torch.Tensor, np.ndarray]) -> float:
    """Mean 4-way 1-shot accuracy on classes 6-9: nearest prototype = nearest single reference."""
    padded, y = digits
    held = np.flatnonzero(y >= 6)
    g = torch.Generator().manual_seed(7)
    head, correct = PrototypicalHead(), []
    model.eval()
    with torch.no_grad():
        for ep in EpisodeSampler(y[held], n_way=4, k_shot=1, n_query=5, episodes=300, seed=123):
            s = model(shifted(padded, held[ep.support], g))
            q = model(shifted(padded, held[ep.query], g))
            correct.append(head.predict(s, torch.from_numpy(ep.support_labels), q).numpy() == ep.query_labels)
    model.train()
    return float(np.concatenate(correct).mean())


@pytest.fixture(scope="module")
def untrained_accuracy(digits: tuple[torch.Tensor, np.ndarray]) -> float:
    torch.manual_seed(0)
    return held_out_accuracy(TinyCNN(), digits)


def test_prototypical_training_transfers_to_held_out_digits(digits: tuple[torch.Tensor, np.ndarray],
                                                            untrained_accuracy: float) -> None:
    padded, y = digits
    train = np.flatnonzero(y < 6)
    torch.manual_seed(0)
    model, head, g = TinyCNN(), PrototypicalHead(scale=16.0), torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for ep in EpisodeSampler(y[train], n_way=6, k_shot=1, n_query=5, episodes=500, seed=0):
        s, q = model(shifted(padded, train[ep.support], g)), model(shifted(padded, train[ep.query], g))
        loss = head.loss(s, torch.from_numpy(ep.support_labels), q, torch.from_numpy(ep.query_labels))
        opt.zero_grad()
        loss.backward()
        opt.step()
    acc = held_out_accuracy(model, digits)
    # observed 0.567 (untrained 0.385, raw pixels 0.370, chance 0.25)
    assert acc >= 0.50, f"4-way 1-shot accuracy on held-out digits {acc:.3f} (chance 0.25)"
    assert acc >= untrained_accuracy + 0.10, (acc, untrained_accuracy)


def test_triplet_batch_hard_pk_training_transfers_to_held_out_digits(digits: tuple[torch.Tensor, np.ndarray],
                                                                    untrained_accuracy: float) -> None:
    padded, y = digits
    train = np.flatnonzero(y < 6)
    torch.manual_seed(0)
    model, g = TinyCNN(), torch.Generator().manual_seed(0)
    loss_fn = build_loss("triplet", margin=0.2, mining="batch_hard")
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for batch in PKSampler(y[train], p=6, k=8, batches_per_epoch=300, seed=0):
        idx = train[batch]
        loss = loss_fn(model(shifted(padded, idx, g)), torch.from_numpy(y[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    acc = held_out_accuracy(model, digits)  # 1-shot: the 1-NN of each query among the 4 references
    # observed 0.482 (untrained 0.385, raw pixels 0.370, chance 0.25)
    assert acc >= 0.44, f"4-way 1-shot 1-NN accuracy on held-out digits {acc:.3f} (chance 0.25)"
    assert acc >= untrained_accuracy + 0.06, (acc, untrained_accuracy)
