"""Export a trained encoder to ONNX with its model card, and check parity against onnxruntime."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger(__name__)

PARITY_ATOL = 1e-4


class ParityError(RuntimeError):
    """The ONNX model's outputs differ from torch's by more than the tolerance."""


def export_onnx(model: torch.nn.Module, onnx_path: Path, *, input_shape: tuple[int, int, int],
                input_name: str = "input", output_name: str = "embedding") -> Path:
    """Write ``model`` (eval mode) as a self-contained ONNX file (opset 18, weights inside, dynamic batch)."""
    model = model.eval()
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    example = torch.zeros((2, *input_shape), dtype=torch.float32)
    batch = torch.export.Dim("batch", min=1, max=4096)
    torch.onnx.export(
        model,
        (example,),
        str(onnx_path),
        dynamo=True,
        opset_version=18,
        external_data=False,
        input_names=[input_name],
        output_names=[output_name],
        dynamic_shapes=({0: batch},),
    )
    strip_build_metadata(onnx_path)
    return onnx_path


def strip_build_metadata(onnx_path: Path) -> None:
    """Remove what the exporter records about the build machine: per-node metadata (stack traces with this
    machine's source and venv paths, FX node names) and doc strings. The graph and weights are untouched."""
    import onnx

    proto = onnx.load(str(onnx_path))
    proto.doc_string = ""
    del proto.metadata_props[:]
    graphs = [proto.graph] + [f for f in proto.functions]
    for g in graphs:
        g.doc_string = ""
        for node in g.node:
            node.doc_string = ""
            del node.metadata_props[:]
    for value in list(proto.graph.input) + list(proto.graph.output) + list(proto.graph.value_info):
        value.doc_string = ""
    onnx.save(proto, str(onnx_path))


def check_parity(model: torch.nn.Module, onnx_path: Path, batch: np.ndarray, *, atol: float = PARITY_ATOL) -> float:
    """Max |torch - onnxruntime| over ``batch`` (N, C, H, W); raises ParityError above ``atol``."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        ref = model.eval()(torch.from_numpy(batch)).numpy()
    got = sess.run(None, {sess.get_inputs()[0].name: batch})[0]
    diff = float(np.abs(ref - got).max())
    log.info("ONNX parity on %d samples: max abs difference %.2e (tolerance %.0e)", len(batch), diff, atol)
    if diff > atol:
        raise ParityError(f"ONNX output differs from torch by {diff:.2e} > {atol:.0e}")
    return diff
