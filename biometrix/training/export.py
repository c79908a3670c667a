"""Export a trained encoder to ONNX with its model card, and check parity against onnxruntime."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from biometrix.core.errors import BiometrixError
from biometrix.training.device import cpu_model

log = logging.getLogger(__name__)

PARITY_ATOL = 1e-4


class ParityError(BiometrixError, RuntimeError):
    """The ONNX model's outputs differ from torch's by more than the tolerance (the CLI: one line, exit 2)."""


def export_onnx(model: torch.nn.Module, onnx_path: Path, *, input_shape: tuple[int, int, int],
                input_name: str = "input", output_name: str = "embedding") -> Path:
    """Write ``model`` (eval mode) as a self-contained ONNX file (opset 18, weights inside, dynamic batch); a model
    on a GPU is exported from a CPU copy."""
    model = cpu_model(model).eval()
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


#: Initializers smaller than this stay float32 (biases, batch-norm statistics): halving them saves nothing.
FP16_MIN_ELEMENTS = 1024


def fuse_batch_norm(model: torch.nn.Module) -> torch.nn.Module:
    """Fold every eval-mode BatchNorm2d that directly follows a Conv2d, and every BatchNorm1d that directly
    follows a Linear (an embedding batch norm), in an ``nn.Sequential`` into that layer, in place (the
    BatchNorm becomes an Identity). The exporter folds them the same way, so this changes nothing in the ONNX
    graph, but it makes the weights that will be exported visible in torch."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

    model.eval()
    for seq in [m for m in model.modules() if isinstance(m, torch.nn.Sequential)]:
        for i in range(len(seq) - 1):
            if isinstance(seq[i], torch.nn.Conv2d) and isinstance(seq[i + 1], torch.nn.BatchNorm2d):
                seq[i] = fuse_conv_bn_eval(seq[i], seq[i + 1])
                seq[i + 1] = torch.nn.Identity()
            elif isinstance(seq[i], torch.nn.Linear) and isinstance(seq[i + 1], torch.nn.BatchNorm1d):
                seq[i] = fuse_linear_bn_eval(seq[i], seq[i + 1])
                seq[i + 1] = torch.nn.Identity()
    return model


def round_to_fp16(model: torch.nn.Module) -> torch.nn.Module:
    """Fold batch norms into their convolutions (``fuse_batch_norm``), then round every floating parameter
    and buffer of ``model`` to the nearest float16 value, in place (the tensors stay float32). A model
    rounded so exports weights that ``store_weights_fp16`` stores exactly."""
    fuse_batch_norm(model)
    with torch.no_grad():
        for t in list(model.parameters()) + list(model.buffers()):
            if t.is_floating_point():
                t.copy_(t.half().float())
    return model


def store_weights_fp16(onnx_path: Path, *, min_elements: int = FP16_MIN_ELEMENTS) -> int:
    """Store the large float32 initializers of an ONNX file as float16, each followed by a Cast back to
    float32: the file shrinks by about half, the graph still computes in float32 (onnxruntime folds the
    casts once, when the session is made). Refuses a weight that float16 would change: round the model
    with ``round_to_fp16`` before export. Returns the number of initializers converted."""
    import onnx
    from onnx import helper, numpy_helper

    proto = onnx.load(str(onnx_path))
    graph = proto.graph
    casts, converted = [], 0
    for init in graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT:
            continue
        w = numpy_helper.to_array(init)
        if w.size < min_elements:
            continue
        half = w.astype(np.float16)
        if not np.array_equal(half.astype(np.float32), w):
            raise ValueError(f"initializer {init.name!r} is not float16-exact: round the model first")
        name = init.name
        init.CopyFrom(numpy_helper.from_array(half, f"{name}__fp16"))
        casts.append(helper.make_node("Cast", [f"{name}__fp16"], [name], to=onnx.TensorProto.FLOAT,
                                      name=f"{name}__to_fp32"))
        converted += 1
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(proto)
    onnx.save(proto, str(onnx_path))
    return converted


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
