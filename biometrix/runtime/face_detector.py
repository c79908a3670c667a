"""Face detectors by name: MTCNN run by onnxruntime from a verified manifest, or OpenCV's Haar cascade.

The MTCNN model is a folder ``<models_dir>/face-detector-mtcnn-v1/`` with ``pnet.onnx``, ``rnet.onnx``,
``onet.onnx`` and ``detector.json`` (written by ``python -m biometrix.training.convert_mtcnn --out
assets/models``). The manifest lists each file's sha256; a file that does not match is refused with
ModelIntegrityError before onnxruntime sees it. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from biometrix.core.errors import InvalidInput, ModelIntegrityError
from biometrix.preprocess.face_detect import Detection, FaceDetector, HaarDetector, mtcnn_detect
from biometrix.runtime.paths import models_dir as default_models_dir
from biometrix.runtime.providers import import_onnxruntime, pick_providers, warn_if_cpu_fallback

log = logging.getLogger(__name__)

MTCNN_MODEL_ID = "face-detector-mtcnn-v1"
MANIFEST_NAME = "detector.json"
NETWORKS = {"pnet": 2, "rnet": 2, "onet": 3}  # name -> number of outputs
_SHA256 = re.compile(r"[0-9a-f]{64}")
_ORT_LOG_ERROR = 3


@dataclass(frozen=True)
class NetworkEntry:
    """One network of a detector manifest: its file beside the manifest, sha256, input and output names."""

    onnx_file: str
    sha256: str
    input_name: str
    outputs: tuple[str, ...]


def read_manifest(folder: str | os.PathLike[str]) -> tuple[str, dict[str, NetworkEntry]]:
    """``folder/detector.json`` -> (model_id, {"pnet"|"rnet"|"onet": NetworkEntry}); ModelIntegrityError if unusable."""
    path = Path(folder) / MANIFEST_NAME
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelIntegrityError(f"face detector manifest {path} does not exist") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelIntegrityError(f"face detector manifest {path} cannot be read ({exc})") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("networks"), dict):
        raise ModelIntegrityError(f"{path}: must be a JSON object with a 'networks' object")
    model_id = raw.get("model_id")
    if not isinstance(model_id, str) or not model_id:
        raise ModelIntegrityError(f"{path}: key 'model_id' must be a non-empty string")
    entries = {}
    for name, n_outputs in NETWORKS.items():
        item = raw["networks"].get(name)
        if not isinstance(item, dict):
            raise ModelIntegrityError(f"{path}: networks.{name} is missing")
        onnx_file, sha, input_name, outputs = (item.get(k) for k in ("onnx_file", "sha256", "input_name", "outputs"))
        if not isinstance(onnx_file, str) or Path(onnx_file).name != onnx_file or not onnx_file.endswith(".onnx"):
            raise ModelIntegrityError(f"{path}: networks.{name}.onnx_file must be a bare .onnx file name")
        if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
            raise ModelIntegrityError(f"{path}: networks.{name}.sha256 must be 64 lower-case hex digits")
        if not isinstance(input_name, str) or not input_name:
            raise ModelIntegrityError(f"{path}: networks.{name}.input_name must be a non-empty string")
        if not (isinstance(outputs, list) and len(outputs) == n_outputs and all(isinstance(o, str) for o in outputs)):
            raise ModelIntegrityError(f"{path}: networks.{name}.outputs must list {n_outputs} output names")
        entries[name] = NetworkEntry(onnx_file, sha, input_name, tuple(outputs))
    return model_id, entries


def _verified_bytes(path: Path, sha256: str) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ModelIntegrityError(f"model file {path} does not exist") from exc
    except OSError as exc:
        raise ModelIntegrityError(f"model file {path} cannot be read ({exc.strerror or exc})") from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise ModelIntegrityError(
            f"model file {path} does not match its manifest (sha256 {actual[:12]}…, manifest says {sha256[:12]}…); "
            "refusing to load"
        )
    return data


class MtcnnDetector:
    """MTCNN (P-, R-, O-Net; Zhang et al. 2016, facenet-pytorch's weights) on onnxruntime; loads in ``__init__``.

    ``detect(rgb uint8 (H, W, 3) or grey (H, W)) -> list[Detection]``, best score first. ``min_face_size`` is the
    smallest face side searched for, in pixels (smaller is slower); ``thresholds`` are the P/R/O-Net face
    probabilities a window must pass; ``factor`` is the pyramid step.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str] | None = None,
        *,
        min_face_size: float = 20,
        thresholds: Sequence[float] = (0.6, 0.7, 0.7),
        factor: float = 0.709,
        intra_op_threads: int = 1,
        prefer_gpu: bool = False,
    ) -> None:
        where = Path(folder) if folder is not None else default_models_dir() / MTCNN_MODEL_ID
        if len(thresholds) != 3 or not all(0.0 <= float(t) <= 1.0 for t in thresholds):
            raise InvalidInput(f"thresholds must be three probabilities, got {thresholds!r}")
        if isinstance(intra_op_threads, bool) or not isinstance(intra_op_threads, int) or intra_op_threads < 1:
            raise InvalidInput(f"intra_op_threads must be a positive integer, got {intra_op_threads!r}")
        model_id, entries = read_manifest(where)
        blobs = {name: _verified_bytes(where / e.onnx_file, e.sha256) for name, e in entries.items()}
        ort = import_onnxruntime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = 1
        options.log_severity_level = _ORT_LOG_ERROR
        providers = pick_providers(prefer_gpu)
        self._runs: dict[str, Callable[[np.ndarray], Any]] = {}
        for name, entry in entries.items():
            try:
                session = ort.InferenceSession(blobs[name], sess_options=options, providers=providers)
            except Exception as exc:  # onnxruntime's own error types; re-raised as ours
                raise ModelIntegrityError(f"onnxruntime cannot load {where / entry.onnx_file} ({exc})") from exc
            warn_if_cpu_fallback(providers, session.get_providers(), what=f"face detector {model_id} ({name})")
            self._runs[name] = _runner(session, entry)
        self.model_id = model_id
        self.folder = where
        self.min_face_size = float(min_face_size)
        self.thresholds = tuple(float(t) for t in thresholds)
        self.factor = float(factor)
        log.info("face detector %s loaded from %s", model_id, where)

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        return mtcnn_detect(
            rgb,
            pnet=self._runs["pnet"],
            rnet=self._runs["rnet"],
            onet=self._runs["onet"],
            min_face_size=self.min_face_size,
            thresholds=self.thresholds,
            factor=self.factor,
        )

    def run_network(self, name: str, batch: np.ndarray) -> tuple[np.ndarray, ...]:
        """One stage ("pnet", "rnet" or "onet") on a float32 (N, 3, S, S) batch, already scaled as MTCNN wants
        (S >= 12 for P-Net, 24 for R-Net, 48 for O-Net) -> its outputs, in the manifest's order."""
        if name not in self._runs:
            raise InvalidInput(f"unknown MTCNN network {name!r} (known: {', '.join(NETWORKS)})")
        return self._runs[name](batch)

    def __repr__(self) -> str:
        return f"MtcnnDetector(model_id={self.model_id!r}, min_face_size={self.min_face_size:g})"


def _runner(session: Any, entry: NetworkEntry) -> Callable[[np.ndarray], tuple[np.ndarray, ...]]:
    names = list(entry.outputs)

    def run(batch: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(session.run(names, {entry.input_name: np.ascontiguousarray(batch, dtype=np.float32)}))

    return run


#: Detector name -> factory taking keyword options; the first is the default.
DETECTORS: dict[str, Callable[..., FaceDetector]] = {"mtcnn": MtcnnDetector, "haar": HaarDetector}


def make_detector(name: str = "mtcnn", **options: Any) -> FaceDetector:
    """The detector registered as ``name`` ("mtcnn", the default, or "haar"), built with ``options``."""
    try:
        factory = DETECTORS[name]
    except KeyError:
        raise InvalidInput(f"unknown face detector {name!r} (known: {', '.join(DETECTORS)})") from None
    return factory(**options)
