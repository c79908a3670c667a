"""biometrix.selftest: every check passes in this environment, failures are reported, the environment is restored."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from biometrix.runtime.model_card import find_models
from biometrix.runtime.paths import models_dir
from biometrix.runtime.pen_comparator import PEN_AGGREGATE, PEN_MODEL_ID
from biometrix.selftest import CLEARED_ENV, SCRATCH_DIRS, draw_signature, run_selftest

from .conftest import PACKAGING, REPO, load_script

#: One check per shipped encoder (signature-v5 and signature-v6 stay beside signature-v6-int8: v5's card is what
#: v6's and v6-int8's thresholds were transferred from, v6 is the float32 model for who wants it, and databases
#: enrolled with either keep working until `db retemplate`).
EXPECTED_CHECKS = [*(f"model {c.model_id}" for c in find_models(models_dir())),
                   "face detector face-detector-mtcnn-v1", "haar cascades", "pen comparator", "enroll", "verify",
                   "look-alike id",
                   "audit", "close database", "main window", "kiosk window"]


def _lines(text: str) -> dict[str, str]:
    """check name -> 'ok' / 'FAILED' from the self-test's output lines."""
    out = {}
    for line in text.splitlines():
        status, _, rest = line.partition(" ")
        if status in ("ok", "FAILED"):
            out[rest.strip().split(":")[0]] = status
    return out


def test_selftest_passes_with_the_gui_offscreen(qapp, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BIOMETRIX_DB", "/nonexistent/never-used.db")
    monkeypatch.setenv("BIOMETRIX_KEY_DIR", str(tmp_path / "users-keys"))  # the user's: must not be written
    before = {name: os.environ.get(name) for name in (*SCRATCH_DIRS, *CLEARED_ENV)}
    out = io.StringIO()
    assert run_selftest(gui=True, prefer_gpu=False, out=out) == 0, out.getvalue()
    text = out.getvalue()
    assert _lines(text) == {name: "ok" for name in EXPECTED_CHECKS}, text
    assert "same signer Accept" in text and "other signer Reject" in text and "threshold" in text
    assert "on Qt platform 'offscreen'" in text
    assert text.rstrip().endswith(f"selftest: all {len(EXPECTED_CHECKS)} checks passed")
    assert {name: os.environ.get(name) for name in before} == before  # HOME, XDG_*, BIOMETRIX_DB put back
    assert not (tmp_path / "users-keys").exists()


def test_selftest_reports_failures_and_returns_1(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run_selftest(gui=False, prefer_gpu=False, models_dir=tmp_path, out=out) == 1
    seen = _lines(out.getvalue())
    assert seen["model cards"] == "FAILED" and seen["face detector"] == "FAILED" and seen["enroll"] == "FAILED"
    assert seen["verify"] == "FAILED" and "not run: the enroll check failed" in out.getvalue()
    assert seen["haar cascades"] == "ok"
    assert seen["pen comparator"] == "ok" and "pen comparator: not installed" in out.getvalue()
    assert "checks FAILED: model cards, face detector, enroll, verify, look-alike id, audit" in out.getvalue()


def test_the_pen_check_reads_the_card_and_fails_on_a_tampered_one(tmp_path: Path) -> None:
    out = io.StringIO()
    run_selftest(gui=False, prefer_gpu=False, out=out)
    (line,) = [x for x in out.getvalue().splitlines() if "pen comparator" in x]
    assert line.startswith("ok") and f"{PEN_MODEL_ID} card read" in line
    same, other = (float(v.strip(" ,").split()[0]) for v in line.split("same writer")[1].split("another"))
    assert same < other
    shutil.copytree(models_dir() / PEN_MODEL_ID, tmp_path / PEN_MODEL_ID)
    card = tmp_path / PEN_MODEL_ID / "comparator.json"
    card.write_text(card.read_text().replace(f'"aggregate": "{PEN_AGGREGATE}"', '"aggregate": "mean"'))
    out = io.StringIO()
    run_selftest(gui=False, prefer_gpu=False, models_dir=tmp_path, out=out)
    assert _lines(out.getvalue())["pen comparator"] == "FAILED" and "aggregate" in out.getvalue()


def test_drawn_signatures_are_deterministic_ink_on_white() -> None:
    a, b = draw_signature(7, variant=1), draw_signature(7, variant=1)
    assert a.dtype.name == "uint8" and a.shape == (150, 400) and (a == b).all()
    ink = (a < 128).mean()
    assert 0.01 < ink < 0.2
    assert (draw_signature(7, variant=2) != a).any()


def test_selftest_runs_without_torch_or_training(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "for name in ('torch', 'biometrix.training', 'matplotlib', 'sklearn'):\n"
        "    sys.modules[name] = None\n"
        "from biometrix.selftest import run_selftest\n"
        "code = run_selftest(gui=False, prefer_gpu=False)\n"
        "leaked = [m for m in sys.modules if m.split('.')[0] == 'torch' and sys.modules[m] is not None]\n"
        "assert not leaked, leaked\n"
        "sys.exit(code)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"selftest: all {len(EXPECTED_CHECKS) - 2} checks passed" in proc.stdout  # no windows


def test_entry_dispatches_selftest_and_everything_else_to_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    import biometrix.cli
    import biometrix.selftest

    entry = load_script(PACKAGING / "entry.py")
    calls: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(biometrix.selftest, "main", lambda argv: calls.append(("selftest", argv)) or 0)
    monkeypatch.setattr(biometrix.cli, "main", lambda argv: calls.append(("cli", argv)) or 3)
    monkeypatch.setattr(sys, "argv", ["biometrix", "--selftest", "--no-gui"])
    assert entry.main() == 0
    monkeypatch.setattr(sys, "argv", ["biometrix", "verify", "--subject", "a"])
    assert entry.main() == 3
    assert calls == [("selftest", ["--selftest", "--no-gui"]), ("cli", ["verify", "--subject", "a"])]
