"""Start the desktop app: settings -> context (lazy service) -> main window or kiosk; returns an exit code."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from biometrix.core.errors import BiometrixError
from biometrix.gui.context import AppContext
from biometrix.gui.i18n import install_language
from biometrix.gui.qt import QApplication, QWidget
from biometrix.gui.settings import PIN_ENV, default_settings_path, load_settings

log = logging.getLogger(__name__)
EXIT_OK, EXIT_ERROR = 0, 2


@dataclass(frozen=True)
class LaunchOptions:
    """Command-line choices for one run; they override the settings file for this run only (never saved)."""

    kiosk: bool = False
    db: str | None = None
    settings_path: str | None = None
    camera: str | None = None
    pin: str | None = None
    modality: str | None = None
    idle_s: float | None = None
    liveness: str | None = None
    windowed: bool = False
    operator: str | None = None
    server: str | None = None
    ca_file: str | None = None


def make_context(options: LaunchOptions) -> AppContext:
    """Read the settings file and apply the run's overrides; a bad file or PIN is a BiometrixError."""
    path = Path(options.settings_path) if options.settings_path else default_settings_path()
    settings = load_settings(path)
    changes: dict[str, object] = {}
    if options.db:
        changes["db_path"] = options.db
    if options.server:
        changes["server_url"] = options.server
    if options.ca_file:
        changes["ca_file"] = options.ca_file
    if options.camera is not None:
        changes["camera"] = options.camera
    if options.modality:
        changes["kiosk_modality"] = options.modality
    if options.idle_s is not None:
        changes["kiosk_idle_s"] = options.idle_s
    if options.liveness:
        changes["kiosk_liveness"] = options.liveness
    try:
        settings = settings.replace(**changes) if changes else settings
    except ValueError as err:
        raise BiometrixError(str(err)) from None
    pin = options.pin or os.environ.get(PIN_ENV, "").strip() or None
    if pin:
        settings = settings.with_pin(pin)  # for this run only: the file keeps its own hash
    return AppContext(settings, settings_path=path)


def make_window(ctx: AppContext, *, kiosk: bool) -> QWidget:
    if kiosk:
        if not ctx.settings.has_pin:
            raise BiometrixError("the kiosk needs a supervisor PIN: set one on the Settings page, or pass --pin "
                                 f"or ${PIN_ENV}")
        from biometrix.gui.kiosk import KioskWindow

        return KioskWindow(ctx)
    from biometrix.gui.main_window import MainWindow

    return MainWindow(ctx)


def unreachable_x_display(env: Mapping[str, str] | None = None) -> str | None:
    """The X display Qt would open (DISPLAY, on Linux without Wayland or another QT_QPA_PLATFORM) when no X server
    accepts a connection on it, else None. Qt aborts the process on such a display, with lines of plugin errors."""
    env = os.environ if env is None else env
    qpa = env.get("QT_QPA_PLATFORM", "").split(":")[0].strip()
    display = env.get("DISPLAY", "").strip()
    if not sys.platform.startswith("linux") or qpa not in ("", "xcb") or not display:
        return None
    if not qpa and env.get("WAYLAND_DISPLAY", "").strip():
        return None
    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit():
        return None  # a form this check does not know: let Qt try it
    if host not in ("", "unix"):
        try:
            socket.create_connection((host, 6000 + int(number)), timeout=2.0).close()
        except OSError:
            return display
        return None
    path = f"/tmp/.X11-unix/X{number}"
    for address in ("\0" + path, path):  # Linux's abstract socket first, then the file
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(2.0)
                sock.connect(address)
        except OSError:
            continue
        return None
    return display


def run_app(options: LaunchOptions, argv: Sequence[str] | None = None) -> int:
    """Create the QApplication (or reuse the running one), show the window, run the event loop. A DISPLAY whose X
    server does not answer is one line and exit 2, before Qt starts."""
    command = "kiosk" if options.kiosk else "gui"
    if QApplication.instance() is None and (display := unreachable_x_display()) is not None:
        print(f"biometrix: error: 'biometrix {command}' needs a screen: the X display {display} cannot be reached "
              "(is the X server running, is DISPLAY right?)", file=sys.stderr)
        return EXIT_ERROR
    app = QApplication.instance() or QApplication(list(argv or sys.argv[:1]))
    app.setApplicationName("biometrix")
    try:
        ctx = make_context(options)
        install_language(app, ctx.settings.language)  # before any widget: every text is read in it
        window = make_window(ctx, kiosk=options.kiosk)
    except BiometrixError as err:
        print(f"biometrix: error: {' '.join(str(err).split())}", file=sys.stderr)
        return EXIT_ERROR
    if not log_in(ctx, window, options):
        ctx.shutdown()
        return EXIT_OK
    if options.kiosk and not options.windowed:
        window.showFullScreen()
    else:
        window.show()
    code = app.exec()
    ctx.shutdown()
    return int(code)


def log_in(ctx: AppContext, window: QWidget, options: LaunchOptions) -> bool:
    """The login dialog (on a database without operators: create its admin); False when it was cancelled.

    ``$BIOMETRIX_OPERATOR`` and ``$BIOMETRIX_PASSWORD`` log an unattended kiosk in without a click."""
    from biometrix.gui.login import LoginDialog
    from biometrix.gui.qt import QDialog

    dialog = LoginDialog(ctx, name=options.operator)
    if dialog.exec() != QDialog.DialogCode.Accepted or ctx.operator is None:
        return False
    who = ctx.operator
    window.setWindowTitle(f"{window.windowTitle()} — {who.name} ({who.role.value})")
    return True


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="biometrix-gui", description="The biometrix desktop app.")
    add_arguments(p, kiosk_flag=True)
    return p


def add_arguments(p: argparse.ArgumentParser, *, kiosk_flag: bool) -> None:
    """The launch options, shared by ``biometrix gui``, ``biometrix kiosk`` and this module's ``main``."""
    if kiosk_flag:
        p.add_argument("--kiosk", action="store_true", help="start in kiosk mode")
    p.add_argument("--settings", metavar="FILE", default=None,
                   help="settings file (default: $BIOMETRIX_GUI_SETTINGS or gui.json in the user config folder)")
    p.add_argument("--camera", metavar="N", default=None, help="camera index or a video file, for this run")
    p.add_argument("--pin", metavar="PIN", default=None,
                   help=f"kiosk supervisor PIN for this run (else ${PIN_ENV}, else the settings file's hash)")
    p.add_argument("--modality", choices=("face", "signature"), default=None, help="what the kiosk verifies by")
    p.add_argument("--idle", metavar="SECONDS", type=float, default=None, help="kiosk idle reset timeout")
    p.add_argument("--windowed", action="store_true", help="kiosk in a normal window (for testing)")


def options_from_args(args: argparse.Namespace, *, kiosk: bool) -> LaunchOptions:
    return LaunchOptions(kiosk=kiosk or bool(getattr(args, "kiosk", False)), db=getattr(args, "db", None),
                         settings_path=args.settings, camera=args.camera, pin=args.pin, modality=args.modality,
                         idle_s=args.idle, windowed=args.windowed)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m biometrix.gui.app [--kiosk] ...``: the packaged app's entry point."""
    parser = build_parser()
    parser.add_argument("--db", default=None, metavar="DB", help="enrollment database file, for this run")
    args = parser.parse_args(list(argv) if argv is not None else None)
    return run_app(options_from_args(args, kiosk=False))


if __name__ == "__main__":
    raise SystemExit(main())
