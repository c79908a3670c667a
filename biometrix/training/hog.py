"""A fixed (not learned) HOG-style descriptor as a torch module, so that it exports into the same ONNX graph.

Histograms of oriented gradients (Dalal and Triggs, 2005) describe stroke direction and density cell by
cell; on signatures they complement a small learned encoder. Orientation is binned without atan2: with
the doubled angle, cos 2(θ - θ_k) = cos 2θ cos 2θ_k + sin 2θ sin 2θ_k comes from gx and gy directly,
and a sharpened positive part of it gives a soft, unsigned, 9-bin histogram.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class HogDescriptor(nn.Module):
    """(N, 1, H, W) ink image -> (N, 9 * 4 * (H/cell - 1) * (W/cell - 1)) L2-normalised HOG vector.

    Gradients by central differences, 9 unsigned orientation bins, ``cell`` x ``cell`` cells, 2 x 2 cell
    blocks (stride one cell) L2-normalised, then the whole vector L2-normalised. No parameters.
    """

    def __init__(self, *, cell: int = 8, bins: int = 9, sharpness: int = 4) -> None:
        super().__init__()
        self.cell, self.bins, self.sharpness = cell, bins, sharpness
        kx = torch.tensor([[[[-1.0, 0.0, 1.0]]]])
        self.register_buffer("kx", kx, persistent=False)
        self.register_buffer("ky", kx.transpose(2, 3).contiguous(), persistent=False)
        angles = torch.tensor([2 * math.pi * (k + 0.5) / bins for k in range(bins)])  # doubled bin centres
        self.register_buffer("cos_k", torch.cos(angles).view(1, bins, 1, 1), persistent=False)
        self.register_buffer("sin_k", torch.sin(angles).view(1, bins, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gx = F.conv2d(x, self.kx, padding=(0, 1))
        gy = F.conv2d(x, self.ky, padding=(1, 0))
        # clamp, not "+ eps": the ONNX exporter's optimiser folds a tiny added constant away (0/0 = NaN)
        m2 = torch.clamp(gx * gx + gy * gy, min=1e-12)
        mag = torch.sqrt(m2)
        cos2 = (gx * gx - gy * gy) / m2
        sin2 = 2 * gx * gy / m2
        resp = torch.relu(cos2 * self.cos_k + sin2 * self.sin_k) ** self.sharpness  # (N, bins, H, W)
        hist = F.avg_pool2d(resp * mag, self.cell)  # (N, bins, H/cell, W/cell)
        blocks = torch.cat([hist[:, :, i : hist.shape[2] - 1 + i, j : hist.shape[3] - 1 + j]
                            for i in (0, 1) for j in (0, 1)], dim=1)  # (N, 4 bins, h-1, w-1)
        blocks = blocks / torch.sqrt(torch.clamp((blocks * blocks).sum(dim=1, keepdim=True), min=1e-6))
        return F.normalize(blocks.flatten(1), dim=1)
