"""MAML's inner loop against a hand-written two-step computation (second-order term included, and checked by finite
differences), the first-order option dropping exactly that term, Proto-MAML's start, and a real short run learning."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F

from biometrix.core.errors import InvalidInput
from biometrix.evaluation.omniglot import load_runs
from biometrix.training.fewshot import PrototypicalHead
from biometrix.training.fewshot_eval import runs_nway_accuracy
from biometrix.training.fewshot_train import ConvFour
from biometrix.training.maml import MamlConfig, MamlLearner, build_learner, fit_maml, inner_loop

torch.set_num_threads(1)
DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "omniglot"
ALPHA = 0.7


def problem(seed: int = 0) -> tuple[nn.Linear, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A tiny linear model (logistic regression, 3 weights) with a support and a query set."""
    g = torch.Generator().manual_seed(seed)
    model = nn.Linear(3, 1, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.randn(1, 3, generator=g, dtype=torch.float64))
    xs, xq = torch.randn(6, 3, generator=g, dtype=torch.float64), torch.randn(5, 3, generator=g, dtype=torch.float64)
    ys, yq = (torch.rand(6, generator=g) < 0.5).double(), (torch.rand(5, generator=g) < 0.5).double()
    return model, xs, ys, xq, yq


def bce(model: nn.Linear, w: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(functional_call(model, {"weight": w}, (x,)).squeeze(1), y)


def maml_gradient(theta: torch.Tensor, *, first_order: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(outer loss, its gradient w.r.t. theta) through two inner steps of ``inner_loop``."""
    model, xs, ys, xq, yq = problem()
    w0 = theta.reshape(1, -1).clone().requires_grad_(True)
    adapted = inner_loop(lambda p: bce(model, p["weight"], xs, ys), {"weight": w0}, steps=2, lr=ALPHA,
                         first_order=first_order)
    outer = bce(model, adapted["weight"], xq, yq)
    (g,) = torch.autograd.grad(outer, w0)
    return outer.detach(), g.reshape(-1)


def by_hand(theta: np.ndarray) -> dict[str, np.ndarray]:
    """The same two steps in numpy: logistic-regression gradient X^T (s - y) / n, Hessian X^T diag(s (1 - s)) X / n."""
    _, xs, ys, xq, yq = (t.numpy() if isinstance(t, torch.Tensor) else t for t in problem())
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    gradient = lambda w, x, y: x.T @ (sig(x @ w) - y) / len(y)  # noqa: E731
    hessian = lambda w, x: x.T @ np.diag(sig(x @ w) * (1 - sig(x @ w))) @ x / len(x)  # noqa: E731
    t1 = theta - ALPHA * gradient(theta, xs, ys)
    t2 = t1 - ALPHA * gradient(t1, xs, ys)
    gq = gradient(t2, xq, yq)
    eye = np.eye(len(theta))
    # d theta2 / d theta0 = (I - a H(theta1)) (I - a H(theta0)); both Hessians symmetric
    full = (eye - ALPHA * hessian(theta, xs)) @ (eye - ALPHA * hessian(t1, xs)) @ gq
    z = xq @ t2
    loss = float(np.mean(np.maximum(z, 0) - z * yq + np.log1p(np.exp(-np.abs(z)))))
    return {"theta2": t2, "first_order": gq, "second_order": full, "hessian_term": full - gq, "loss": loss}


def test_two_inner_steps_match_the_hand_written_second_order_gradient() -> None:
    model, *_ = problem()
    theta = model.weight.detach().reshape(-1)
    loss, g = maml_gradient(theta, first_order=False)
    ref = by_hand(theta.numpy())
    assert float(loss) == pytest.approx(ref["loss"], rel=1e-12)
    np.testing.assert_allclose(g.numpy(), ref["second_order"], rtol=1e-10, atol=1e-12)
    # the Hessian term is not negligible here, so the check can tell second from first order
    assert np.linalg.norm(ref["hessian_term"]) > 0.05 * np.linalg.norm(ref["first_order"])


def test_second_order_gradient_agrees_with_finite_differences() -> None:
    model, *_ = problem()
    theta = model.weight.detach().reshape(-1).numpy()
    h = 1e-6
    fd = np.array([(by_hand(theta + h * e)["loss"] - by_hand(theta - h * e)["loss"]) / (2 * h)
                   for e in np.eye(len(theta))])
    _, g = maml_gradient(torch.from_numpy(theta), first_order=False)
    np.testing.assert_allclose(g.numpy(), fd, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(by_hand(theta)["second_order"], fd, rtol=1e-6, atol=1e-9)


def test_first_order_drops_exactly_the_second_order_term() -> None:
    model, *_ = problem()
    theta = model.weight.detach().reshape(-1)
    _, second = maml_gradient(theta, first_order=False)
    loss_fo, first = maml_gradient(theta, first_order=True)
    ref = by_hand(theta.numpy())
    # the same adapted weights (first order changes only the gradient), the outer gradient taken at them
    assert float(loss_fo) == pytest.approx(ref["loss"], rel=1e-12)
    np.testing.assert_allclose(first.numpy(), ref["first_order"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose((second - first).numpy(), ref["hessian_term"], rtol=1e-9, atol=1e-12)


def test_bad_inner_settings_are_refused() -> None:
    with pytest.raises(InvalidInput, match="inner"):
        inner_loop(lambda p: p["w"].sum(), {"w": torch.zeros(2)}, steps=1, lr=0.0, first_order=False)
    with pytest.raises(InvalidInput, match="head_init"):
        MamlLearner(ConvFour(width=8, embedding_dim=8), head_init="random")
    with pytest.raises(InvalidInput, match="unknown config keys: inner_stepz"):
        MamlConfig.from_dict({"inner_stepz": 3})


def test_proto_maml_starts_as_the_prototypical_head() -> None:
    """With zero inner steps Proto-MAML's logits are the prototypical head's plus a per-query constant."""
    torch.manual_seed(0)
    learner = MamlLearner(ConvFour(width=8, embedding_dim=16), head_init="prototypes", scale=10.0)
    support, labels, query = torch.randn(5, 1, 28, 28), torch.arange(5), torch.randn(7, 1, 28, 28)
    params = learner.adapt(support, labels, steps=0)
    got = learner.logits(params, query)
    with torch.no_grad():
        # batch norm uses each batch's own statistics: support and query are embedded apart, as in the learner
        want = PrototypicalHead(scale=10.0)(learner.encoder(support), labels, learner.encoder(query))
    diff = (got - want).detach()
    np.testing.assert_allclose(diff.numpy(), diff[:, :1].expand_as(diff).numpy(), atol=1e-4)


@pytest.mark.skipif(not (DATA / "all_runs.zip").is_file(), reason=f"Omniglot not found under {DATA}")
@pytest.mark.parametrize("head_init", ["zero", "prototypes"])
def test_a_short_real_run_learns(tmp_path: Path, head_init: str) -> None:
    """A few dozen second-order 5-way episodes: the loss falls and 5-way 1-shot accuracy on Lake's evaluation
    characters (untouched by training) is well above chance (20 %) and above the untrained start."""
    cfg = MamlConfig(out_dir=str(tmp_path), data_root=str(DATA), width=16, embedding_dim=32, n_way=5, n_query=3,
                     inner_steps=1, inner_lr=0.4 if head_init == "zero" else 0.02, head_init=head_init,
                     episodes_per_epoch=20, epochs=2,
                     validation_classes=20, validation_episodes=10, choice_episodes=10,
                     test_steps_choices=(1,), threads=1)
    runs = load_runs(DATA)[:4]
    torch.manual_seed(cfg.seed)
    before = runs_nway_accuracy(build_learner(cfg).classifier(), runs, size=28, episodes_per_run=10)
    result = fit_maml(cfg, progress=False)
    history = [h["loss"] for h in json.loads((tmp_path / "history.json").read_text())]
    assert history[-1] < history[0], history
    learner = build_learner(cfg)
    learner.load_state_dict(torch.load(tmp_path / "best.pt", weights_only=False)["model"])
    after = runs_nway_accuracy(learner.classifier(), runs, size=28, episodes_per_run=10)
    assert after >= 0.20 + 0.15 and after > before, (before, after, result)


def test_biometrix_train_routes_maml_configs_and_refuses_unknown_keys(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from biometrix.cli import main

    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"task": "omniglot-maml", "inner_stepz": 2}))
    assert main(["train", "--config", str(cfg)]) == 2
    assert "unknown config keys: inner_stepz" in capsys.readouterr().err
