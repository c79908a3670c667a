"""Tests for biometrix.runtime.encoder against a real tiny ONNX model and a numpy oracle."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from biometrix.core.errors import InvalidInput, ModelIntegrityError
from biometrix.runtime.encoder import OnnxEncoder, default_intra_op_threads
from biometrix.runtime.model_card import ModelCard
from biometrix.runtime.providers import CPU


def _oracle(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    proj = x.reshape(x.shape[0], -1).astype(np.float64) @ weight.astype(np.float64)
    return proj / np.linalg.norm(proj, axis=1, keepdims=True)


def test_embed_matches_numpy(make_model: Callable[..., Any]) -> None:
    model = make_model()
    enc = OnnxEncoder(ModelCard.load(model.card_path), model.onnx_path, prefer_gpu=False, intra_op_threads=1)
    x = np.random.default_rng(5).standard_normal((7, 1, 8, 8)).astype(np.float32)
    out = enc.embed(x)
    assert out.dtype == np.float32 and out.shape == (7, 4)
    np.testing.assert_allclose(out, _oracle(x, model.weight), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)
    assert enc.embed(np.zeros((0, 1, 8, 8), np.float32)).shape == (0, 4)
    assert enc.providers[-1] == CPU and enc.intra_op_threads == 1


def test_logs_real_providers(make_model: Callable[..., Any], caplog: pytest.LogCaptureFixture) -> None:
    model = make_model()
    with caplog.at_level(logging.INFO, logger="biometrix.runtime.encoder"):
        enc = OnnxEncoder(ModelCard.load(model.card_path), model.onnx_path)
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any(CPU in m and "sig-tiny-v1" in m for m in messages)
    assert CPU in enc.providers


def test_default_threads() -> None:
    assert 1 <= default_intra_op_threads() <= 4


def test_tampered_model_refused(make_model: Callable[..., Any]) -> None:
    model = make_model()
    data = bytearray(model.onnx_path.read_bytes())
    data[len(data) // 2] ^= 0x01
    model.onnx_path.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match=r"does not match its card \(sha256 .*\); refusing to load"):
        OnnxEncoder(ModelCard.load(model.card_path), model.onnx_path)


def test_missing_model_file(make_model: Callable[..., Any]) -> None:
    model = make_model()
    model.onnx_path.unlink()
    with pytest.raises(ModelIntegrityError, match="does not exist"):
        OnnxEncoder(ModelCard.load(model.card_path), model.onnx_path)


def test_card_that_disagrees_with_graph(make_model: Callable[..., Any]) -> None:
    model = make_model(input_name="image")
    with pytest.raises(ModelIntegrityError, match="has inputs"):
        OnnxEncoder(ModelCard.load(model.card_path), model.onnx_path)
    other = make_model("sig-other", embedding_dim=8)
    with pytest.raises(ModelIntegrityError, match="output shape"):
        OnnxEncoder(ModelCard.load(other.card_path), other.onnx_path)
    shaped = make_model("sig-shaped", input_shape=[1, 16, 4])
    with pytest.raises(ModelIntegrityError, match="input shape"):
        OnnxEncoder(ModelCard.load(shaped.card_path), shaped.onnx_path)


def test_wrong_input_refused(make_model: Callable[..., Any]) -> None:
    model = make_model()
    enc = OnnxEncoder(ModelCard.load(model.card_path), model.onnx_path, prefer_gpu=False)
    with pytest.raises(InvalidInput, match=r"expects input \(N, 1, 8, 8\), got shape \(2, 1, 8, 9\)"):
        enc.embed(np.zeros((2, 1, 8, 9), np.float32))
    with pytest.raises(InvalidInput, match="expects input"):
        enc.embed(np.zeros((1, 8, 8), np.float32))
    with pytest.raises(InvalidInput, match="float32"):
        enc.embed(np.zeros((2, 1, 8, 8), np.float64))
    with pytest.raises(InvalidInput, match="NaN"):
        enc.embed(np.full((1, 1, 8, 8), np.nan, np.float32))
    with pytest.raises(InvalidInput, match="numpy array"):
        enc.embed([[0.0]])  # type: ignore[arg-type]


def test_non_finite_output_refused(make_model: Callable[..., Any]) -> None:
    model = make_model(poison=True)
    enc = OnnxEncoder(ModelCard.load(model.card_path), model.onnx_path, prefer_gpu=False)
    with pytest.raises(InvalidInput, match="model produced non-finite embeddings"):
        enc.embed(np.ones((2, 1, 8, 8), np.float32))


def test_bad_threads_refused(make_model: Callable[..., Any]) -> None:
    model = make_model()
    with pytest.raises(InvalidInput, match="intra_op_threads"):
        OnnxEncoder(ModelCard.load(model.card_path), model.onnx_path, intra_op_threads=0)


def test_from_dir(make_model: Callable[..., Any]) -> None:
    sig = make_model("sig-a")
    face = make_model("face-a", folder=sig.folder, modality="face", seed=3)
    enc = OnnxEncoder.from_dir(sig.folder, modality="face", prefer_gpu=False)
    assert enc.model_id == "face-a"
    x = np.random.default_rng(9).standard_normal((3, 1, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(enc.embed(x), _oracle(x, face.weight), rtol=1e-5, atol=1e-6)
    assert OnnxEncoder.from_dir(sig.folder, model_id="sig-a").model_id == "sig-a"


def test_from_dir_uses_env_default(make_model: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    model = make_model()
    monkeypatch.setenv("BIOMETRIX_MODELS_DIR", str(model.folder))
    assert OnnxEncoder.from_dir().model_id == model.model_id


def test_card_file_is_not_modified(make_model: Callable[..., Any]) -> None:
    model = make_model()
    before = json.loads(model.card_path.read_text())
    OnnxEncoder(ModelCard.load(model.card_path), model.onnx_path)
    assert json.loads(model.card_path.read_text()) == before
