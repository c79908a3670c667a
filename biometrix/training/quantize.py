"""An int8 copy of an exported signature encoder: onnxruntime static quantization, calibrated on training subjects.

``biometrix export --int8`` runs it after the float32 export has passed its parity check against torch.
Weights become int8 per output channel, restricted to 7 bits (-64..64, ``reduce_range``), and activations
uint8 (QDQ format: each quantized tensor is a QuantizeLinear/DequantizeLinear pair that onnxruntime's CPU
provider fuses into integer kernels). The 7 bits are for CPUs without VNNI: there onnxruntime multiplies
uint8 by int8 with an instruction that adds pairs of products into 16 bits, which 255 x 127 x 2 overflows and
255 x 64 x 2 does not, so the model computes the same on every x86 CPU it may be installed on. The
activation ranges come from min-max calibration on images of the model's *training* subjects, never of its
validation or held-out ones. How far int8 moves an embedding is measured on other images of the same
subjects (``embedding_drift``), on the cosine-distance scale the thresholds live on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from biometrix.core.errors import BiometrixError
from biometrix.evaluation.datasets import iter_source
from biometrix.preprocess.signature import preprocess_signature

log = logging.getLogger(__name__)

#: How many of the model's training subjects of each source calibrate, and which of their samples: every
#: ``STRIDE``-th from offset 0 calibrates, every ``STRIDE``-th from ``DRIFT_OFFSET`` measures the drift.
CALIBRATION_SUBJECTS = {"cedar": 10, "svc2004": 5}
STRIDE = 4
DRIFT_OFFSET = 2

#: The export is refused when int8 moves some embedding by more than this fraction of the default threshold.
MAX_DRIFT_FRACTION = 0.25


class QuantizationError(BiometrixError, RuntimeError):
    """The int8 model's embeddings moved too far from the float32 model's (the CLI: one line, exit 2)."""


def _images(root: Path, subjects: dict[str, Sequence[int]], *, offset: int, height: int,
            width: int) -> list[np.ndarray]:
    out = []
    for source, ids in subjects.items():
        for i, (_, img) in enumerate(iter_source(source, root, list(ids))):
            if i % STRIDE == offset:
                out.append(preprocess_signature(img, height=height, width=width)[None, None].astype(np.float32))
    return out


def calibration_subjects(cedar_train: Sequence[int], svc_train: Sequence[int]) -> dict[str, list[int]]:
    """The first training subjects of each source (``CALIBRATION_SUBJECTS``); refused without any."""
    subjects = {"cedar": list(cedar_train)[:CALIBRATION_SUBJECTS["cedar"]],
                "svc2004": list(svc_train)[:CALIBRATION_SUBJECTS["svc2004"]]}
    if not all(subjects.values()):
        raise ValueError("int8 calibration needs training subjects of both sources")
    return subjects


def calibration_images(root: Path, subjects: dict[str, Sequence[int]], *, height: int,
                       width: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(calibration images, drift images): disjoint samples of ``subjects``, each preprocessed as the app does,
    one (1, 1, H, W) array per image."""
    return (_images(root, subjects, offset=0, height=height, width=width),
            _images(root, subjects, offset=DRIFT_OFFSET, height=height, width=width))


def quantize_int8(float_onnx: Path, out_onnx: Path, images: Sequence[np.ndarray], *,
                  input_name: str = "input") -> Path:
    """Write ``out_onnx``, the static int8 (QDQ) quantization of ``float_onnx`` calibrated on ``images``."""
    import tempfile

    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    if not images:
        raise ValueError("int8 calibration needs at least one image")

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it: Iterator[np.ndarray] = iter(images)

        def get_next(self) -> dict[str, np.ndarray] | None:
            x = next(self._it, None)
            return None if x is None else {input_name: x}

    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        # folds constants (the float16 weights' casts among them) and infers shapes, as quantization expects
        quant_pre_process(str(float_onnx), str(pre), skip_symbolic_shape=True)
        quantize_static(str(pre), str(out_onnx), _Reader(), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
                        reduce_range=True, calibrate_method=CalibrationMethod.MinMax)
    log.info("int8: %s quantized on %d calibration images", out_onnx.name, len(images))
    return out_onnx


def embedding_drift(float_onnx: Path, int8_onnx: Path, images: Sequence[np.ndarray], *,
                    input_name: str = "input") -> np.ndarray:
    """Cosine distance between the float32 and the int8 embedding of each image (both L2-normalised)."""
    import onnxruntime as ort

    x = np.concatenate(list(images))
    out = []
    for path in (float_onnx, int8_onnx):
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        e = sess.run(None, {input_name: x})[0].astype(np.float64)
        out.append(e / np.linalg.norm(e, axis=1, keepdims=True))
    a, b = out
    return np.clip(1.0 - np.sum(a * b, axis=1), 0.0, None)
