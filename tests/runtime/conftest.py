"""Fixtures for runtime tests: a real tiny ONNX encoder (Flatten -> MatMul) and its model card."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

INPUT_SHAPE = (1, 8, 8)
DIM = 4


@dataclass(frozen=True)
class TinyModel:
    folder: Path
    model_id: str
    onnx_path: Path
    card_path: Path
    weight: np.ndarray  # (64, DIM)


def build_onnx(weight: np.ndarray, *, poison: bool = False, input_name: str = "pixels") -> bytes:
    """input (N,1,8,8) -> Flatten -> MatMul(weight) -> (N, DIM); ``poison`` divides by zero."""
    onnx = pytest.importorskip("onnx", reason="building ONNX files needs onnx: pip install 'biometrix[train]'")
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("Flatten", [input_name], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "W"], ["proj" if poison else "embedding"]),
    ]
    inits = [numpy_helper.from_array(weight.astype(np.float32), name="W")]
    if poison:
        nodes.append(helper.make_node("Div", ["proj", "Z"], ["embedding"]))
        inits.append(numpy_helper.from_array(np.zeros((DIM,), np.float32), name="Z"))
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["N", *INPUT_SHAPE])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", DIM])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model.SerializeToString()


def card_dict(model_id: str, sha256: str, /, **overrides: Any) -> dict[str, Any]:
    card: dict[str, Any] = {
        "model_id": model_id,
        "modality": "signature",
        "onnx_file": f"{model_id}.onnx",
        "sha256": sha256,
        "input_name": "pixels",
        "input_shape": list(INPUT_SHAPE),
        "input_dtype": "float32",
        "normalization": {"mean": 0.5, "std": 0.25},
        "embedding_dim": DIM,
        "distance": "cosine",
        "aggregate": "centroid",
        "thresholds": [
            {"name": "default", "value": 0.35, "target_fmr": 0.001, "source": "tiny-dev split"},
            {"name": "strict", "value": 0.2, "target_fmr": 0.0001, "source": "tiny-dev split"},
        ],
        "preprocessing": {"kind": "signature-v1", "binarize": "otsu"},
        "training": {"dataset": "synthetic", "epochs": 0},
        "evaluation": {"eer": 0.1},
        "created_at": "2025-01-01T00:00:00+00:00",
    }
    card.update(overrides)
    return card


@pytest.fixture
def make_model(tmp_path: Path) -> Callable[..., TinyModel]:
    def make(
        model_id: str = "sig-tiny-v1",
        *,
        folder: Path | None = None,
        poison: bool = False,
        seed: int = 0,
        **card_overrides: Any,
    ) -> TinyModel:
        where = folder or tmp_path / "models"
        where.mkdir(parents=True, exist_ok=True)
        weight = np.random.default_rng(seed).standard_normal((64, DIM)).astype(np.float32)
        data = build_onnx(weight, poison=poison)
        onnx_path = where / f"{model_id}.onnx"
        onnx_path.write_bytes(data)
        card_path = where / f"{model_id}.json"
        card = card_dict(model_id, hashlib.sha256(data).hexdigest(), **card_overrides)
        card_path.write_text(json.dumps(card, indent=2))
        return TinyModel(where, model_id, onnx_path, card_path, weight)

    return make
