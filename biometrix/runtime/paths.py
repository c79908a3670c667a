"""Where the bundled models live: env override, PyInstaller bundle, or the repository's assets/models."""

from __future__ import annotations

import os
import sys
from pathlib import Path

MODELS_DIR_ENV = "BIOMETRIX_MODELS_DIR"


def models_dir() -> Path:
    """The models folder: ``$BIOMETRIX_MODELS_DIR`` > ``<_MEIPASS>/assets/models`` when frozen > repo assets.

    The folder is not required to exist; callers report a missing model with its path.
    """
    override = os.environ.get(MODELS_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and isinstance(bundle, str):
        return Path(bundle) / "assets" / "models"
    return Path(__file__).resolve().parents[2] / "assets" / "models"


def bundled_models_dir() -> Path:
    """The models shipped with this installation (the bundle's or the repository's), ignoring the environment:
    the only folder whose models a database trusts on first use without an admin (see ``Biometrix.card``)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and isinstance(bundle, str):
        return Path(bundle) / "assets" / "models"
    return Path(__file__).resolve().parents[2] / "assets" / "models"
