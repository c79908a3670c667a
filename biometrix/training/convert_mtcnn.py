"""Convert facenet-pytorch's MTCNN weights (P-, R-, O-Net state_dicts) to three ONNX files plus one manifest.

    python -m biometrix.training.convert_mtcnn --out assets/models

writes ``<out>/face-detector-mtcnn-v1/{pnet,rnet,onet}.onnx`` and ``detector.json`` (the sha256 of each file,
the input/output names and shapes, the thresholds and the input normalisation; read by
``biometrix.runtime.face_detector``). The networks are defined here with facenet-pytorch's layer names, so its
``.pt`` files load as they are; facenet-pytorch itself is never imported (it needs torchvision): its package
folder is only located, with ``importlib.util.find_spec``. Each export is checked against torch on random
input with onnxruntime (max abs difference <= ``PARITY_ATOL``).

The networks take RGB, NCHW, ``(x - 127.5) * 0.0078125``, in facenet-pytorch's axis order (H then W: the
transposition of the original Caffe/MATLAB models is already folded into the weights and into the
``permute(0, 3, 2, 1)`` before the dense layers, kept here as is).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from biometrix.training.export import PARITY_ATOL, ParityError, strip_build_metadata

log = logging.getLogger(__name__)

MODEL_ID = "face-detector-mtcnn-v1"
MANIFEST_NAME = "detector.json"
OPSET = 18
SOURCE = "facenet-pytorch 2.6.0 (timesler/facenet-pytorch), data/{pnet,rnet,onet}.pt, from davidsandberg/facenet"


class PNet(nn.Module):
    """(N, 3, H, W) -> regression (N, 4, H', W'), face probability (N, 2, H', W'); H' = ceil((H - 2) / 2) - 4."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 10, kernel_size=3)
        self.prelu1 = nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(10, 16, kernel_size=3)
        self.prelu2 = nn.PReLU(16)
        self.conv3 = nn.Conv2d(16, 32, kernel_size=3)
        self.prelu3 = nn.PReLU(32)
        self.conv4_1 = nn.Conv2d(32, 2, kernel_size=1)
        self.softmax4_1 = nn.Softmax(dim=1)
        self.conv4_2 = nn.Conv2d(32, 4, kernel_size=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.prelu1(self.conv1(x))
        x = self.pool1(x)
        x = self.prelu2(self.conv2(x))
        x = self.prelu3(self.conv3(x))
        return self.conv4_2(x), self.softmax4_1(self.conv4_1(x))


class RNet(nn.Module):
    """(N, 3, 24, 24) -> regression (N, 4), face probability (N, 2)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 28, kernel_size=3)
        self.prelu1 = nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(28, 48, kernel_size=3)
        self.prelu2 = nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(48, 64, kernel_size=2)
        self.prelu3 = nn.PReLU(64)
        self.dense4 = nn.Linear(576, 128)
        self.prelu4 = nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.softmax5_1 = nn.Softmax(dim=1)
        self.dense5_2 = nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu3(self.conv3(x))
        x = x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)  # the TensorFlow (transposed) flatten order
        x = self.prelu4(self.dense4(x))
        return self.dense5_2(x), self.softmax5_1(self.dense5_1(x))


class ONet(nn.Module):
    """(N, 3, 48, 48) -> regression (N, 4), landmarks (N, 10) (x1..x5, y1..y5 in box units), probability (N, 2)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, kernel_size=3)
        self.prelu1 = nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3)
        self.prelu2 = nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(64, 64, kernel_size=3)
        self.prelu3 = nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4 = nn.Conv2d(64, 128, kernel_size=2)
        self.prelu4 = nn.PReLU(128)
        self.dense5 = nn.Linear(1152, 256)
        self.prelu5 = nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.softmax6_1 = nn.Softmax(dim=1)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x))
        x = x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)
        x = self.prelu5(self.dense5(x))
        return self.dense6_2(x), self.dense6_3(x), self.softmax6_1(self.dense6_1(x))


#: name -> (module class, fixed input side or None for any H/W, output names)
NETS: dict[str, tuple[type[nn.Module], int | None, tuple[str, ...]]] = {
    "pnet": (PNet, None, ("regression", "probability")),
    "rnet": (RNet, 24, ("regression", "probability")),
    "onet": (ONet, 48, ("regression", "landmarks", "probability")),
}
INPUT_NAME = "image"


def facenet_data_dir() -> Path:
    """facenet-pytorch's ``data`` folder, found without importing the package (it needs torchvision)."""
    spec = importlib.util.find_spec("facenet_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "facenet-pytorch's weights are needed: pip install --no-deps facenet-pytorch==2.6.0", name="facenet_pytorch"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def load_net(name: str, data_dir: Path | None = None) -> nn.Module:
    """The named network ("pnet", "rnet", "onet") with facenet-pytorch's weights, in eval mode."""
    cls, _, _ = NETS[name]
    net = cls()
    state = torch.load((data_dir or facenet_data_dir()) / f"{name}.pt", map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=True)
    return net.eval()


def export_net(name: str, net: nn.Module, onnx_path: Path) -> Path:
    """Write ``net`` as self-contained ONNX: PNet with dynamic batch/height/width, R/O-Net with dynamic batch."""
    _, side, outputs = NETS[name]
    batch = torch.export.Dim("batch", min=1, max=4096)
    if side is None:
        example = torch.zeros((1, 3, 64, 80), dtype=torch.float32)
        dynamic = {
            0: batch,
            2: torch.export.Dim("height", min=12, max=8192),
            3: torch.export.Dim("width", min=12, max=8192),
        }
    else:
        example = torch.zeros((2, 3, side, side), dtype=torch.float32)
        dynamic = {0: batch}
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        net,
        (example,),
        str(onnx_path),
        dynamo=True,
        opset_version=OPSET,
        external_data=False,
        input_names=[INPUT_NAME],
        output_names=list(outputs),
        dynamic_shapes=(dynamic,),
    )
    strip_build_metadata(onnx_path)
    return onnx_path


def parity_batches(name: str, rng: np.random.Generator) -> list[np.ndarray]:
    """Random normalised inputs in [-1, 1]: several batch sizes, and for PNet several odd and even sizes."""
    _, side, _ = NETS[name]
    if side is None:
        return [
            rng.uniform(-1, 1, (1, 3, h, w)).astype(np.float32) for h, w in ((12, 12), (31, 47), (112, 92), (150, 201))
        ]
    return [rng.uniform(-1, 1, (n, 3, side, side)).astype(np.float32) for n in (1, 7, 64)]


def check_parity(name: str, net: nn.Module, onnx_path: Path, *, atol: float = PARITY_ATOL) -> float:
    """Max |torch - onnxruntime| over every output of ``parity_batches``; ParityError above ``atol``."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"])
    worst = 0.0
    for x in parity_batches(name, np.random.default_rng(0)):
        with torch.no_grad():
            ref = [t.numpy() for t in net(torch.from_numpy(x))]
        got = sess.run(None, {INPUT_NAME: x})
        for r, g in zip(ref, got, strict=True):
            if r.shape != g.shape:
                raise ParityError(f"{name}: ONNX output shape {g.shape} differs from torch's {r.shape}")
            worst = max(worst, float(np.abs(r - g).max()))
    log.info("%s: ONNX parity max abs difference %.2e (tolerance %.0e)", name, worst, atol)
    if worst > atol:
        raise ParityError(f"{name}: ONNX output differs from torch by {worst:.2e} > {atol:.0e}")
    return worst


def convert(out_dir: Path, *, data_dir: Path | None = None) -> Path:
    """Export the three networks into ``out_dir/MODEL_ID/`` with the manifest; returns the manifest path."""
    folder = out_dir / MODEL_ID
    folder.mkdir(parents=True, exist_ok=True)
    networks = {}
    for name, (_, side, outputs) in NETS.items():
        net = load_net(name, data_dir)
        with tempfile.TemporaryDirectory() as tmp:
            tmp_path = export_net(name, net, Path(tmp) / f"{name}.onnx")
            diff = check_parity(name, net, tmp_path)
            data = tmp_path.read_bytes()
        (folder / f"{name}.onnx").write_bytes(data)
        networks[name] = {
            "onnx_file": f"{name}.onnx",
            "sha256": hashlib.sha256(data).hexdigest(),
            "input_name": INPUT_NAME,
            "input_shape": ["N", 3, "H", "W"] if side is None else ["N", 3, side, side],
            "outputs": list(outputs),
            "parity_max_abs_diff": float(f"{diff:.3g}"),
        }
        log.info("wrote %s (%d bytes)", folder / f"{name}.onnx", len(data))
    manifest = {
        "model_id": MODEL_ID,
        "kind": "face-detector",
        "architecture": "mtcnn",
        "input": {"colour": "RGB", "layout": "NCHW", "scale": "(x - 127.5) * 0.0078125"},
        "landmarks": ["left_eye", "right_eye", "nose", "mouth_left", "mouth_right"],
        "networks": networks,
        "defaults": {"thresholds": [0.6, 0.7, 0.7], "factor": 0.709, "min_face_size": 20},
        "source": SOURCE,
        "opset": OPSET,
        "command": "python -m biometrix.training.convert_mtcnn --out assets/models",
    }
    path = folder / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("assets/models"), help="models folder (default assets/models)")
    ap.add_argument("--weights", type=Path, default=None, help="folder with pnet.pt, rnet.pt, onet.pt")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(1)
    path = convert(args.out, data_dir=args.weights)
    log.info("manifest: %s", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
