"""The real-window smoke test of issue 28: under Xvfb at 1024x600 (the xcb platform, a window manager when openbox is
installed), each page's and each kiosk screen's action buttons lie inside the screen. Skipped where xvfb-run is not
installed (.ci/run says so)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
INSTALL = ("apt-get install -y --no-install-recommends xvfb x11-utils xdotool libxcb-icccm4 libxcb-keysyms1 "
           "libxcb-cursor0 openbox")


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason=f"xvfb-run is not installed ({INSTALL})")
def test_every_action_button_is_on_a_1024x600_screen(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["OMP_NUM_THREADS"] = "1"
    run = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1024x600x24", sys.executable, str(HERE / "xvfb_smoke.py"),
                          str(tmp_path)], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["platform"] == "xcb" and report["screen"] == [1024, 600]
    x, y, width, height = report["window"]
    assert x >= 0 and y >= 0 and x + width <= 1024 and y + height <= 600, report["window"]
    assert len(report["screens"]) == 5 + 4 + 2 * 3  # 4 pages, Settings' 5 sections, 3 screens of 2 kiosks
    for screen, (shown, outside) in report["screens"].items():
        assert outside == [], screen
        assert shown >= 1, screen
