"""The batch metric losses against slow loop-based references: values and autograd gradients, edge cases, registry."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch

from biometrix.core.errors import InvalidInput
from biometrix.core.templates import prototype
from biometrix.training.losses import (
    LOSSES,
    ContrastiveLoss,
    ContrastiveMetricLoss,
    MetricLoss,
    NPairLoss,
    PrototypicalLoss,
    QuadrupletLoss,
    TripletLoss,
    build_loss,
    euclidean_distance_matrix,
)
from biometrix.training.losses.miners import batch_all_triplets

torch.set_num_threads(1)
T = torch.Tensor


# ---- loop references: plain Python over i, j, k; differentiable through torch scalar ops ------------------------

def loop_dist(e: T, i: int, j: int) -> T:
    return torch.sqrt(sum((e[i, k] - e[j, k]) ** 2 for k in range(e.shape[1])))


def ref_contrastive(e: T, y: list[int], margin: float, balance: bool, nonzero: bool) -> T:
    sim, dis = [], []
    for i in range(len(y)):
        for j in range(len(y)):
            if i == j:
                continue
            d = loop_dist(e, i, j)
            if y[i] == y[j]:
                sim.append(d**2)
            else:
                dis.append(torch.clamp(margin - d, min=0) ** 2)
    zero = e.sum() * 0
    if not balance:
        return (sum(sim, zero) + sum(dis, zero)) / max(len(sim) + len(dis), 1)
    n_dis = sum(1 for v in dis if float(v.detach()) > 0) if nonzero else len(dis)
    return sum(sim, zero) / max(len(sim), 1) + sum(dis, zero) / max(n_dis, 1)


def ref_triplet_all(e: T, y: list[int], margin: float) -> T:
    terms = []
    for a in range(len(y)):
        for p in range(len(y)):
            for n in range(len(y)):
                if a != p and y[a] == y[p] and y[n] != y[a]:
                    v = torch.clamp(loop_dist(e, a, p) - loop_dist(e, a, n) + margin, min=0)
                    if float(v.detach()) > 0:
                        terms.append(v)
    return sum(terms, e.sum() * 0) / max(len(terms), 1)


def hardest(e: T, y: list[int], a: int) -> tuple[int, int] | None:
    pos = [j for j in range(len(y)) if j != a and y[j] == y[a]]
    neg = [j for j in range(len(y)) if y[j] != y[a]]
    if not pos or not neg:
        return None
    def dist(j: int) -> float:
        return float(loop_dist(e, a, j).detach())

    return max(pos, key=dist), min(neg, key=dist)


def ref_triplet_hard(e: T, y: list[int], margin: float) -> T:
    terms = []
    for a in range(len(y)):
        h = hardest(e, y, a)
        if h is not None:
            terms.append(torch.clamp(loop_dist(e, a, h[0]) - loop_dist(e, a, h[1]) + margin, min=0))
    return sum(terms, e.sum() * 0) / max(len(terms), 1)


def ref_triplet_easy_positive(e: T, y: list[int], margin: float) -> T:
    """Each anchor's closest positive against its closest negative (Xuan et al.), found by loops."""
    terms = []
    for a in range(len(y)):
        pos = [j for j in range(len(y)) if j != a and y[j] == y[a]]
        neg = [j for j in range(len(y)) if y[j] != y[a]]
        if pos and neg:
            p = min(pos, key=lambda j: float(loop_dist(e, a, j).detach()))
            n = min(neg, key=lambda j: float(loop_dist(e, a, j).detach()))
            terms.append(torch.clamp(loop_dist(e, a, p) - loop_dist(e, a, n) + margin, min=0))
    return sum(terms, e.sum() * 0) / max(len(terms), 1)


def ref_triplet_soft(e: T, y: list[int], mining: str) -> T:
    """Soft margin: log(1 + exp(d(a, p) - d(a, n))), over the hardest triplet of each anchor or every triplet."""
    terms = []
    for a in range(len(y)):
        if mining == "batch_hard":
            h = hardest(e, y, a)
            triplets = [(a, *h)] if h is not None else []
        else:
            triplets = [(a, p, n) for p in range(len(y)) for n in range(len(y))
                        if a != p and y[a] == y[p] and y[n] != y[a]]
        for a_, p, n in triplets:
            terms.append(torch.log(1 + torch.exp(loop_dist(e, a_, p) - loop_dist(e, a_, n))))
    return sum(terms, e.sum() * 0) / max(len(terms), 1)


def ref_quadruplet(e: T, y: list[int], margin: float, margin2: float, alpha: float) -> T:
    first, second = [], []
    for a in range(len(y)):
        h = hardest(e, y, a)
        if h is None:
            continue
        p, n = h
        first.append(torch.clamp(loop_dist(e, a, p) - loop_dist(e, a, n) + margin, min=0))
        pairs = [(i, j) for i in range(len(y)) for j in range(len(y))
                 if y[i] != y[j] and y[i] != y[a] and y[j] != y[a]]
        if pairs:
            n1, n2 = min(pairs, key=lambda ij: float(loop_dist(e, *ij).detach()))
            second.append(torch.clamp(loop_dist(e, a, p) - loop_dist(e, n1, n2) + margin2, min=0))
    zero = e.sum() * 0
    return sum(first, zero) / max(len(first), 1) + alpha * sum(second, zero) / max(len(second), 1)


def ref_npair(e: T, y: list[int], scale: float) -> T:
    def dot(i: int, j: int) -> T:
        return sum(e[i, k] * e[j, k] for k in range(e.shape[1]))

    terms = []
    for a in range(len(y)):
        members = [j for j in range(len(y)) if y[j] == y[a]]  # in batch order
        if len(members) < 2:
            continue
        p = members[(members.index(a) + 1) % len(members)]
        firsts = {}
        for j in range(len(y)):
            if y[j] != y[a] and y[j] not in firsts:
                firsts[y[j]] = j
        total = sum((torch.exp(scale * (dot(a, n) - dot(a, p))) for n in firsts.values()), e.sum() * 0)
        terms.append(torch.log(1 + total))
    return sum(terms, e.sum() * 0) / max(len(terms), 1)


def ref_prototypical(e: T, y: list[int], scale: float) -> T:
    """Per query: softmax over -scale * squared distance to each class's prototype (own class: without the query),
    every prototype made by the runtime's ``core.templates.prototype`` on that class's rows."""
    terms = []
    classes = sorted(set(y))
    for q in range(len(y)):
        if y.count(y[q]) < 2:
            continue
        logits = []
        for c in classes:
            rows = [j for j in range(len(y)) if y[j] == c and j != q]
            p = prototype(torch.stack([e[j] for j in rows]))
            logits.append(-scale * sum((e[q, k] / torch.linalg.norm(e[q]) - p[k]) ** 2 for k in range(e.shape[1])))
        lg = torch.stack(logits)
        terms.append(torch.logsumexp(lg, 0) - lg[classes.index(y[q])])
    return sum(terms, e.sum() * 0) / max(len(terms), 1)


CASES: list[tuple[str, Callable[[], MetricLoss], Callable[[T, list[int]], T]]] = [
    ("contrastive", lambda: ContrastiveMetricLoss(margin=1.0),
     lambda e, y: ref_contrastive(e, y, 1.0, True, False)),
    ("contrastive-plain", lambda: ContrastiveMetricLoss(margin=0.8, balance=False),
     lambda e, y: ref_contrastive(e, y, 0.8, False, False)),
    ("contrastive-nonzero", lambda: ContrastiveMetricLoss(margin=1.2, nonzero_negatives=True),
     lambda e, y: ref_contrastive(e, y, 1.2, True, True)),
    ("triplet-all", lambda: TripletLoss(margin=0.3, mining="batch_all"), lambda e, y: ref_triplet_all(e, y, 0.3)),
    ("triplet-hard", lambda: TripletLoss(margin=0.5, mining="batch_hard"), lambda e, y: ref_triplet_hard(e, y, 0.5)),
    ("triplet-easy-positive", lambda: TripletLoss(margin=0.4, mining="easy_positive"),
     lambda e, y: ref_triplet_easy_positive(e, y, 0.4)),
    ("triplet-soft-hard", lambda: TripletLoss(margin="soft", mining="batch_hard"),
     lambda e, y: ref_triplet_soft(e, y, "batch_hard")),
    ("triplet-soft-all", lambda: TripletLoss(margin="soft", mining="batch_all"),
     lambda e, y: ref_triplet_soft(e, y, "batch_all")),
    ("quadruplet", lambda: QuadrupletLoss(margin=0.4, margin2=0.2, alpha=0.7),
     lambda e, y: ref_quadruplet(e, y, 0.4, 0.2, 0.7)),
    ("npair", lambda: NPairLoss(), lambda e, y: ref_npair(e, y, 1.0)),
    ("npair-scaled", lambda: NPairLoss(scale=4.0), lambda e, y: ref_npair(e, y, 4.0)),
    ("prototypical", lambda: PrototypicalLoss(), lambda e, y: ref_prototypical(e, y, 10.0)),
    ("prototypical-plain", lambda: PrototypicalLoss(scale=1.0), lambda e, y: ref_prototypical(e, y, 1.0)),
]
IDS = [c[0] for c in CASES]

LABELS = {
    "pk": [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3],
    "shuffled": [2, 0, 1, 2, 1, 0, 3, 3, 0, 1],
    # skilled forgeries: unique labels (only ever negatives) beside genuine signers 0 and 1
    "forgeries": [0, 0, 0, 1, 1, 1, -1, -2, -3, -4],
    "uneven": [5, 5, 5, 5, 5, 7, 7, 9, 11, 11, 11],
}


def embeddings(n: int, seed: int, *, dim: int = 5) -> T:
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(n, dim, generator=g, dtype=torch.float64), dim=1)


def values_and_grads(fn: Callable[[T], T], e: T) -> tuple[T, T]:
    x = e.clone().requires_grad_(True)
    v = fn(x)
    (g,) = torch.autograd.grad(v, x)
    return v.detach(), g


@pytest.mark.parametrize("labels", list(LABELS), ids=list(LABELS))
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("name", "make", "ref"), CASES, ids=IDS)
def test_matches_loop_reference_values_and_gradients(name: str, make: Callable[[], MetricLoss],
                                                     ref: Callable[[T, list[int]], T], labels: str,
                                                     seed: int) -> None:
    y = LABELS[labels]
    e = embeddings(len(y), seed)
    loss = make()
    got, got_grad = values_and_grads(lambda x: loss(x, torch.tensor(y)), e)
    want, want_grad = values_and_grads(lambda x: ref(x, y), e)
    assert got.ndim == 0
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(got_grad, want_grad, rtol=1e-7, atol=1e-9)
    assert float(got) > 0


@pytest.mark.parametrize(("name", "make", "ref"), CASES, ids=IDS)
def test_ties_in_distances_give_the_reference_value(name: str, make: Callable[[], MetricLoss],
                                                    ref: Callable[[T, list[int]], T]) -> None:
    """Duplicated embeddings (zero distances) and equidistant one-hot embeddings: many exact ties."""
    y = [0, 0, 1, 1, 2, 2, 3]
    dup = embeddings(4, 3).repeat_interleave(2, dim=0)[:7]  # pairs of identical embeddings
    onehot = torch.eye(7, dtype=torch.float64)  # every distance is sqrt(2)
    for e in (dup, onehot):
        got, grad = values_and_grads(lambda x: make()(x, torch.tensor(y)), e)
        torch.testing.assert_close(got, ref(e, y).detach(), rtol=1e-9, atol=1e-10)
        assert torch.isfinite(grad).all()


EMPTY = [(name, labels) for name in sorted(LOSSES) for labels in ([0, 0, 0, 0], [0, 1, 2, 3], [4])
         if not (name == "contrastive" and labels == [0, 0, 0, 0])]  # positives alone are a usable contrastive batch


@pytest.mark.parametrize(("name", "labels"), EMPTY)
def test_no_usable_pairs_give_zero_and_zero_gradient(name: str, labels: list[int]) -> None:
    e = embeddings(len(labels), 4)
    loss = build_loss(name)
    if name == "contrastive":
        e = e * 10  # all-distinct labels: every negative beyond the margin
    value, grad = values_and_grads(lambda x: loss(x, torch.tensor(labels)), e)
    assert float(value) == 0.0 and not torch.isnan(value)
    assert torch.equal(grad, torch.zeros_like(grad))


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_float32_batch_is_finite_and_differentiable(name: str) -> None:
    e = embeddings(16, 5, dim=8).float().requires_grad_(True)
    labels = torch.arange(16) // 4
    build_loss(name)(e, labels).backward()
    assert e.grad is not None and torch.isfinite(e.grad).all() and e.grad.abs().sum() > 0


def test_distance_matrix_matches_loops_with_a_zero_gradient_diagonal() -> None:
    e = embeddings(6, 6).requires_grad_(True)
    d = euclidean_distance_matrix(e)
    want = torch.stack([torch.stack([loop_dist(e, i, j) if i != j else e.sum() * 0 for j in range(6)])
                        for i in range(6)])
    torch.testing.assert_close(d, want, rtol=1e-10, atol=1e-10)
    assert torch.equal(torch.diagonal(d), torch.zeros(6, dtype=d.dtype))
    d.sum().backward()
    assert torch.isfinite(e.grad).all()


def test_batch_contrastive_equals_the_pair_loss_over_every_ordered_pair() -> None:
    y = torch.tensor(LABELS["shuffled"])
    e = embeddings(len(y), 7)
    i, j = torch.nonzero(~torch.eye(len(y), dtype=torch.bool), as_tuple=True)
    pair = ContrastiveLoss(margin=1.1, nonzero_negatives=True)(e[i], e[j], (y[i] != y[j]).double())
    batch = ContrastiveMetricLoss(margin=1.1, nonzero_negatives=True)(e, y)
    torch.testing.assert_close(batch, pair, rtol=1e-6, atol=1e-8)  # the pair form adds 1e-12 under the sqrt


def test_batch_all_triplets_are_exactly_the_valid_ones() -> None:
    y = LABELS["forgeries"]
    a, p, n = batch_all_triplets(torch.tensor(y))
    got = set(zip(a.tolist(), p.tolist(), n.tolist(), strict=True))
    want = {(i, j, k) for i in range(len(y)) for j in range(len(y)) for k in range(len(y))
            if i != j and y[i] == y[j] and y[k] != y[i]}
    assert got == want and len(got) == 2 * 3 * 2 * 7


def test_forgery_labels_are_only_negatives() -> None:
    """A skilled forgery close to its signer's genuine samples raises the loss; it is never pulled in."""
    y = torch.tensor([0, 0, 1, 1, -1])
    # signer 0 around axis 0, signer 1 around axis 1, each a little spread; the forgery imitates signer 0
    e = torch.nn.functional.normalize(torch.eye(5, dtype=torch.float64)[[0, 0, 1, 1, 0]] + 0.3 * embeddings(5, 8),
                                      dim=1)
    far, near = e.clone(), e.clone()
    far[4], near[4] = -(e[0] + e[1]) / torch.linalg.norm(e[0] + e[1]), e[0] * 0.99 + e[1] * 0.01
    for name in LOSSES:
        loss = build_loss(name)
        assert float(loss(near, y)) > float(loss(far, y)), name


def test_registry_and_options() -> None:
    assert set(LOSSES) == {"contrastive", "triplet", "quadruplet", "npair", "prototypical"}
    assert all(issubclass(c, MetricLoss) for c in LOSSES.values())
    assert isinstance(build_loss("triplet", margin=0.1, mining="batch_all"), TripletLoss)
    known = "contrastive, npair, prototypical, quadruplet, triplet"
    with pytest.raises(InvalidInput, match=f"unknown loss 'arcface'; known: {known}"):
        build_loss("arcface")
    with pytest.raises(InvalidInput, match="takes no option mragin; it takes: margin, mining"):
        build_loss("triplet", mragin=0.1)
    with pytest.raises(InvalidInput, match="known: batch_all, batch_hard, easy_positive"):
        TripletLoss(mining="semi_hard")  # type: ignore[arg-type]
    for name, kw in [("triplet", {"margin": 0.0}), ("quadruplet", {"margin2": -1.0}), ("npair", {"scale": 0.0}),
                     ("prototypical", {"scale": -1.0}),
                     ("contrastive", {"margin": -1.0}), ("quadruplet", {"alpha": -0.5})]:
        with pytest.raises(ValueError, match=next(iter(kw))):
            build_loss(name, **kw)


@pytest.mark.parametrize(("emb", "lab"), [((4, 3), (5,)), ((4,), (4,)), ((4, 3), (4, 1))])
def test_shape_errors(emb: tuple[int, ...], lab: tuple[int, ...]) -> None:
    with pytest.raises(InvalidInput, match="must be"):
        build_loss("triplet")(torch.zeros(emb), torch.zeros(lab, dtype=torch.long))
    with pytest.raises(InvalidInput, match="integers"):
        build_loss("triplet")(torch.zeros(4, 3), torch.zeros(4))
    assert not math.isnan(float(build_loss("triplet")(torch.zeros(4, 3), torch.zeros(4, dtype=torch.long))))


def test_triplet_margin_is_a_positive_number_or_soft() -> None:
    with pytest.raises(InvalidInput, match="positive number or 'soft'"):
        TripletLoss(margin="hard")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="positive"):
        TripletLoss(margin=0.0)


def test_easy_positive_lets_a_signer_sign_two_ways() -> None:
    """A signer with two ways of signing (two tight pairs far apart) and a forgery between them: batch-hard mining
    wants each signature nearer its farthest own one than the forgery (impossible here: a loss), easy-positive
    mining only nearer its closest own one (met with room to spare: no loss)."""
    e = torch.tensor([[1.0, 0.0], [0.99, 0.14], [-1.0, 0.0], [-0.99, -0.14], [0.0, 1.0]], dtype=torch.float64)
    e = torch.nn.functional.normalize(e, dim=1)
    y = torch.tensor([0, 0, 0, 0, -1])
    assert float(TripletLoss(margin=0.3, mining="easy_positive")(e, y)) == 0.0
    assert float(TripletLoss(margin=0.3, mining="batch_hard")(e, y)) > 0.5
