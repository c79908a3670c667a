"""Finding 10, optional extras: tests that need an extra (torch, onnx, scikit-learn, matplotlib, dlib...) failed
to collect where it is absent. With every extra hidden, the suite must collect without an error, and what needs
an extra must be skipped with a reason naming the install, not fail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXTRAS = ("torch", "torchvision", "onnx", "onnxscript", "sklearn", "matplotlib", "dlib", "face_recognition_models")
RUNNER = """
import sys
for name in {extras!r}:
    sys.modules[name] = None  # import fails as if it were not installed
import pytest
sys.exit(pytest.main(sys.argv[1:]))
"""


def _pytest_without_extras(*args: str) -> subprocess.CompletedProcess[str]:
    code = RUNNER.format(extras=EXTRAS)
    return subprocess.run([sys.executable, "-c", code, "-p", "no:cacheprovider", "-rs", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=600)


def _skip_reasons(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("SKIPPED")]


def test_the_suite_collects_without_any_extra() -> None:
    proc = _pytest_without_extras("--collect-only", "-q", "tests")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "error" not in proc.stdout.splitlines()[-1].lower(), proc.stdout[-3000:]
    reasons = _skip_reasons(proc.stdout)
    assert any("tests/training" in r for r in reasons), reasons
    assert all("pip install" in r for r in reasons), reasons


def test_what_needs_an_extra_is_skipped_with_the_install_not_failed() -> None:
    proc = _pytest_without_extras("-q", "tests/core/test_metrics.py::test_eer_matches_sklearn_roc",
                                  "tests/evaluation/test_protocol.py::test_write_outputs",
                                  "tests/runtime/test_encoder.py")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    reasons = _skip_reasons(proc.stdout)
    for needed in ("scikit-learn", "matplotlib", "onnx"):
        assert any(needed in r and "pip install" in r for r in reasons), (needed, reasons)
