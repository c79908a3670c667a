"""Start-up time of the desktop app: process start -> first window shown (offscreen), models not loaded.

The first window is the operator login (on a new database: the creation of its admin); the teller window
follows the login.

Times fresh processes that run the real ``biometrix gui`` entry (``cli.main(["gui", ...])``) with a timer
that fires once the event loop runs after ``show()``; the child reports the wall time since its own
process start to that moment, and
which heavy modules were imported by then. A bare ``python -c "import PySide6.QtWidgets"`` and a bare
QMainWindow shown the same way are timed in the same run as baselines. Target: <= 2 s.

    python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, time
from biometrix.gui.qt import QApplication, QTimer
app = QApplication([])

def shown():
    windows = [w for w in QApplication.topLevelWidgets() if w.isVisible() and w.isWindow()]
    heavy = [m for m in ("onnxruntime", "cv2", "biometrix.service", "torch") if m in sys.modules]
    print("SHOWN " + json.dumps({"t": time.time(), "windows": [type(w).__name__ for w in windows], "heavy": heavy}),
          flush=True)
    for w in windows:  # the first window is the login dialog (its own event loop): cancel it, the app then exits
        if hasattr(w, "reject"):
            w.reject()
    app.quit()

QTimer.singleShot(0, shown)
from biometrix.cli import main
raise SystemExit(main(["gui", "--db", sys.argv[1], "--settings", sys.argv[2], "--camera", sys.argv[3]]))
"""

BARE_WINDOW = """
import json, sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([])
w = QMainWindow(); w.resize(1300, 700); w.show()
QTimer.singleShot(0, lambda: (print("SHOWN " + json.dumps({"t": time.time(), "windows": ["QMainWindow"],
                                                          "heavy": []}), flush=True), app.quit()))
app.exec()
"""


def run_shown(code: str, args: list[str], env: dict[str, str]) -> tuple[float, dict]:
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("SHOWN ")), None)
    if line is None:
        raise SystemExit(f"the child never showed a window (rc {proc.returncode}): {proc.stderr.strip()[-500:]}")
    info = json.loads(line[len("SHOWN "):])
    return info["t"] - t0, info


def run_import(env: dict[str, str]) -> float:
    t0 = time.time()
    subprocess.run([sys.executable, "-c", "import PySide6.QtWidgets"], check=True, env=env, timeout=120)
    return time.time() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    with tempfile.TemporaryDirectory() as tmp:
        gui_args = [str(Path(tmp) / "bench.db"), str(Path(tmp) / "gui.json"), str(Path(tmp) / "no-camera.avi")]
        app, bare, imp, info = [], [], [], {}
        for _ in range(args.runs):  # interleaved, so background load hits all three alike
            imp.append(run_import(env))
            t, _ = run_shown(BARE_WINDOW, [], env)
            bare.append(t)
            t, info = run_shown(CHILD, gui_args, env)
            app.append(t)
    print(f"runs: {args.runs} fresh processes each, QT_QPA_PLATFORM=offscreen, python {sys.version.split()[0]}")
    print(f"python -c 'import PySide6.QtWidgets'      median {statistics.median(imp):.2f} s  "
          f"(min {min(imp):.2f}, max {max(imp):.2f})")
    print(f"bare QMainWindow shown                    median {statistics.median(bare):.2f} s  "
          f"(min {min(bare):.2f}, max {max(bare):.2f})")
    print(f"biometrix gui: first window shown         median {statistics.median(app):.2f} s  "
          f"(min {min(app):.2f}, max {max(app):.2f})  target <= 2 s")
    print(f"window: {', '.join(info.get('windows', []))}; heavy modules imported by then: "
          f"{', '.join(info.get('heavy', [])) or 'none'} (models load on first use)")


if __name__ == "__main__":
    main()
