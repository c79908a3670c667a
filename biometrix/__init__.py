"""biometrix: signature (and, later, face) verification with Siamese encoders run by onnxruntime.

The public API is small: ``Biometrix`` (enroll / verify / identify against a SQLite database) and
the value types it returns. Names are resolved lazily so that importing a subpackage such as
``biometrix.core`` loads nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Biometrix", "Candidate", "Decision", "Modality", "Threshold", "BiometrixError", "__version__"]

if TYPE_CHECKING:
    from biometrix.core.errors import BiometrixError
    from biometrix.core.types import Candidate, Decision, Modality, Threshold
    from biometrix.service import Biometrix

_LAZY = {
    "Biometrix": "biometrix.service",
    "Candidate": "biometrix.core.types",
    "Decision": "biometrix.core.types",
    "Modality": "biometrix.core.types",
    "Threshold": "biometrix.core.types",
    "BiometrixError": "biometrix.core.errors",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'biometrix' has no attribute {name!r}")
