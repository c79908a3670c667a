"""Few-shot heads (prototypical, matching, relation) over support/query embeddings of an N-way episode."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from biometrix.core.errors import InvalidInput
from biometrix.core.templates import prototype


def _check_episode(support: torch.Tensor, labels: torch.Tensor, query: torch.Tensor | None = None) -> int:
    """Validate support (S, D), labels (S,) with every episode label 0..N-1 present, query (Q, D); return N."""
    if support.ndim != 2 or labels.ndim != 1 or labels.shape[0] != support.shape[0] or support.shape[0] == 0:
        raise InvalidInput(f"support must be (S, D) with labels (S,), got {tuple(support.shape)} "
                           f"and {tuple(labels.shape)}")
    if labels.is_floating_point():
        raise InvalidInput(f"support labels must be integers, got {labels.dtype}")
    n = int(labels.max()) + 1
    if int(labels.min()) < 0 or torch.unique(labels).numel() != n:
        raise InvalidInput(f"support labels must be the episode labels 0..N-1, each present; got "
                           f"{sorted(set(labels.tolist()))}")
    if query is not None and (query.ndim != 2 or query.shape[1] != support.shape[1]):
        raise InvalidInput(f"query must be (Q, {support.shape[1]}), got {tuple(query.shape)}")
    return n


def prototypes(support: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """support (N*K, D), labels (N*K,) in 0..N-1 -> (N, D): row c is the prototype of class c.

    The prototype is ``core.templates.prototype`` (the re-normalised mean of the L2-normalised embeddings),
    the very function the runtime uses to build a multi-reference template, applied to tensors here.
    """
    n = _check_episode(support, labels)
    return torch.stack([prototype(support[labels == c]) for c in range(n)])


class FewShotHead(nn.Module):
    """Base of the heads: ``forward(support (S, D), support_labels (S,), query (Q, D)) -> logits (Q, N)``.

    Support labels are the episode labels 0..N-1 (``samplers.Episode.support_labels``); column c of the
    logits scores class c. ``loss`` is the softmax cross-entropy of the logits against query labels (Q,),
    ``predict`` their argmax (Q,).
    """

    def forward(self, support: torch.Tensor, support_labels: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def loss(self, support: torch.Tensor, support_labels: torch.Tensor, query: torch.Tensor,
             query_labels: torch.Tensor) -> torch.Tensor:
        """Scalar loss of the queries; query_labels (Q,) in 0..N-1."""
        return F.cross_entropy(self(support, support_labels, query), query_labels)

    @torch.no_grad()
    def predict(self, support: torch.Tensor, support_labels: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """(Q,) predicted episode labels of the queries."""
        return self(support, support_labels, query).argmax(dim=1)


class PrototypicalHead(FewShotHead):
    """Snell et al. (2017): logits = -scale * ||query - prototype_c||^2 (Q, N), softmax cross-entropy.

    Prototypes come from ``prototypes`` (unit vectors), so squared distances lie in [0, 4] for unit
    queries; ``scale`` (a fixed temperature, 1 = the plain formula) lets the softmax become confident.
    """

    def __init__(self, *, scale: float = 1.0) -> None:
        super().__init__()
        if not scale > 0:
            raise InvalidInput(f"scale must be positive, got {scale}")
        self.scale = scale

    def forward(self, support: torch.Tensor, support_labels: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        _check_episode(support, support_labels, query)
        protos = prototypes(support, support_labels)
        sq = ((query[:, None, :] - protos[None, :, :]) ** 2).sum(dim=-1)
        return -self.scale * sq


class MatchingHead(FewShotHead):
    """Vinyals et al. (2016) without full-context embeddings: attention a(q, s_i) = softmax_i(scale * cos(q, s_i))
    over every support sample; P(c | q) = sum of the attention on the samples of class c.

    ``forward`` returns log P (Q, N) so that ``loss`` (cross-entropy) is the matching network's NLL.
    """

    def __init__(self, *, scale: float = 1.0) -> None:
        super().__init__()
        if not scale > 0:
            raise InvalidInput(f"scale must be positive, got {scale}")
        self.scale = scale

    def attention(self, support: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """support (S, D), query (Q, D) -> (Q, S) attention, each row summing to 1."""
        cos = F.normalize(query, dim=1) @ F.normalize(support, dim=1).T
        return torch.softmax(self.scale * cos, dim=1)

    def forward(self, support: torch.Tensor, support_labels: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        n = _check_episode(support, support_labels, query)
        onehot = F.one_hot(support_labels, n).to(support.dtype)  # (S, N)
        probs = self.attention(support, query) @ onehot
        return torch.log(probs.clamp(min=torch.finfo(probs.dtype).tiny))


class RelationModule(nn.Module):
    """The learned relation g([query, prototype]) -> score in [0, 1]: (Q, D), (N, D) -> (Q, N).

    Pure tensor operations (no labels), so it exports to ONNX with dynamic Q and N. ``logits`` are the scores
    before the final sigmoid (the same order, so the same argmax).
    """

    def __init__(self, embedding_dim: int, *, hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2 * embedding_dim, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def logits(self, query: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
        """(Q, N) relation logits: the module's output before its sigmoid."""
        q = query[:, None, :].expand(-1, prototypes.shape[0], -1)
        p = prototypes[None, :, :].expand(query.shape[0], -1, -1)
        return self.net(torch.cat([q, p], dim=-1)).squeeze(-1)

    def forward(self, query: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(query, prototypes))


#: The relation head's training objectives: Sung et al.'s mean squared error of the sigmoid scores against the
#: one-hot labels, or the softmax cross-entropy over the N relation logits of each query.
RELATION_OBJECTIVES = ("mse", "cross_entropy")


class RelationHead(FewShotHead):
    """Sung et al. (2018): relation scores r(q, c) = RelationModule([q, prototype_c]) in [0, 1] (Q, N),
    trained with the mean squared error against the one-hot query labels (``objective="mse"``, the paper's), or
    with the softmax cross-entropy over each query's N relation logits (``objective="cross_entropy"``).

    With MSE and 20-way episodes, 19 of every 20 targets are 0: the loss is lowest (1/N) with every score near 0
    whatever the pair, and a relation MLP on embeddings settles there before it learns to compare (every score
    tied, chance accuracy). The cross-entropy scores a query's right class only against its wrong ones, so
    constant scores cost log N and the module must rank the classes; the module and its scores are unchanged.

    ``forward`` returns the scores (they play the logits' part: the argmax is the prediction). Export
    ``head.relation`` to ONNX to score queries against enrolled prototypes outside torch.
    """

    def __init__(self, embedding_dim: int, *, hidden: int = 64, objective: str = "mse") -> None:
        super().__init__()
        if objective not in RELATION_OBJECTIVES:
            raise InvalidInput(f"relation objective must be one of {', '.join(RELATION_OBJECTIVES)}, "
                               f"got {objective!r}")
        self.relation = RelationModule(embedding_dim, hidden=hidden)
        self.objective = objective

    def forward(self, support: torch.Tensor, support_labels: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        _check_episode(support, support_labels, query)
        return self.relation(query, prototypes(support, support_labels))

    def loss(self, support: torch.Tensor, support_labels: torch.Tensor, query: torch.Tensor,
             query_labels: torch.Tensor) -> torch.Tensor:
        _check_episode(support, support_labels, query)
        logits = self.relation.logits(query, prototypes(support, support_labels))
        if self.objective == "cross_entropy":
            return F.cross_entropy(logits, query_labels)
        scores = torch.sigmoid(logits)
        return F.mse_loss(scores, F.one_hot(query_labels, scores.shape[1]).to(scores.dtype))
