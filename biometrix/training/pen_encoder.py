"""A learned Siamese encoder of pen motion (issue 27's second arm): a small 1-D CNN over the local pen features,
trained with the toolkit's triplet loss, skilled forgeries as the hard negatives of the writer they imitate.

Each signature's ``local_features`` are resampled to ``LENGTH`` points (a fixed length keeps batches free of
padding), with the log of its pen-down time over 3 s as one more constant channel so the tempo is not lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from biometrix.preprocess.pen_dynamics import LOCAL_FEATURES, local_features, pen_time_ms
from biometrix.training.losses import build_loss
from biometrix.training.samplers import PKSampler

LENGTH = 256
IN_CHANNELS = len(LOCAL_FEATURES) + 1


def encoder_input(strokes: Sequence[np.ndarray]) -> np.ndarray:
    """(IN_CHANNELS, LENGTH) float32: the local features resampled to LENGTH points, and log(pen time / 3 s)."""
    f = local_features(strokes)
    grid = np.linspace(0, len(f) - 1, LENGTH)
    resampled = np.stack([np.interp(grid, np.arange(len(f)), f[:, c]) for c in range(f.shape[1])])
    tempo = np.full((1, LENGTH), np.log(max(pen_time_ms(strokes), 1.0) / 3000.0))
    return np.concatenate([resampled, tempo]).astype(np.float32)


class PenEncoder(nn.Module):
    """(N, IN_CHANNELS, LENGTH) -> (N, dim) L2-normalised: three convolution blocks, mean and max over time."""

    def __init__(self, *, width: int = 48, dim: int = 64) -> None:
        super().__init__()

        def block(a: int, b: int, k: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv1d(a, b, k, padding=k // 2), nn.BatchNorm1d(b), nn.ReLU())

        self.features = nn.Sequential(block(IN_CHANNELS, width, 7), nn.MaxPool1d(2), block(width, width, 5),
                                      nn.MaxPool1d(2), block(width, 2 * width, 3), nn.MaxPool1d(2),
                                      block(2 * width, 2 * width, 3))
        self.head = nn.Linear(4 * width, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        return F.normalize(self.head(torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1)), dim=1)


@dataclass(frozen=True)
class TrainConfig:
    """The recipe, fixed before any figure: P writers x (K genuine + K of their skilled forgeries) per batch."""

    epochs: int = 30
    batches_per_epoch: int = 25
    p: int = 8
    k: int = 4
    lr: float = 2e-3
    margin: float = 0.2
    jitter: float = 0.05
    seed: int = 0


def train_encoder(inputs: np.ndarray, writer: np.ndarray, genuine: np.ndarray, cfg: TrainConfig = TrainConfig(),
                  *, log: bool = True) -> PenEncoder:
    """Train on ``inputs`` (N, C, L): ``writer[i]`` whose signature sample i shows, ``genuine[i]`` whether it is
    theirs. Genuine samples are labelled by writer, each forgery by a label of its own (never a positive), so the
    batch-hard triplet loss pulls a writer's signatures together and pushes their forgeries out."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    labels = np.where(genuine, writer, -1 - np.arange(len(writer)))
    forgeries = {int(w): np.flatnonzero((writer == w) & ~genuine) for w in np.unique(writer)}
    sampler = PKSampler(np.where(genuine, writer, -1 - np.arange(len(writer))), p=cfg.p, k=cfg.k,
                        batches_per_epoch=cfg.batches_per_epoch, seed=cfg.seed, small="skip")
    model = PenEncoder()
    loss_fn = build_loss("triplet", margin=cfg.margin, mining="batch_hard")
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.epochs * cfg.batches_per_epoch)
    x_all = torch.from_numpy(inputs)
    for epoch in range(cfg.epochs):
        sampler.set_epoch(epoch)
        model.train()
        total = 0.0
        for batch in sampler:
            writers = {int(writer[i]) for i in batch}
            idx = list(batch) + [int(j) for w in sorted(writers)
                                 for j in rng.choice(forgeries[w], size=min(cfg.k, len(forgeries[w])), replace=False)]
            x = x_all[idx]
            x = x * (1 + cfg.jitter * torch.randn(len(idx), x.shape[1], 1)) + cfg.jitter * torch.randn_like(x)
            loss = loss_fn(model(x), torch.from_numpy(labels[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach())
        if log and (epoch % 5 == 4 or epoch == cfg.epochs - 1):
            print(f"    epoch {epoch + 1:3d}: loss {total / cfg.batches_per_epoch:.4f}", flush=True)
    return model.eval()


@torch.no_grad()
def embed(model: PenEncoder, inputs: np.ndarray, *, batch: int = 128) -> np.ndarray:
    """(N, dim) embeddings of (N, C, L) inputs."""
    model.eval()
    parts = [model(torch.from_numpy(inputs[i : i + batch])).numpy() for i in range(0, len(inputs), batch)]
    return np.concatenate(parts)
