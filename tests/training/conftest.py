"""The training tests need the 'train' extra (PyTorch, onnx, scikit-learn): without it they are skipped, naming
what to install."""

from __future__ import annotations

import pytest

for _module in ("torch", "onnx", "sklearn"):
    pytest.importorskip(_module, reason=f"the training tests need {_module}: pip install 'biometrix[train]'")
