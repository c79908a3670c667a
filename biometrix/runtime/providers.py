"""onnxruntime execution providers: what is installed, and which to ask for (CPU always last)."""

from __future__ import annotations

import importlib
from types import ModuleType

from biometrix.core.errors import RuntimeUnavailable

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"

_INSTALL_HINT = "onnxruntime is not installed: pip install 'biometrix[cpu]' (or [gpu] on a CUDA machine)"


def import_onnxruntime() -> ModuleType:
    """The onnxruntime module (from onnxruntime or onnxruntime-gpu), or RuntimeUnavailable with the hint."""
    try:
        return importlib.import_module("onnxruntime")
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.split(".")[0] != "onnxruntime":
            raise  # onnxruntime is there but one of its own dependencies is missing: show the real name
        raise RuntimeUnavailable(_INSTALL_HINT) from exc


def available_providers() -> list[str]:
    """The execution providers this onnxruntime build offers, in its order of preference."""
    return list(import_onnxruntime().get_available_providers())


def pick_providers(prefer_gpu: bool = True, *, available: list[str] | None = None) -> list[str]:
    """The providers to request: CUDA first when available and preferred, then CPU, always last.

    ``available`` defaults to ``available_providers()``; only available providers are returned.
    """
    offered = available_providers() if available is None else list(available)
    if CPU not in offered:
        raise RuntimeUnavailable(f"this onnxruntime build has no {CPU} (it offers: {', '.join(offered)})")
    chosen = [CUDA] if prefer_gpu and CUDA in offered else []
    return [*chosen, CPU]
