"""A 2-channel pair network: a reference and a probe stacked as one two-channel image, compared from the first layer.

A Siamese encoder sees one signature at a time and can only compare what survives into its embedding. A
2-channel network (Zagoruyko and Komodakis, CVPR 2015) sees both at once: its first convolution already
looks at the same place of the two signatures together, so it can learn where a careful copy departs from the
model (hesitation, stroke width, a slightly different join), which a global embedding averages away.

It has no embedding: every comparison is one forward pass on the pair, so it verifies (a probe against a
subject's 5 references is 5 passes) and cannot index a gallery for 1:N. It is trained with binary
cross-entropy on the balanced genuine / skilled-forgery / random-forgery pairs that
:class:`~biometrix.training.data.BalancedPairBatches` forms, and scored under the protocol by
:func:`biometrix.evaluation.protocol.pair_protocol_scores`: its distance is the probability that the two
samples come from different writers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from biometrix.core.errors import InvalidInput
from biometrix.evaluation.protocol import PAIR_AGGREGATES, pair_protocol_scores, summarize
from biometrix.training.data import PairBatch, SignatureSample, to_tensor_batch
from biometrix.training.device import model_device
from biometrix.training.encoder import SIGNATURE_GRID, signature_features


class PairSignatureCNN(nn.Module):
    """(N, 2, H, W) pairs (channel 0 the reference, channel 1 the probe) -> (N,) logits of "different writers".

    The convolutional stages of :class:`~biometrix.training.encoder.SignatureCNN` with two input channels,
    the same pooling to a (3, 6) grid, then a hidden layer and one output.
    """

    def __init__(self, *, width: int = 16, dropout: float = 0.3, hidden: int = 128) -> None:
        super().__init__()
        w = width
        self.features = signature_features(2, w)
        self.pool = nn.AdaptiveAvgPool2d(SIGNATURE_GRID)
        cells = SIGNATURE_GRID[0] * SIGNATURE_GRID[1]
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(8 * w * cells, hidden),
                                  nn.ReLU(inplace=True), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 2:
            raise InvalidInput(f"a pair network takes (N, 2, H, W) pairs, got shape {tuple(x.shape)}")
        return self.head(self.pool(self.features(x)))[:, 0]


def stack_pairs(images: torch.Tensor, left: np.ndarray, right: np.ndarray) -> torch.Tensor:
    """images (N, 1, H, W), pair rows left / right (P,) -> (P, 2, H, W): left in channel 0, right in 1."""
    return torch.cat([images[torch.as_tensor(left)], images[torch.as_tensor(right)]], dim=1)


def subsample_pairs(pb: PairBatch, n: int, rng: np.random.Generator) -> PairBatch:
    """At most ``n`` of the batch's pairs, drawn without replacement within each kind (genuine, skilled
    forgery, random forgery) in proportion to the kind's share, so the batch stays balanced. ``n`` = 0 or
    at least the number of pairs: the batch as it is."""
    total = len(pb.y)
    if n <= 0 or n >= total:
        return pb
    kinds = np.where(pb.y == 0, 0, np.where(pb.skilled, 1, 2))
    counts = np.bincount(kinds, minlength=3)
    # largest remainders: the kinds' shares of n, rounded so that they add up to n exactly
    share = counts * n / total
    take = np.floor(share).astype(int)
    for k in np.argsort(-(share - take), kind="stable")[: n - take.sum()]:
        take[k] += 1
    keep = np.sort(np.concatenate([rng.choice(np.flatnonzero(kinds == k), size=take[k], replace=False)
                                   for k in range(3)]))
    return PairBatch(images=pb.images, left=pb.left[keep], right=pb.right[keep], y=pb.y[keep],
                     skilled=pb.skilled[keep])


def pair_loss(model: PairSignatureCNN, images: torch.Tensor, pb: PairBatch, rng: np.random.Generator) -> torch.Tensor:
    """Binary cross-entropy of the model's logits against y (1 = different writers, the skilled forgery of a
    signer included) on the batch's pairs, each pair's order drawn at random so the model learns both."""
    swap = rng.random(len(pb.y)) < 0.5
    left = np.where(swap, pb.right, pb.left)
    right = np.where(swap, pb.left, pb.right)
    logits = model(stack_pairs(images, left, right))
    return F.binary_cross_entropy_with_logits(logits, torch.from_numpy(pb.y).to(logits.device))


def pair_distances(model: PairSignatureCNN, images: np.ndarray, left: np.ndarray, right: np.ndarray, *,
                   batch_size: int = 128) -> np.ndarray:
    """(P,) distances in [0, 1] (the probability of different writers) of the pairs (left[i], right[i]) of
    ``images`` (N, 1, H, W), scored in batches; the sigmoid is taken in float64 so that confident pairs keep
    their order instead of tying at 0 or 1."""
    model.eval()
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).to(model_device(model))
    logits = []
    with torch.no_grad():
        for i in range(0, len(left), batch_size):
            pairs = stack_pairs(x, left[i : i + batch_size], right[i : i + batch_size])
            logits.append(model(pairs).float().cpu().numpy())
    z = np.concatenate(logits).astype(np.float64) if logits else np.zeros(0)
    return 1.0 / (1.0 + np.exp(-z))


def pair_summaries(model: PairSignatureCNN, samples: Sequence[SignatureSample], *, height: int, width: int
                   ) -> dict[str, dict[str, dict[str, float]]]:
    """Protocol EERs of the pair network on ``samples``: {aggregate: {source: summary}}, as
    ``train.summaries_of`` gives for an encoder."""
    images = to_tensor_batch([s.ink for s in samples], height=height, width=width)
    scores = [pair_protocol_scores(samples, lambda a, b: pair_distances(model, images, a, b), source=src)
              for src in sorted({s.source for s in samples})]
    return {agg: {ps.source: summarize(ps, agg) for ps in scores} for agg in PAIR_AGGREGATES}
