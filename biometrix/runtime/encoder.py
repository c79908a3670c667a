"""OnnxEncoder: a verified ONNX model run by onnxruntime, batches in, L2-normalised embeddings out."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from biometrix.core.errors import InvalidInput, ModelIntegrityError
from biometrix.core.types import Modality
from biometrix.runtime.model_card import ModelCard, load_card_for
from biometrix.runtime.paths import models_dir as default_models_dir
from biometrix.runtime.providers import import_onnxruntime, pick_providers, warn_if_cpu_fallback

log = logging.getLogger(__name__)

_MAX_DEFAULT_THREADS = 4
_ORT_LOG_ERROR = 3  # onnxruntime severity: 0 verbose ... 3 error, 4 fatal


def default_intra_op_threads() -> int:
    """min(4, CPU count): enough for one encoder without starving the GUI thread."""
    return max(1, min(_MAX_DEFAULT_THREADS, os.cpu_count() or 1))


class OnnxEncoder:
    """One ONNX encoder session, loaded in ``__init__`` after its sha256 matched the card.

    ``embed(batch (N, C, H, W) float32) -> (N, D) float32``, rows L2-normalised; ``batch`` must
    already be preprocessed and normalised as the card says. ``session.run`` is thread-safe.
    """

    def __init__(
        self,
        card: ModelCard,
        onnx_path: str | os.PathLike[str],
        *,
        prefer_gpu: bool = True,
        intra_op_threads: int | None = None,
    ) -> None:
        path = Path(onnx_path)
        threads = default_intra_op_threads() if intra_op_threads is None else intra_op_threads
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise InvalidInput(f"intra_op_threads must be a positive integer, got {intra_op_threads!r}")
        model_bytes = _read_verified(path, card)  # the very bytes that were hashed are the ones loaded
        ort = import_onnxruntime()
        requested = pick_providers(prefer_gpu)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = _ORT_LOG_ERROR
        try:
            session = ort.InferenceSession(model_bytes, sess_options=options, providers=requested)
        except Exception as exc:  # onnxruntime's own error types; re-raised as ours, never swallowed
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelIntegrityError(f"onnxruntime cannot load {path} ({first_line[:200]})") from exc
        _check_signature(session, card, path)
        self._card = card
        self._path = path
        self._session = session
        self._providers = tuple(session.get_providers())
        self._output_name = session.get_outputs()[0].name
        self._intra_op_threads = threads
        log.info(
            "model %s loaded from %s on %s (%d intra-op threads)",
            card.model_id,
            path.name,
            ", ".join(self._providers),
            threads,
        )
        warn_if_cpu_fallback(requested, self._providers, what=f"model {card.model_id}")

    @classmethod
    def from_dir(
        cls,
        models_dir: str | os.PathLike[str] | None = None,
        *,
        model_id: str | None = None,
        modality: Modality | str | None = None,
        prefer_gpu: bool = True,
        intra_op_threads: int | None = None,
    ) -> OnnxEncoder:
        """The encoder of the one card matching model_id/modality in ``models_dir`` (default: ``models_dir()``)."""
        folder = default_models_dir() if models_dir is None else Path(models_dir)
        card = load_card_for(folder, model_id=model_id, modality=modality)
        return cls(card, card.onnx_path(folder), prefer_gpu=prefer_gpu, intra_op_threads=intra_op_threads)

    @property
    def card(self) -> ModelCard:
        return self._card

    @property
    def model_id(self) -> str:
        return self._card.model_id

    @property
    def onnx_path(self) -> Path:
        return self._path

    @property
    def providers(self) -> tuple[str, ...]:
        """The providers the session really got, in priority order."""
        return self._providers

    @property
    def intra_op_threads(self) -> int:
        return self._intra_op_threads

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return self._card.input_shape

    @property
    def embedding_dim(self) -> int:
        return self._card.embedding_dim

    def embed(self, batch: np.ndarray) -> np.ndarray:
        """(N, C, H, W) float32 -> (N, D) float32, each row L2-normalised."""
        c, h, w = self._card.input_shape
        if not isinstance(batch, np.ndarray):
            raise InvalidInput(f"expected a numpy array (N, {c}, {h}, {w}) float32, got {type(batch).__name__}")
        if batch.ndim != 4 or tuple(batch.shape[1:]) != self._card.input_shape:
            raise InvalidInput(
                f"model {self.model_id} expects input (N, {c}, {h}, {w}), got shape {tuple(batch.shape)}"
            )
        if batch.dtype != np.float32:
            raise InvalidInput(f"model {self.model_id} expects float32 input, got {batch.dtype}")
        dim = self._card.embedding_dim
        if batch.shape[0] == 0:
            return np.zeros((0, dim), dtype=np.float32)
        if not np.isfinite(batch).all():
            raise InvalidInput("input batch contains NaN or infinite values")
        feeds = {self._card.input_name: np.ascontiguousarray(batch)}
        out = np.asarray(self._session.run([self._output_name], feeds)[0])
        if out.shape != (batch.shape[0], dim):
            raise ModelIntegrityError(
                f"model {self.model_id} produced shape {out.shape}, its card says ({batch.shape[0]}, {dim})"
            )
        out = out.astype(np.float32, copy=False)
        if not np.isfinite(out).all():
            raise InvalidInput("model produced non-finite embeddings")
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        if (norms <= np.finfo(np.float32).tiny).any():
            raise InvalidInput("model produced a zero embedding, which has no direction")
        return (out / norms).astype(np.float32, copy=False)

    def __repr__(self) -> str:
        return f"OnnxEncoder(model_id={self.model_id!r}, providers={list(self._providers)!r})"


def _read_verified(path: Path, card: ModelCard) -> bytes:
    if not path.is_file():
        raise ModelIntegrityError(f"model file {path} does not exist (card {card.model_id})")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelIntegrityError(f"model file {path} cannot be read ({exc.strerror or exc})") from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual != card.sha256:
        raise ModelIntegrityError(
            f"model file {path} does not match its card (sha256 {actual[:12]}…, card says "
            f"{card.sha256[:12]}…); refusing to load"
        )
    return data


def _check_signature(session: Any, card: ModelCard, path: Path) -> None:
    """The graph's input and output must be what the card declares (symbolic dims accepted)."""
    inputs = session.get_inputs()
    names = [i.name for i in inputs]
    if names != [card.input_name]:
        raise ModelIntegrityError(f"model file {path} has inputs {names}, its card says [{card.input_name!r}]")
    inp = inputs[0]
    if inp.type != "tensor(float)":
        raise ModelIntegrityError(f"model file {path} input is {inp.type}, its card says float32")
    shape = list(inp.shape)
    expected = [None, *card.input_shape]
    if len(shape) != 4 or any(
        isinstance(s, int) and e is not None and s != e for s, e in zip(shape, expected, strict=True)
    ):
        raise ModelIntegrityError(
            f"model file {path} input shape is {shape}, its card says [N, {', '.join(map(str, card.input_shape))}]"
        )
    out_shape = list(session.get_outputs()[0].shape)
    if len(out_shape) != 2 or (isinstance(out_shape[1], int) and out_shape[1] != card.embedding_dim):
        raise ModelIntegrityError(
            f"model file {path} output shape is {out_shape}, its card says [N, {card.embedding_dim}]"
        )
