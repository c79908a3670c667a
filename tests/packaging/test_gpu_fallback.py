"""The GPU variant on a machine without CUDA: a real CPU session asked for CUDA falls back with a logged WARNING."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import onnxruntime
import pytest

from biometrix.core.errors import InvalidInput
from biometrix.core.types import Modality
from biometrix.runtime import providers
from biometrix.runtime.encoder import OnnxEncoder
from biometrix.runtime.face_detector import MTCNN_MODEL_ID, MtcnnDetector
from biometrix.runtime.model_card import PREFERRED_MODELS
from biometrix.runtime.paths import models_dir
from biometrix.runtime.providers import CPU, CUDA

SIGNATURE_MODEL = PREFERRED_MODELS[Modality.SIGNATURE]


@pytest.fixture
def cuda_offered(monkeypatch: pytest.MonkeyPatch) -> None:
    """onnxruntime-gpu lists CUDA among its providers whether or not the CUDA libraries load; this CPU build
    does not, so the list is widened to make the app request [CUDA, CPU] from the real onnxruntime."""
    if CUDA in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime really offers CUDA: the fallback is not what would happen here")
    monkeypatch.setattr(providers, "available_providers", lambda: [CUDA, CPU])


def _fallback_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
            and r.name == providers.__name__ and "falling back to the CPU" in r.getMessage()]


@pytest.mark.usefixtures("cuda_offered")
def test_encoder_asked_for_cuda_runs_on_cpu_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    assert providers.pick_providers(True) == [CUDA, CPU]
    caplog.set_level(logging.WARNING, logger=providers.__name__)
    with warnings.catch_warnings():  # onnxruntime's own UserWarning about the provider it does not have
        warnings.simplefilter("ignore", UserWarning)
        encoder = OnnxEncoder.from_dir(models_dir(), model_id=SIGNATURE_MODEL, prefer_gpu=True)
    assert encoder.providers == (CPU,)
    (message,) = _fallback_warnings(caplog)
    assert f"model {SIGNATURE_MODEL}" in message and CPU in message
    x = np.random.default_rng(0).standard_normal((1, *encoder.input_shape)).astype(np.float32)
    assert encoder.embed(x).shape == (1, encoder.embedding_dim)  # and it still works, on the CPU


@pytest.mark.usefixtures("cuda_offered")
def test_face_detector_asked_for_cuda_warns_for_each_network(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=providers.__name__)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        detector = MtcnnDetector(models_dir() / MTCNN_MODEL_ID, prefer_gpu=True)
    messages = _fallback_warnings(caplog)
    expected = [f"face detector {MTCNN_MODEL_ID} ({n})" for n in ("pnet", "rnet", "onet")]
    assert [m.split(":")[0] for m in messages] == expected
    (regression, landmarks, probability) = detector.run_network("onet", np.zeros((2, 3, 48, 48), np.float32))
    assert regression.shape == (2, 4) and landmarks.shape == (2, 10) and probability.shape == (2, 2)
    with pytest.raises(InvalidInput, match="unknown MTCNN network 'xnet'"):
        detector.run_network("xnet", np.zeros((1, 3, 12, 12), np.float32))


def test_no_warning_when_cpu_was_all_that_was_asked(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=providers.__name__)
    OnnxEncoder.from_dir(models_dir(), model_id=SIGNATURE_MODEL, prefer_gpu=False)
    assert not _fallback_warnings(caplog)
    assert providers.warn_if_cpu_fallback([CUDA, CPU], [CUDA, CPU], what="x") is False
