"""onnxruntime execution providers: what is installed, and which to ask for (CPU always last)."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from types import ModuleType

from biometrix.core.errors import RuntimeUnavailable

log = logging.getLogger(__name__)

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


def warn_if_cpu_fallback(requested: Sequence[str], got: Sequence[str], *, what: str) -> bool:
    """Log a WARNING when CUDA was requested but the session ``got`` no CUDA provider; True when it fell back.

    onnxruntime-gpu offers CUDA whenever it is installed, but a session silently runs on the CPU when the CUDA
    or cuDNN libraries it needs are absent (onnxruntime only prints its own error to stderr): this says so
    in the app's log, naming ``what`` was loaded.
    """
    if CUDA not in requested or CUDA in got:
        return False
    log.warning("%s: CUDA was requested but the session runs on %s: falling back to the CPU "
                "(onnxruntime-gpu found no usable CUDA/cuDNN libraries)", what, ", ".join(got) or "no provider")
    return True
