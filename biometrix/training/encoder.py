"""Siamese encoders: one weight-shared backbone maps every sample to an L2-normalised embedding."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def _conv(cin: int, cout: int, k: int = 3) -> nn.Sequential:
    conv = nn.Conv2d(cin, cout, k, padding=k // 2, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class CovariancePool(nn.Module):
    """Second-order pooling, a position-free texture descriptor: (N, C, H, W) -> (N, c(c+1)/2).

    A 1x1 convolution reduces the map to ``channels`` non-negative features; their Gram matrix averaged over
    the H*W positions says which features occur together anywhere in the image (as a contour-hinge histogram
    counts pairs of stroke directions), and its square root (element-wise) keeps a few strong co-occurrences
    from drowning the rest. Only the upper triangle is kept (the matrix is symmetric).
    """

    def __init__(self, in_channels: int, channels: int) -> None:
        super().__init__()
        self.reduce = _conv(in_channels, channels, 1)
        rows, cols = torch.triu_indices(channels, channels)
        self.register_buffer("upper", rows * channels + cols, persistent=False)
        self.out_dim = channels * (channels + 1) // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.reduce(x).flatten(2)  # (N, c, HW), >= 0 after the ReLU
        gram = torch.bmm(z, z.transpose(1, 2)) / z.shape[2]
        return torch.sqrt(gram.flatten(1).index_select(1, self.upper) + 1e-6)


#: The (rows, columns) grid the signature networks pool their last feature map to: the layout survives.
SIGNATURE_GRID = (3, 6)


def signature_features(in_channels: int, w: int) -> nn.Sequential:
    """The signature networks' convolutional stages: (N, in_channels, H, W) -> (N, 8w, H/16, W/16)."""
    return nn.Sequential(
        _conv(in_channels, w, 5), nn.MaxPool2d(2),
        _conv(w, 2 * w), nn.MaxPool2d(2),
        _conv(2 * w, 4 * w), _conv(4 * w, 4 * w), nn.MaxPool2d(2),
        _conv(4 * w, 8 * w), _conv(8 * w, 8 * w), nn.MaxPool2d(2),
    )


class SignatureCNN(nn.Module):
    """A small VGG-style CNN for (N, 1, H, W) ink images -> (N, embedding_dim) unit vectors.

    Four conv stages with max pooling, then an adaptive average pool to a (3, 6) grid so that the
    layout of the signature (which part is where) survives into the embedding. ``embedding_bn`` adds a batch
    norm before the normalisation: it centres the embeddings, so they cannot all point one way (a narrow cone).
    ``texture_channels`` > 0 adds a :class:`CovariancePool` of the last feature map beside the grid: what the
    strokes are like, wherever they are (a skilled forger copies the layout, not the stroke quality).
    """

    def __init__(self, *, embedding_dim: int = 128, width: int = 32, dropout: float = 0.3,
                 embedding_bn: bool = False, texture_channels: int = 0) -> None:
        super().__init__()
        w = width
        self.features = signature_features(1, w)
        self.pool = nn.AdaptiveAvgPool2d(SIGNATURE_GRID)
        self.texture = CovariancePool(8 * w, texture_channels) if texture_channels > 0 else None
        extra = self.texture.out_dim if self.texture is not None else 0
        head: list[nn.Module] = [nn.Flatten(), nn.Dropout(dropout), nn.Linear(8 * w * 18 + extra, embedding_dim)]
        if embedding_bn:
            head.append(nn.BatchNorm1d(embedding_dim))
        self.head = nn.Sequential(*head)
        self.embedding_dim = embedding_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_features(x)[0]

    def forward_with_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the embedding, the last feature map (N, 8w, H/16, W/16)) in one pass."""
        f = self.features(x)
        if self.texture is None:
            return F.normalize(self.head(self.pool(f)), dim=1), f
        return F.normalize(self.head(torch.cat([self.pool(f).flatten(1), self.texture(f)], dim=1)), dim=1), f


#: Local matching: a cell of one signature's last feature map is matched within this many rows and columns of
#: cells of the other (a cell is 16 x 16 pixels of the 96 x 192 input: genuine signatures shift).
LOCAL_ROWS, LOCAL_COLS = 1, 2


def inked_cells(x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """x (N, 1, H, W) inputs -> (N, gh * gw) bool: the cells of a gh x gw grid with ink in them."""
    n, _, h, w = x.shape
    gh, gw = grid
    return (x.reshape(n, gh, h // gh, gw, w // gw).amax(dim=(2, 4)) > 0).reshape(n, gh * gw)


def local_distance_matrix(features: torch.Tensor, ink: torch.Tensor) -> torch.Tensor:
    """(N, N) local distances of a batch's last feature maps (N, C, gh, gw), ``ink`` (N, gh * gw) their inked
    cells: for each inked cell of a, the largest cosine similarity to an inked cell of b at most
    ``LOCAL_ROWS`` rows and ``LOCAL_COLS`` columns away (0 if none), averaged over a's inked cells; one minus
    the mean of the two directions. Differentiable (through the maxima)."""
    n, c, gh, gw = features.shape
    cells = F.normalize(features.flatten(2).transpose(1, 2), dim=2)  # (N, cells, C), unit rows
    r = torch.arange(gh * gw, device=features.device) // gw
    col = torch.arange(gh * gw, device=features.device) % gw
    near = ((r[:, None] - r[None]).abs() <= LOCAL_ROWS) & ((col[:, None] - col[None]).abs() <= LOCAL_COLS)
    sim = torch.einsum("aic,bjc->abij", cells, cells)
    allowed = near[None, None] & ink[:, None, :, None] & ink[None, :, None, :]
    sim = torch.where(allowed, sim, torch.zeros_like(sim))
    inkf = ink.to(features.dtype)
    counts = inkf.sum(dim=1).clamp(min=1.0)
    a_to_b = (sim.amax(dim=3) * inkf[:, None]).sum(dim=2) / counts[:, None]
    return 1.0 - (a_to_b + a_to_b.T) / 2


class SiameseEncoder(nn.Module):
    """The Siamese pair: the same backbone (shared weights) applied to both sides of a pair."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.backbone(a), self.backbone(b)


class FaceCNN(nn.Module):
    """A small CNN for aligned grey face chips: (N, 1, S, S) in [0, 1] -> (N, embedding_dim) unit vectors.

    Each chip is first standardised on its own (zero mean, unit variance: an instance norm without
    parameters), so global brightness and contrast never reach the filters. Four conv stages (widths
    w, 2w, 4w 4w, 8w) with max pooling, then an adaptive average pool to a ``grid`` x ``grid`` map, so the
    layout of the aligned face (eyes above nose above mouth) survives into the embedding.
    """

    def __init__(self, *, embedding_dim: int = 128, width: int = 16, grid: int = 4, dropout: float = 0.2) -> None:
        super().__init__()
        w = width
        self.standardise = nn.InstanceNorm2d(1, affine=False, eps=1e-3)
        self.features = nn.Sequential(
            _conv(1, w), nn.MaxPool2d(2),
            _conv(w, 2 * w), nn.MaxPool2d(2),
            _conv(2 * w, 4 * w), _conv(4 * w, 4 * w), nn.MaxPool2d(2),
            _conv(4 * w, 8 * w), nn.MaxPool2d(2),
        )
        self.pool = nn.AdaptiveAvgPool2d(grid)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(8 * w * grid * grid, embedding_dim))
        self.embedding_dim = embedding_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.head(self.pool(self.features(self.standardise(x)))), dim=1)


BACKBONES = {"signature_cnn": SignatureCNN, "face_cnn": FaceCNN}


def build_backbone(name: str, **kwargs: int | float) -> nn.Module:
    """The backbone registered under ``name``."""
    try:
        return BACKBONES[name](**kwargs)
    except KeyError:
        raise ValueError(f"unknown backbone {name!r}; known: {', '.join(sorted(BACKBONES))}") from None


class EnsembleEncoder(nn.Module):
    """Several trained encoders of the same input side by side: (N, ...) -> (N, D_1 + ... + D_k).

    Output = [m_1(x), ..., m_k(x)] / sqrt(k) with every member's output a unit vector, so the output is a
    unit vector too and its cosine similarity to another is the mean of the members' cosine similarities:
    the members' distances averaged inside one encoder (one ONNX file, one embedding per sample).
    """

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([m(x) for m in self.members], dim=1) * len(self.members) ** -0.5


class HybridSignatureEncoder(nn.Module):
    """A learned CNN embedding and a fixed HOG descriptor side by side: (N, 1, H, W) -> (N, D_cnn + D_hog).

    Output = [sqrt(w) * cnn(x), sqrt(1 - w) * hog(x)] with both parts unit vectors, so the output is a
    unit vector too and its cosine similarity to another is w * cos_cnn + (1 - w) * cos_hog: a weighted
    fusion of the two distances inside one encoder. ``cnn_weight`` is chosen on validation subjects.
    """

    def __init__(self, cnn: nn.Module, *, cnn_weight: float = 0.5, hog_cell: int = 16) -> None:
        super().__init__()
        if not 0.0 < cnn_weight <= 1.0:
            raise ValueError(f"cnn_weight must lie in (0, 1], got {cnn_weight}")
        from biometrix.training.hog import HogDescriptor

        self.cnn = cnn
        self.hog = HogDescriptor(cell=hog_cell)
        self.cnn_weight = cnn_weight
        self.hog_cell = hog_cell

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.cnn(x) * self.cnn_weight**0.5
        if self.cnn_weight == 1.0:
            return a
        return torch.cat([a, self.hog(x) * (1.0 - self.cnn_weight) ** 0.5], dim=1)
