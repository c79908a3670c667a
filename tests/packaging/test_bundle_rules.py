"""What the PyInstaller spec leaves out (torch and friends, unused Qt) and how a built bundle is checked."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .conftest import PACKAGING, load_script

NEVER_IN_A_KIOSK = ["torch", "biometrix.training", "matplotlib", "sklearn", "dlib", "onnx", "onnxscript", "pytest",
                    "hypothesis", "tkinter", "psycopg", "psycopg_pool", "psycopg_binary"]


@pytest.fixture(scope="module")
def rules(packaging_path: Path):
    return load_script(PACKAGING / "bundle_rules.py")


@pytest.fixture(scope="module")
def bundle_check(packaging_path: Path):
    return load_script(PACKAGING / "bundle_check.py")


def test_spec_excludes_torch_and_the_other_development_packages(rules) -> None:
    assert set(NEVER_IN_A_KIOSK) <= set(rules.EXCLUDES)
    spec = ast.parse((PACKAGING / "biometrix.spec").read_text())
    analysis = next(n for n in ast.walk(spec) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "Analysis")
    kwargs = {k.arg: k.value for k in analysis.keywords}
    assert isinstance(kwargs["excludes"], ast.Name) and kwargs["excludes"].id == "EXCLUDES"
    imported = [n for n in ast.walk(spec) if isinstance(n, ast.ImportFrom) and n.module == "bundle_rules"]
    assert imported and "EXCLUDES" in {a.name for a in imported[0].names}
    # the hidden imports take every biometrix module except the training ones
    assert "not name.startswith(\"biometrix.training\")" in (PACKAGING / "biometrix.spec").read_text()


def test_every_forbidden_module_is_excluded(rules) -> None:
    for name in NEVER_IN_A_KIOSK:
        assert rules.FORBIDDEN_MODULES.match(name)
        assert rules.FORBIDDEN_MODULES.match(name + ".sub")
    for name in ("onnxruntime", "onnxruntime.capi._pybind_state", "biometrix.service", "biometrix.selftest",
                 "PySide6.QtWidgets", "cv2", "numpy", "torchlike"):
        assert not rules.FORBIDDEN_MODULES.match(name), name


@pytest.mark.parametrize(("dest", "kept"), [
    ("PySide6/Qt/plugins/platforms/libqxcb.so", True),
    ("PySide6/Qt/plugins/platforms/libqoffscreen.so", True),
    ("PySide6/Qt/plugins/platforms/qwindows.dll", True),
    ("PySide6/Qt/plugins/platforms/libqwayland.so", False),
    ("PySide6/Qt/plugins/platforms/libqeglfs.so", False),
    ("PySide6/Qt/plugins/xcbglintegrations/libqxcb-glx-integration.so", True),
    ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", False),
    ("PySide6/Qt/plugins/imageformats/libqjpeg.so", True),
    ("PySide6/Qt/plugins/imageformats/libqpdf.so", False),
    ("PySide6/Qt/plugins/platforminputcontexts/libqtvirtualkeyboardplugin.so", False),
    ("PySide6/Qt/lib/libQt6Quick.so.6", False),
    ("PySide6/Qt/lib/libQt6Widgets.so.6", True),
    ("PySide6/Qt/lib/libQt6DBus.so.6", True),  # libQt6Gui needs it
    ("PySide6/Qt/translations/qtbase_de.qm", False),
    ("onnxruntime/capi/libonnxruntime.so.1.20.0", False),
    ("onnxruntime/capi/onnxruntime_pybind11_state.cpython-311-x86_64-linux-gnu.so", True),
    ("onnxruntime/capi/libonnxruntime_providers_cuda.so", True),
    ("onnxruntime/capi/libonnxruntime_providers_tensorrt.so", False),
    ("cv2/cv2.abi3.so", True),
])
def test_keep(rules, dest: str, kept: bool) -> None:
    assert rules.keep(dest) is kept


def test_bundle_check_finds_torch_files_and_missing_run_time_files(bundle_check, tmp_path: Path) -> None:
    internal = tmp_path / "_internal"
    for rel in bundle_check.REQUIRED:
        (internal / rel).parent.mkdir(parents=True, exist_ok=True)
        (internal / rel).write_bytes(b"x")
    (internal / "onnxruntime" / "capi").mkdir(parents=True)
    assert bundle_check.forbidden_files(tmp_path) == []
    assert bundle_check.missing_files(internal, variant="cpu") == []
    assert bundle_check.missing_files(internal, variant="gpu") == list(bundle_check.GPU_REQUIRED)
    (internal / "torch" / "lib").mkdir(parents=True)
    (internal / "torch" / "lib" / "libtorch_cpu.so").write_bytes(b"x")
    assert "_internal/torch/lib/libtorch_cpu.so" in bundle_check.forbidden_files(tmp_path)
    assert bundle_check.forbidden_modules(["torch.nn", "onnxruntime", "biometrix.training.train", "cv2"]) == [
        "biometrix.training.train", "torch.nn"]
    assert bundle_check.bundle_size(tmp_path) == len(bundle_check.REQUIRED) + 1
    parts = dict(bundle_check.largest_parts(internal))
    assert parts["assets"] == 5 and parts["torch"] == 1 and parts["PySide6"] == 2
