"""Training Siamese encoders (optional extra ``train``): data, models, losses, the loop, ONNX export.

Nothing outside this package imports it; the app only consumes the ONNX files and cards it writes.
"""

from __future__ import annotations

try:
    import torch  # noqa: F401
except ModuleNotFoundError as err:  # pragma: no cover - depends on the install
    raise ModuleNotFoundError(
        "biometrix.training needs PyTorch: pip install 'biometrix[train]'", name=err.name
    ) from err
