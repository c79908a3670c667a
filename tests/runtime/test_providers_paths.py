"""Tests for biometrix.runtime.providers and biometrix.runtime.paths."""

from __future__ import annotations

import builtins
import sys
from pathlib import Path
from typing import Any

import onnxruntime
import pytest

from biometrix.core.errors import RuntimeUnavailable
from biometrix.runtime import paths, providers
from biometrix.runtime.providers import CPU, CUDA, available_providers, pick_providers


def test_available_matches_onnxruntime() -> None:
    assert available_providers() == onnxruntime.get_available_providers()


def test_pick_providers_real_build() -> None:
    for prefer_gpu in (True, False):
        chosen = pick_providers(prefer_gpu)
        assert chosen[-1] == CPU
        assert set(chosen) <= set(onnxruntime.get_available_providers())
    assert pick_providers(False) == [CPU]


def test_pick_providers_orders_cuda_first() -> None:
    offered = ["TensorrtExecutionProvider", CUDA, "AzureExecutionProvider", CPU]
    assert pick_providers(True, available=offered) == [CUDA, CPU]
    assert pick_providers(False, available=offered) == [CPU]
    assert pick_providers(True, available=["AzureExecutionProvider", CPU]) == [CPU]
    with pytest.raises(RuntimeUnavailable):
        pick_providers(True, available=["AzureExecutionProvider"])


def test_missing_onnxruntime_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "onnxruntime" or name.startswith("onnxruntime."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "onnxruntime")
    monkeypatch.setattr(builtins, "__import__", fake_import)
    monkeypatch.setattr(providers.importlib, "import_module", lambda name: fake_import(name))
    with pytest.raises(RuntimeUnavailable) as info:
        available_providers()
    assert str(info.value) == (
        "onnxruntime is not installed: pip install 'biometrix[cpu]' (or [gpu] on a CUDA machine)"
    )


def test_models_dir_default_env_and_frozen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(paths.MODELS_DIR_ENV, raising=False)
    repo = Path(paths.__file__).resolve().parents[2]
    assert (repo / "biometrix" / "runtime" / "paths.py").is_file()
    assert paths.models_dir() == repo / "assets" / "models"

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "bundle"), raising=False)
    assert paths.models_dir() == tmp_path / "bundle" / "assets" / "models"

    monkeypatch.setenv(paths.MODELS_DIR_ENV, str(tmp_path / "custom"))
    assert paths.models_dir() == tmp_path / "custom"
