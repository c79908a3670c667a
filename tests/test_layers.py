"""The layer rules of ARCHITECTURE.md, checked: no torch or Qt at run time, a pure core, import-linter contracts."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "biometrix"

BLOCKED_IMPORT = """
import sys
sys.modules["torch"] = None      # ``import torch`` now raises ImportError
sys.modules["PySide6"] = None
import biometrix.service
import biometrix.cli
from biometrix.cli import build_parser
build_parser().parse_args(["verify", "--subject", "a", "--signature", "a.png"])
leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "PySide6") and sys.modules[m] is not None)
assert not leaked, leaked
print("ok")
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _imports(path: Path) -> Iterator[tuple[int, str, int]]:
    """(line, absolute-or-relative module name, relative level) of every import in the file, nested ones too."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, 0
        elif isinstance(node, ast.ImportFrom):
            yield node.lineno, node.module or "", node.level
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in ("import_module", "__import__"):
                yield node.lineno, node.args[0].value, 0


def test_service_and_cli_import_without_torch_and_qt(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", BLOCKED_IMPORT], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_core_imports_only_stdlib_numpy_and_core() -> None:
    allowed_third_party = {"numpy"}
    files = sorted((PACKAGE / "core").glob("*.py"))
    assert files, "biometrix/core has no modules"
    bad = []
    for path in files:
        for line, module, level in _imports(path):
            top = module.split(".")[0]
            if level == 1 or module == "biometrix.core" or module.startswith("biometrix.core."):
                continue
            if level == 0 and (top in sys.stdlib_module_names or top in allowed_third_party):
                continue
            bad.append(f"{path.relative_to(REPO)}:{line}: {'.' * level}{module}")
    assert not bad, "core must import only the standard library, numpy and biometrix.core:\n" + "\n".join(bad)


def test_nothing_outside_training_imports_torch() -> None:
    training = PACKAGE / "training"
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if training in path.parents:
            continue
        for line, module, level in _imports(path):
            if level == 0 and module.split(".")[0] == "torch":
                bad.append(f"{path.relative_to(REPO)}:{line}: {module}")
    assert not bad, "torch may only be imported in biometrix/training:\n" + "\n".join(bad)


def test_import_linter_contracts() -> None:
    exe = Path(sys.executable).parent / "lint-imports"
    found = str(exe) if exe.is_file() else shutil.which("lint-imports")
    if found is None:
        pytest.skip("lint-imports (import-linter, extra 'dev') is not installed")
    proc = subprocess.run([found, "--no-cache"], cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_cli_import_is_light(tmp_path: Path) -> None:
    """The heavy modules load inside the command handlers, so ``biometrix --help`` and argument errors are fast."""
    code = ("import sys, biometrix.cli; heavy = ('numpy', 'cv2', 'onnxruntime', 'PIL', 'sqlite3', 'biometrix.service');"
            " print(sorted(m for m in heavy if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
