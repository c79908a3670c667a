"""Helpers for the packaging tests: the repository's packaging/ scripts imported as modules."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"


def load_script(path: Path) -> ModuleType:
    """Import a packaging script by path (packaging/ is not a package; its scripts import each other by name)."""
    name = f"_packaging_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def packaging_path() -> Path:
    """packaging/ on sys.path for the session (bundle_check imports bundle_rules by name)."""
    sys.path.insert(0, str(PACKAGING))
    yield PACKAGING
    sys.path.remove(str(PACKAGING))
