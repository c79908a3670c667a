"""Tests for biometrix.training.convert_mtcnn: weights load strictly, and the ONNX cascade reproduces
facenet-pytorch's own ``detect_face`` (run with torch, torchvision's batched_nms replaced by a plain loop)."""

from __future__ import annotations

import importlib.util
import sys
import types
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from biometrix.runtime.face_detector import MtcnnDetector
from biometrix.training.convert_mtcnn import NETS, facenet_data_dir, load_net

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
ATT_ZIP = DATA / "att_faces" / "att_faces.zip"
HAVE_FACENET = importlib.util.find_spec("facenet_pytorch") is not None
pytestmark = pytest.mark.skipif(not HAVE_FACENET, reason="facenet-pytorch (weights) is not installed")


def loop_batched_nms(boxes: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor, thr: float) -> torch.Tensor:
    b, s, ids = boxes.double().numpy(), scores.double().numpy(), idxs.numpy()
    keep: list[int] = []
    for i in np.argsort(-s, kind="stable"):
        for j in keep:
            iw = max(0.0, min(b[i, 2], b[j, 2]) - max(b[i, 0], b[j, 0]))
            ih = max(0.0, min(b[i, 3], b[j, 3]) - max(b[i, 1], b[j, 1]))
            union = (b[i, 2] - b[i, 0]) * (b[i, 3] - b[i, 1]) + (b[j, 2] - b[j, 0]) * (b[j, 3] - b[j, 1]) - iw * ih
            if ids[i] == ids[j] and union > 0 and iw * ih / union > thr:
                break
        else:
            keep.append(int(i))
    return torch.as_tensor(keep, dtype=torch.long)


@pytest.fixture(scope="module")
def facenet_detect_face():
    """facenet-pytorch's detect_face module, loaded from its file with stand-ins for the torchvision it imports."""
    stubs = {
        n: types.ModuleType(n)
        for n in (
            "torchvision",
            "torchvision.transforms",
            "torchvision.transforms.functional",
            "torchvision.ops",
            "torchvision.ops.boxes",
        )
    }
    stubs["torchvision.ops.boxes"].batched_nms = loop_batched_nms  # type: ignore[attr-defined]
    saved = {n: sys.modules.get(n) for n in stubs}
    sys.modules.update(stubs)
    try:
        path = facenet_data_dir().parent / "models" / "utils" / "detect_face.py"
        spec = importlib.util.spec_from_file_location("_facenet_detect_face", path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    finally:
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m
    return module


@pytest.mark.parametrize("name", list(NETS))
def test_facenet_weights_load_strictly(name):
    net = load_net(name)
    n_params = sum(p.numel() for p in net.parameters())
    assert n_params == {"pnet": 6632, "rnet": 100178, "onet": 389040}[name]


@pytest.mark.skipif(not ATT_ZIP.is_file(), reason=f"AT&T faces not found at {ATT_ZIP}")
def test_onnx_cascade_reproduces_facenet_detect_face(facenet_detect_face):
    torch.set_num_threads(1)
    nets = [load_net(n) for n in ("pnet", "rnet", "onet")]
    ours = MtcnnDetector(intra_op_threads=1)
    with zipfile.ZipFile(ATT_ZIP) as zf:
        images = [
            cv2.imdecode(np.frombuffer(zf.read(f"att_faces/s{s}/{i}.pgm"), np.uint8), cv2.IMREAD_GRAYSCALE)
            for s in range(1, 41, 4)
            for i in (2, 7)
        ]
    pair = np.zeros((240, 320), np.uint8)
    pair[20:132, 10:102], pair[100:212, 200:292] = images[0], images[1]
    for gray in [*images, pair]:
        rgb = np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
        with torch.no_grad():
            boxes, points = facenet_detect_face.detect_face(rgb, 20, *nets, [0.6, 0.7, 0.7], 0.709, "cpu")
        boxes, points = boxes[0].astype(np.float64), points[0].astype(np.float64)
        order = np.argsort(-boxes[:, 4], kind="stable")
        dets = ours.detect(rgb)
        assert len(dets) == len(boxes)
        np.testing.assert_allclose([(*d.bbox, d.score) for d in dets], boxes[order], atol=0.02)
        np.testing.assert_allclose(np.stack([d.landmarks5 for d in dets]), points[order], atol=0.02)
