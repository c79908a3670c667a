"""The fixed HOG branch and the hybrid encoder, against an independent numpy implementation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from biometrix.training.encoder import HybridSignatureEncoder, SignatureCNN
from biometrix.training.export import export_onnx
from biometrix.training.hog import HogDescriptor


def numpy_hog(img: np.ndarray, *, cell: int, bins: int = 9, sharpness: int = 4) -> np.ndarray:
    """Loop-based reference: central-difference gradients, doubled-angle soft bins, cells, 2x2 blocks."""
    h, w = img.shape
    p = np.pad(img.astype(np.float64), 1)
    gx = p[1:-1, 2:] - p[1:-1, :-2]
    gy = p[2:, 1:-1] - p[:-2, 1:-1]
    hist = np.zeros((h // cell, w // cell, bins))
    for y in range(h // cell * cell):
        for x in range(w // cell * cell):
            m2 = max(gx[y, x] ** 2 + gy[y, x] ** 2, 1e-12)
            theta2 = math.atan2(2 * gx[y, x] * gy[y, x] / m2, (gx[y, x] ** 2 - gy[y, x] ** 2) / m2)
            for k in range(bins):
                resp = max(0.0, math.cos(theta2 - 2 * math.pi * (k + 0.5) / bins)) ** sharpness
                hist[y // cell, x // cell, k] += resp * math.sqrt(m2) / cell**2
    out = []
    for i in (0, 1):
        for j in (0, 1):
            out.append(hist[i : hist.shape[0] - 1 + i, j : hist.shape[1] - 1 + j, :])
    blocks = np.concatenate([np.moveaxis(b, 2, 0) for b in out], axis=0)  # (4 bins, h-1, w-1)
    blocks = blocks / np.sqrt(np.maximum((blocks**2).sum(axis=0, keepdims=True), 1e-6))
    v = blocks.ravel()
    return v / np.linalg.norm(v)


def test_hog_matches_a_loop_reference() -> None:
    rng = np.random.default_rng(0)
    img = (rng.random((32, 48)) > 0.85).astype(np.float32)
    got = HogDescriptor(cell=8)(torch.from_numpy(img)[None, None]).numpy()[0]
    want = numpy_hog(img, cell=8)
    assert got.shape == want.shape == (9 * 4 * 3 * 5,)
    np.testing.assert_allclose(got, want, atol=2e-5)


def test_hog_orientation_bins_follow_the_stroke_direction() -> None:
    vertical = np.zeros((32, 32), np.float32)
    vertical[:, 15:17] = 1.0  # a vertical stroke: horizontal gradients (doubled angle 0)
    horizontal = vertical.T.copy()
    hd = HogDescriptor(cell=8)
    v = hd(torch.from_numpy(vertical)[None, None])[0].view(36, 3, 3).sum(dim=(1, 2)).view(4, 9).sum(0)
    h = hd(torch.from_numpy(horizontal)[None, None])[0].view(36, 3, 3).sum(dim=(1, 2)).view(4, 9).sum(0)
    # bins next to doubled angle 0 (first and last) dominate for vertical strokes; the middle bins for horizontal
    assert v[[0, 8]].sum() > 5 * v[[3, 4, 5]].sum()
    assert h[[3, 4, 5]].sum() > 5 * h[[0, 8]].sum()


def test_hog_of_a_blank_image_is_finite() -> None:
    out = HogDescriptor(cell=16)(torch.zeros(2, 1, 96, 192))
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("w", [0.3, 0.5, 1.0])
def test_hybrid_cosine_is_the_weighted_fusion(w: float) -> None:
    torch.manual_seed(0)
    cnn = SignatureCNN(width=4, embedding_dim=16).eval()
    hybrid = HybridSignatureEncoder(cnn, cnn_weight=w, hog_cell=16).eval()
    x = (torch.rand(4, 1, 96, 192) > 0.9).float()
    with torch.no_grad():
        e = hybrid(x)
        a, b = cnn(x), HogDescriptor(cell=16)(x)
    assert torch.allclose(e.norm(dim=1), torch.ones(4), atol=1e-5)
    fused = w * (a @ a.T) + (1 - w) * (b @ b.T) if w < 1 else a @ a.T
    assert torch.allclose(e @ e.T, fused, atol=1e-5)


def test_hybrid_exports_to_onnx_without_nans(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = HybridSignatureEncoder(SignatureCNN(width=4, embedding_dim=16), cnn_weight=0.5).eval()
    path = export_onnx(model, tmp_path / "h.onnx", input_shape=(1, 96, 192))
    x = (np.random.default_rng(1).random((3, 1, 96, 192)) > 0.9).astype(np.float32)
    x[2] = 0.0  # a blank image has zero gradients everywhere
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_export_leaves_no_build_machine_paths(tmp_path: Path) -> None:
    """The exporter records stack traces (source and venv paths) per node; export_onnx strips them."""
    import onnx

    path = export_onnx(SignatureCNN(width=4, embedding_dim=16).eval(), tmp_path / "m.onnx", input_shape=(1, 96, 192))
    proto = onnx.load(str(path))
    assert all(len(n.metadata_props) == 0 and not n.doc_string for n in proto.graph.node)
    data = path.read_bytes()
    assert b"site-packages" not in data and str(Path(__file__).resolve().parents[2]).encode() not in data


def test_shipped_models_carry_no_build_metadata() -> None:
    import onnx

    models = Path(__file__).resolve().parents[2] / "assets" / "models"
    files = sorted(models.glob("*.onnx"))
    assert files, f"no model in {models}"
    for f in files:
        proto = onnx.load(str(f))
        assert all(len(n.metadata_props) == 0 for n in proto.graph.node), f
        assert b"site-packages" not in f.read_bytes(), f
