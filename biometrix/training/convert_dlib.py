"""Convert dlib's face recognition ResNet (.dat) into a shipped model: ONNX + model card.

python -m biometrix.training.convert_dlib --out assets/models [--dat PATH] [--model-id ID]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from biometrix.runtime.model_card import ModelCard, sha256_file
from biometrix.training.dlib_resnet import (
    EMBEDDING_DIM,
    INPUT_SIZE,
    MODEL_FILE_NAME,
    DlibFaceResnet,
    default_dat_path,
    read_dlib_face_resnet,
)
from biometrix.training.export import check_parity, export_onnx

log = logging.getLogger(__name__)

DEFAULT_MODEL_ID = "face-dlib-resnet-v1"
# dlib documents Euclidean 0.6 between its raw descriptors as "same person"; the runtime compares unit vectors,
# where d_cos = d_euc**2 / 2, so 0.6 becomes 0.18. Provisional: calibrate on face data before relying on it.
PROVISIONAL_COSINE_THRESHOLD = 0.18
_PARITY_SAMPLES = 4


def _card_dict(
    model_id: str, sha: str, *, source_sha: str, parity: float, margin: float, dist_thresh: float
) -> dict[str, Any]:
    return {
        "model_id": model_id,
        "modality": "face",
        "onnx_file": f"{model_id}.onnx",
        "sha256": sha,
        "input_name": "input",
        "input_shape": [3, INPUT_SIZE, INPUT_SIZE],
        "input_dtype": "float32",
        "normalization": {"mean": 0.0, "std": 1.0},
        "embedding_dim": EMBEDDING_DIM,
        "distance": "cosine",
        "aggregate": "mean",
        "thresholds": [
            {
                "name": "default",
                "value": PROVISIONAL_COSINE_THRESHOLD,
                "target_fmr": None,
                "source": "provisional until calibrated by bench/face_eval.py: dlib's documented Euclidean 0.6 "
                "between descriptors, as a cosine distance between unit vectors (0.6**2 / 2)",
            }
        ],
        "preprocessing": {
            "kind": "face-chip",
            "detector": "mtcnn",
            "template": "dlib-chip-150",
            "channels": "rgb",
            "pixel_range": [0, 255],
            "note": "the chip geometry of dlib's get_face_chip(size=150, padding=0.25), reached from MTCNN's 5 points",
        },
        "training": {
            "source_file": MODEL_FILE_NAME,
            "source_sha256": source_sha,
            "author": "Davis E. King (dlib, github.com/davisking/dlib-models)",
            "license": "public domain (dlib-models README: released into the public domain)",
            "architecture": "dlib anet_type of dnn_face_recognition_ex.cpp: ResNet with 29 conv layers "
            "(con 32 7x7/2, max_pool 3x3/2, residual blocks of 32/64/128/256 filters, avg_pool_everything, "
            "fc_no_bias 128); batch norm folded into affine layers",
            "data": "about 3 million faces of 7485 identities (FaceScrub, VGG Face and images scraped by the "
            "author), no identity overlap with LFW (dlib-models README)",
            "loss": f"dlib loss_metric (margin {margin:g}, distance threshold {dist_thresh:g})",
            "reported_accuracy": "99.38 % (std 0.27 %) on LFW, as reported by dlib; not measured here",
            "conversion": "biometrix.training.dlib_resnet reads dlib's serialization; the input normalisation "
            "(pixel - (122.782, 117.001, 104.298)) / 256 is inside the ONNX graph; the output is dlib's raw "
            "descriptor (the runtime L2-normalises it)",
            "onnx_parity_max_abs_diff": parity,
        },
        "evaluation": {},
        "created_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
    }


def convert_dlib_face_model(dat_path: str | Path, out_dir: str | Path, model_id: str = DEFAULT_MODEL_ID) -> Path:
    """Read dlib's .dat, export it to ``out_dir/<model_id>.onnx`` (torch vs onnxruntime parity checked)
    and write its card ``out_dir/<model_id>.json``; returns the ONNX path."""
    dat = Path(dat_path)
    out = Path(out_dir)
    weights = read_dlib_face_resnet(dat)
    model = DlibFaceResnet(weights).eval()
    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / f"{model_id}.onnx"
    with tempfile.TemporaryDirectory() as tmp:
        tmp_onnx = Path(tmp) / "model.onnx"
        export_onnx(model, tmp_onnx, input_shape=(3, INPUT_SIZE, INPUT_SIZE))
        probe = np.random.default_rng(0).uniform(0, 255, (_PARITY_SAMPLES, 3, INPUT_SIZE, INPUT_SIZE))
        parity = check_parity(model, tmp_onnx, probe.astype(np.float32))
        onnx_path.write_bytes(tmp_onnx.read_bytes())
    card = ModelCard.from_dict(
        _card_dict(
            model_id,
            sha256_file(onnx_path),
            source_sha=sha256_file(dat),
            parity=parity,
            margin=weights.loss_margin,
            dist_thresh=weights.loss_distance_threshold,
        ),
        source=f"card of {model_id}",
    )
    card.save(out / f"{model_id}.json")
    log.info("wrote %s (%d bytes) and its card", onnx_path, onnx_path.stat().st_size)
    return onnx_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m biometrix.training.convert_dlib", description=__doc__)
    parser.add_argument("--out", required=True, type=Path, help="folder for <model_id>.onnx and .json")
    parser.add_argument("--dat", type=Path, default=None, help=f"default: {MODEL_FILE_NAME} of face_recognition_models")
    parser.add_argument("--model-id", default=DEFAULT_MODEL_ID)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(1)
    onnx_path = convert_dlib_face_model(args.dat or default_dat_path(), args.out, args.model_id)
    print(f"wrote {onnx_path} and {onnx_path.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
