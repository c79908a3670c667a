"""A linear projection of trained embeddings, fitted on training signers: WCCN, LDA and forgery-aware LDA.

The triplet-trained signature encoder puts every embedding in a narrow cone (README, "The signature
model"), so cosine distances are dominated by the few directions in which *genuine* signatures of one
signer already vary. Speaker verification meets the same problem with x-vectors and answers it with a
linear back end fitted on training speakers: centre, LDA, length-normalise, then score by cosine.
Here, with ``x`` an embedding, ``m_k`` the mean of signer k's genuine embeddings and ``μ`` the mean of all
genuine embeddings (training signers only):

  - within-signer scatter  ``S_w = mean over genuine x of (x - m_k)(x - m_k)ᵀ``;
  - between-signer scatter ``S_b = mean over genuine x of (m_k - μ)(m_k - μ)ᵀ``;
  - forgery scatter        ``S_f = mean over skilled forgeries f of k of (f - m_k)(f - m_k)ᵀ``: the directions
    in which a forgery of k leaves k's genuine signatures.

The projection ``P`` (D x d) holds the top-d generalised eigenvectors of ``(S_b + α S_f) v = λ S_w' v`` with
``S_w' = S_w + ε tr(S_w)/D I`` (shrinkage, as few signers make S_w noisy), scaled so that ``Pᵀ S_w' P = I``:
after it, within-signer variation is white and the directions that separate signers (and forgeries,
with ``α > 0``) come first. ``whiten_only`` keeps every direction and only whitens (``P = S_w'^(-1/2)``,
WCCN: within-class covariance normalisation). The output ``y = Pᵀ(x - μ)`` is L2-normalised again, so the runtime's
cosine distance and aggregates apply unchanged. ``bench/cv_posthoc.py --methods wccn lda32 flda32`` scores it
on cross-validation folds; no shipped model uses it (README: "A linear back end").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from biometrix.core.errors import InvalidInput


@dataclass(frozen=True)
class Projection:
    """``y = normalize(matrix.T @ (x - mean))``: mean (D,), matrix (D, d)."""

    mean: np.ndarray
    matrix: np.ndarray

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = (np.asarray(x, np.float64) - self.mean) @ self.matrix
        return y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)


def scatter_matrices(emb: np.ndarray, signer: Sequence[object], genuine: Sequence[bool]
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(μ, S_w, S_b, S_f) of the module docstring. Every signer needs 2+ genuine samples; forgeries are optional."""
    x = np.asarray(emb, np.float64)
    key = np.asarray([str(s) for s in signer])
    gen = np.asarray(genuine, bool)
    if x.ndim != 2 or len(x) != len(key) or len(x) != len(gen):
        raise InvalidInput("embeddings, signers and genuine flags must have one row each")
    signers = sorted(set(key[gen]))
    if len(signers) < 2:
        raise InvalidInput("fitting a projection needs genuine samples of at least 2 signers")
    mu = x[gen].mean(0)
    d = x.shape[1]
    s_w, s_b, s_f = np.zeros((d, d)), np.zeros((d, d)), np.zeros((d, d))
    n_forg = 0
    for k in signers:
        g = x[gen & (key == k)]
        if len(g) < 2:
            raise InvalidInput(f"signer {k} has {len(g)} genuine sample(s); a projection needs 2 or more each")
        m = g.mean(0)
        s_w += (g - m).T @ (g - m)
        s_b += len(g) * np.outer(m - mu, m - mu)
        f = x[~gen & (key == k)]
        s_f += (f - m).T @ (f - m)
        n_forg += len(f)
    n_gen = int(gen.sum())
    return mu, s_w / n_gen, s_b / n_gen, s_f / max(n_forg, 1)


def fit_projection(emb: np.ndarray, signer: Sequence[object], genuine: Sequence[bool], *, dims: int,
                   forgery_weight: float = 0.0, shrinkage: float = 0.1, whiten_only: bool = False) -> Projection:
    """Fit the projection of the module docstring on training embeddings (one row per sample).

    ``signer``: each sample's signer (a skilled forgery carries the signer it imitates); ``genuine``: False for
    skilled forgeries. ``whiten_only``: WCCN (``S_w'^(-1/2)``, every direction kept, ``dims`` must be D).
    """
    mu, s_w, s_b, s_f = scatter_matrices(emb, signer, genuine)
    d = s_w.shape[0]
    if not 1 <= dims <= d:
        raise InvalidInput(f"dims must lie in 1..{d}, got {dims}")
    if forgery_weight < 0 or not 0 <= shrinkage < 1:
        raise InvalidInput("forgery_weight must be >= 0 and shrinkage in [0, 1)")
    b = (1 - shrinkage) * s_w + shrinkage * np.trace(s_w) / d * np.eye(d)
    # B = L Lᵀ; with C = L⁻¹ A L⁻ᵀ = U Λ Uᵀ, V = L⁻ᵀ U solves A V = B V Λ and Vᵀ B V = I.
    chol = np.linalg.cholesky(b)
    inv = np.linalg.inv(chol)
    if whiten_only:
        if dims != d:
            raise InvalidInput(f"whitening keeps every direction: dims must be {d}")
        return Projection(mu, inv.T.copy())
    a = s_b + forgery_weight * s_f
    lam, u = np.linalg.eigh(inv @ a @ inv.T)
    order = np.argsort(lam)[::-1][:dims]
    return Projection(mu, inv.T @ u[:, order])

