"""Tests for biometrix.training.losses.ContrastiveLoss: the formula by loops, gradients, the label convention."""

from __future__ import annotations

import math

import pytest
import torch

from biometrix.training.losses import ContrastiveLoss


def loop_loss(a: torch.Tensor, b: torch.Tensor, y: torch.Tensor, margin: float, balance: bool,
              nonzero: bool = False) -> float:
    """L = (1 - y) d^2 + y max(0, m - d)^2 per pair, by plain Python loops.

    balance: mean over similar + mean over dissimilar pairs; nonzero: the dissimilar mean only over the
    dissimilar pairs still inside the margin."""
    sim, dis = [], []
    for k in range(a.shape[0]):
        d = math.sqrt(sum((float(a[k, j]) - float(b[k, j])) ** 2 for j in range(a.shape[1])))
        if float(y[k]) == 0:
            sim.append(d * d)
        else:
            dis.append(max(0.0, margin - d) ** 2)
    if not balance:
        return (sum(sim) + sum(dis)) / a.shape[0]
    n_dis = sum(1 for v in dis if v > 0) if nonzero else len(dis)
    return (sum(sim) / len(sim) if sim else 0.0) + (sum(dis) / n_dis if n_dis else 0.0)


def pairs(n: int, dim: int, seed: int, *, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, dim, generator=g, dtype=dtype) * 0.4
    b = torch.randn(n, dim, generator=g, dtype=dtype) * 0.4
    y = (torch.rand(n, generator=g) < 0.3).to(dtype)
    return a, b, y


@pytest.mark.parametrize("balance", [False, True])
@pytest.mark.parametrize(("margin", "seed"), [(1.0, 0), (0.5, 1), (2.0, 2)])
def test_matches_the_formula(balance: bool, margin: float, seed: int) -> None:
    a, b, y = pairs(23, 6, seed)
    got = ContrastiveLoss(margin=margin, balance=balance)(a, b, y)
    assert got.ndim == 0
    assert float(got) == pytest.approx(loop_loss(a, b, y, margin, balance), rel=1e-5, abs=1e-6)


@pytest.mark.parametrize(("margin", "seed"), [(1.0, 0), (0.6, 1), (2.0, 2)])
def test_nonzero_negatives_matches_the_formula(margin: float, seed: int) -> None:
    a, b, y = pairs(40, 6, seed)
    y = (torch.arange(40) % 2).float()
    got = float(ContrastiveLoss(margin=margin, nonzero_negatives=True)(a, b, y))
    assert got == pytest.approx(loop_loss(a, b, y, margin, True, nonzero=True), rel=1e-5, abs=1e-6)


def test_nonzero_negatives_ignores_easy_negatives() -> None:
    """Adding dissimilar pairs beyond the margin dilutes the plain mean but not the non-zero mean."""
    a, b, _ = pairs(6, 4, 8)
    y = torch.tensor([0.0, 0.0, 1.0, 1.0, 1.0, 1.0])
    far = torch.full((10, 4), 5.0)
    a2, b2 = torch.cat([a, far]), torch.cat([b, -far])
    y2 = torch.cat([y, torch.ones(10)])
    nz = ContrastiveLoss(margin=3.0, nonzero_negatives=True)
    plain = ContrastiveLoss(margin=3.0)
    assert ((a - b)[2:].norm(dim=1) < 3.0).all()  # the original negatives are hard
    assert float(nz(a2, b2, y2)) == pytest.approx(float(nz(a, b, y)), rel=1e-6)
    assert float(plain(a2, b2, y2)) < float(plain(a, b, y))
    # all negatives easy: the dissimilar term is 0, not 0/0
    easy = nz(torch.zeros(2, 4), torch.full((2, 4), 3.0), torch.ones(2))
    assert float(easy) == 0.0


def test_balanced_and_plain_differ_when_the_classes_are_unbalanced() -> None:
    a, b, y = pairs(20, 4, 3)
    assert 0 < float(y.sum()) < 10
    plain = float(ContrastiveLoss(balance=False)(a, b, y))
    balanced = float(ContrastiveLoss(balance=True)(a, b, y))
    assert plain != pytest.approx(balanced, rel=1e-3)


@pytest.mark.parametrize("label", [0.0, 1.0])
def test_balanced_with_a_single_class(label: float) -> None:
    a, b, _ = pairs(7, 5, 4)
    y = torch.full((7,), label)
    got = float(ContrastiveLoss(margin=1.5, balance=True)(a, b, y))
    assert got == pytest.approx(loop_loss(a, b, y, 1.5, True), rel=1e-5, abs=1e-6)


def test_identical_pairs_give_zero_similar_loss_and_margin_squared_dissimilar() -> None:
    a = torch.randn(4, 3)
    loss = ContrastiveLoss(margin=0.7, balance=False)
    assert float(loss(a, a.clone(), torch.zeros(4))) == pytest.approx(0.0, abs=1e-10)
    assert float(loss(a, a.clone(), torch.ones(4))) == pytest.approx(0.49, rel=1e-5)


@pytest.mark.parametrize(("balance", "nonzero"), [(False, False), (True, False), (True, True)])
def test_gradients_pass_gradcheck(balance: bool, nonzero: bool) -> None:
    a, b, y = pairs(9, 4, 5, dtype=torch.float64)
    a.requires_grad_(True)
    b.requires_grad_(True)
    loss = ContrastiveLoss(margin=1.0, balance=balance, nonzero_negatives=nonzero)
    # no pair sits on the hinge (d == margin), where the loss is not differentiable
    d = (a - b).norm(dim=1).detach()
    assert ((d - 1.0).abs() > 1e-3).all()
    assert torch.autograd.gradcheck(lambda p, q: loss(p, q, y), (a, b), eps=1e-6, atol=1e-6)


def test_gradient_matches_the_closed_form() -> None:
    """dL/da: 2 (a - b) / P for a similar pair, -2 (m - d)(a - b) / (d P) for a dissimilar one inside the margin."""
    a, b, _ = pairs(2, 3, 6, dtype=torch.float64)
    a.requires_grad_(True)
    y = torch.tensor([0.0, 1.0], dtype=torch.float64)
    m = 5.0  # every pair is inside the margin
    ContrastiveLoss(margin=m, balance=False)(a, b, y).backward()
    diff = (a - b).detach()
    d1 = diff[1].norm()
    expected = torch.stack([2 * diff[0] / 2, -2 * (m - d1) * diff[1] / d1 / 2])
    torch.testing.assert_close(a.grad, expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(("balance", "nonzero"), [(False, False), (True, False), (True, True)])
def test_label_convention_y0_pulls_together_y1_pushes_apart(balance: bool, nonzero: bool) -> None:
    """Guards against a label flip: y = 0 (same signer) must shrink d, y = 1 (dissimilar) must grow it."""
    g = torch.Generator().manual_seed(7)
    start_a = torch.randn(6, 8, generator=g) * 0.1
    start_b = start_a + torch.randn(6, 8, generator=g) * 0.1  # all pairs well inside margin 1
    loss_fn = ContrastiveLoss(margin=1.0, balance=balance, nonzero_negatives=nonzero)
    for label, grows in ((0.0, False), (1.0, True)):
        a = torch.nn.Parameter(start_a.clone())
        b = torch.nn.Parameter(start_b.clone())
        opt = torch.optim.SGD([a, b], lr=0.05)
        before = (a - b).norm(dim=1).detach()
        assert (before < 1.0).all()
        for _ in range(5):
            opt.zero_grad()
            loss_fn(a, b, torch.full((6,), label)).backward()
            opt.step()
        after = (a - b).norm(dim=1).detach()
        if grows:
            assert (after > before).all()
        else:
            assert (after < before).all()


def test_dissimilar_pairs_beyond_the_margin_get_no_gradient() -> None:
    a = torch.zeros(3, 2, requires_grad=True)
    b = torch.tensor([[2.0, 0.0], [0.0, 3.0], [1.5, 1.5]])
    ContrastiveLoss(margin=1.0)(a, b, torch.ones(3)).backward()
    assert torch.count_nonzero(a.grad) == 0


@pytest.mark.parametrize(
    ("a", "b", "y"),
    [((4, 3), (4, 2), (4,)), ((4, 3), (3, 3), (4,)), ((4, 3), (4, 3), (5,))],
)
def test_shape_mismatch_is_an_error(a: tuple[int, ...], b: tuple[int, ...], y: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="shapes"):
        ContrastiveLoss()(torch.zeros(a), torch.zeros(b), torch.zeros(y))


@pytest.mark.parametrize("margin", [0.0, -1.0])
def test_margin_must_be_positive(margin: float) -> None:
    with pytest.raises(ValueError, match="margin"):
        ContrastiveLoss(margin=margin)
