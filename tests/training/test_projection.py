"""The linear back end (WCCN, LDA, forgery-aware LDA) against closed forms computed independently here."""

from __future__ import annotations

import numpy as np
import pytest

from biometrix.core.errors import InvalidInput
from biometrix.training.projection import fit_projection, scatter_matrices


def _signers(rng: np.random.Generator, n_signers: int, per: int, dim: int, *, spread: np.ndarray
             ) -> tuple[np.ndarray, list[int], list[bool]]:
    centres = rng.normal(size=(n_signers, dim)) * 3.0
    x = np.concatenate([c + rng.normal(size=(per, dim)) * spread for c in centres])
    return x, [k for k in range(n_signers) for _ in range(per)], [True] * (n_signers * per)


def test_two_signer_lda_is_fishers_discriminant() -> None:
    rng = np.random.default_rng(0)
    x, signer, genuine = _signers(rng, 2, 200, 5, spread=np.array([1.0, 0.2, 3.0, 0.5, 1.5]))
    proj = fit_projection(x, signer, genuine, dims=1, shrinkage=0.0)
    a, b = x[:200], x[200:]
    s_w = np.cov(a.T, bias=True) + np.cov(b.T, bias=True)  # pooled within-class scatter (equal sizes)
    fisher = np.linalg.solve(s_w, a.mean(0) - b.mean(0))
    w = proj.matrix[:, 0]
    assert abs(w @ fisher) / np.linalg.norm(w) / np.linalg.norm(fisher) > 0.9999


def test_whitening_makes_the_within_signer_covariance_the_identity() -> None:
    rng = np.random.default_rng(1)
    x, signer, genuine = _signers(rng, 6, 50, 4, spread=np.array([0.1, 1.0, 2.0, 0.5]))
    proj = fit_projection(x, signer, genuine, dims=4, shrinkage=0.0, whiten_only=True)
    y = (x - proj.mean) @ proj.matrix  # before the final normalisation
    resid = np.concatenate([y[k * 50 : (k + 1) * 50] - y[k * 50 : (k + 1) * 50].mean(0) for k in range(6)])
    np.testing.assert_allclose(resid.T @ resid / len(resid), np.eye(4), atol=1e-9)


def test_forgery_weight_turns_the_projection_towards_where_forgeries_leave_their_signer() -> None:
    rng = np.random.default_rng(2)
    dim, per = 6, 30
    x, signer, genuine = _signers(rng, 8, per, dim, spread=np.ones(dim))
    x[:, 5] = rng.normal(size=len(x)) * 0.3  # signers do not differ along axis 5 ...
    forgeries = np.concatenate([x[k * per : k * per + 10] for k in range(8)])
    forgeries[:, 5] += 3.0  # ... but every forgery leaves its signer along it
    emb = np.concatenate([x, forgeries])
    sig = signer + [k for k in range(8) for _ in range(10)]
    gen = genuine + [False] * 80
    axis5 = np.eye(dim)[5]

    def top(weight: float) -> float:
        w = fit_projection(emb, sig, gen, dims=1, forgery_weight=weight, shrinkage=0.0).matrix[:, 0]
        return abs(w @ axis5) / np.linalg.norm(w)

    assert top(0.0) < 0.3
    assert top(1.0) > 0.95


def test_scatter_matrices_by_direct_sums() -> None:
    x = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0], [0.0, 6.0], [1.0, 1.0]])
    mu, s_w, s_b, s_f = scatter_matrices(x, ["a", "a", "b", "b", "a"], [True, True, True, True, False])
    np.testing.assert_allclose(mu, [0.5, 2.5])
    # a: mean (1, 0), deviations (-1, 0), (1, 0); b: mean (0, 5), deviations (0, -1), (0, 1)
    np.testing.assert_allclose(s_w, np.diag([2.0, 2.0]) / 4)
    # (m - mu): a (0.5, -2.5), b (-0.5, 2.5), two samples each
    np.testing.assert_allclose(s_b, 2 * 2 * np.outer([0.5, -2.5], [0.5, -2.5]) / 4)
    np.testing.assert_allclose(s_f, np.outer([0.0, 1.0], [0.0, 1.0]))  # forgery (1, 1) - a's mean (1, 0)


def test_the_output_is_unit_length_in_the_projected_space() -> None:
    rng = np.random.default_rng(3)
    x, signer, genuine = _signers(rng, 5, 20, 8, spread=np.ones(8))
    proj = fit_projection(x, signer, genuine, dims=3)
    out = proj(x)
    assert out.shape == (100, 3)
    raw = (x - proj.mean) @ proj.matrix
    np.testing.assert_allclose(out, raw / np.linalg.norm(raw, axis=1, keepdims=True))
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0)


@pytest.mark.parametrize(("signer", "genuine", "match"), [
    (["a", "a", "a"], [True, True, True], "at least 2 signers"),
    (["a", "a", "b"], [True, True, True], "signer b has 1 genuine"),
])
def test_too_little_data_is_refused(signer: list[str], genuine: list[bool], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        fit_projection(np.eye(3), signer, genuine, dims=2)


def test_bad_options_are_refused() -> None:
    x, signer, genuine = _signers(np.random.default_rng(4), 3, 5, 4, spread=np.ones(4))
    with pytest.raises(InvalidInput, match="dims must lie in 1..4"):
        fit_projection(x, signer, genuine, dims=5)
    with pytest.raises(InvalidInput, match="dims must be 4"):
        fit_projection(x, signer, genuine, dims=2, whiten_only=True)
