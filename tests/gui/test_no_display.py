"""Issue 28, defect 11: ``biometrix gui`` and ``biometrix kiosk`` where no window can open say so in one line and
exit 2, before Qt starts (Qt itself aborts with exit 134 and several lines of plugin errors)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from biometrix.cli import display_available
from biometrix.gui.app import unreachable_x_display
from tests.gui.conftest import REPO

WINDOW_VARS = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")


def _run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in WINDOW_VARS}
    code = f"from biometrix.cli import main; raise SystemExit(main({args!r}))"
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**base, "PYTHONPATH": str(REPO), **env})


@pytest.mark.parametrize("command", ["gui", "kiosk"])
def test_no_display_is_one_line_and_exit_2(tmp_path: Path, command: str) -> None:
    proc = _run([command, "--db", str(tmp_path / "x.db")], tmp_path, BIOMETRIX_KIOSK_PIN="2468")
    assert proc.returncode == 2, proc.stderr[-500:]
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"biometrix: error: 'biometrix {command}' needs a screen: no display found")
    assert not (tmp_path / "x.db").exists()  # nothing was opened


def test_an_unreachable_x_display_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """A DISPLAY that names no running X server (a stale ssh session, a stopped Xvfb)."""
    display = next(f":{n}" for n in range(917, 999) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    assert display_available({"DISPLAY": display}, "linux")  # set, so the CLI goes on ...
    assert unreachable_x_display({"DISPLAY": display}) == display  # ... and the app checks it before Qt starts
    proc = _run(["gui", "--db", str(tmp_path / "x.db")], tmp_path, DISPLAY=display)
    assert proc.returncode == 2, proc.stderr[-500:]
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"biometrix: error: 'biometrix gui' needs a screen: the X display {display} cannot")


def test_which_environments_have_a_screen() -> None:
    assert display_available({}, "win32") and display_available({}, "darwin")
    assert not display_available({}, "linux")
    assert display_available({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not display_available({"QT_QPA_PLATFORM": "xcb"}, "linux")  # xcb without an X display
    assert not display_available({"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"}, "linux")
    assert display_available({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert unreachable_x_display({"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":917"}) is None  # no X needed
