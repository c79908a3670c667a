"""Run by test_xvfb_smoke under ``xvfb-run`` (a real X server, 1024x600): the teller window maximized by a window
manager (openbox, when installed) and the kiosk full screen; prints, as JSON, the screen and every action button
of every page, section and kiosk screen that is not wholly on the screen."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ["QT_QPA_PLATFORM"] = "xcb"


def settle(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def off_screen(app, root, screen) -> tuple[int, list[str]]:
    """(how many action buttons are shown, those not wholly inside ``screen``)."""
    from biometrix.gui.qt import QPoint, QPushButton, QRect, QScrollArea

    scrolls = [s for s in root.findChildren(QScrollArea) if s.isVisible()]
    buttons = [b for b in root.findChildren(QPushButton)
               if b.isVisible() and not any(s.isAncestorOf(b) for s in scrolls)]
    out = [f"{b.text()!r} at {b.mapToGlobal(QPoint(0, 0)).x()},{b.mapToGlobal(QPoint(0, 0)).y()} "
           f"{b.width()}x{b.height()}" for b in buttons
           if not screen.contains(QRect(b.mapToGlobal(QPoint(0, 0)), b.size()))
           or b.visibleRegion().boundingRect() != b.rect()]
    return len(buttons), out


def main(scratch: str) -> int:
    wm = subprocess.Popen(["openbox"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) \
        if shutil.which("openbox") else None
    try:
        from biometrix.gui.context import AppContext
        from biometrix.gui.kiosk import KioskWindow
        from biometrix.gui.main_window import MainWindow
        from biometrix.gui.qt import QApplication, QTabWidget
        from biometrix.gui.settings import GuiSettings

        app = QApplication([sys.argv[0]])
        settle(app, 1.0 if wm else 0.1)  # the window manager takes the screen
        screen = app.primaryScreen().geometry()
        settings = GuiSettings(db_path=str(Path(scratch) / "smoke.db"), camera=str(Path(scratch) / "none.avi"))
        report: dict = {"screen": [screen.width(), screen.height()], "window_manager": wm is not None,
                        "platform": app.platformName(), "screens": {}}
        w = MainWindow(AppContext(settings, settings_path=None))
        w.showMaximized()
        settle(app, 1.5)
        frame = w.frameGeometry()
        report["window"] = [frame.x(), frame.y(), frame.width(), frame.height()]
        for name, page in w.pages.items():
            w.show_page(name)
            settle(app, 0.3)
            tabs = page.findChild(QTabWidget)
            for section in range(tabs.count() if tabs is not None else 1):
                if tabs is not None:
                    tabs.setCurrentIndex(section)
                    settle(app, 0.2)
                report["screens"][f"{name}/{section}"] = off_screen(app, w, screen)
        w.close()
        w.ctx.shutdown()
        for modality in ("signature", "face"):
            k = KioskWindow(AppContext(settings.replace(kiosk_modality=modality).with_pin("2468"),
                                       settings_path=None))
            k.showFullScreen()
            settle(app, 1.0)
            for i in range(k.stack.count()):
                k.stack.setCurrentIndex(i)
                settle(app, 0.2)
                report["screens"][f"kiosk-{modality}/{i}"] = off_screen(app, k, screen)
            k.unlock_and_close()
            k.ctx.shutdown()
        print(json.dumps(report))
        return 0
    finally:
        if wm is not None:
            wm.terminate()
            wm.wait(5)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
