"""What every command shares: exit codes, argument types, the parent parsers (database, models, output),
opening the service for a command, printing JSON."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from biometrix.core.errors import BiometrixError

if TYPE_CHECKING:  # only for annotations: the handlers import the service lazily so startup stays fast
    from biometrix.service import Biometrix

PROG = "biometrix"
SERVER_ENV = "BIOMETRIX_SERVER"
CA_FILE_ENV = "BIOMETRIX_CA_FILE"
EXIT_OK = 0
EXIT_REJECT = 1
EXIT_ERROR = 2
EXIT_REFER = 3
EXIT_INTERRUPTED = 130

log = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace], int]


class CommandUnavailable(BiometrixError):
    """A command whose implementation is not installed (an optional extra or a module not shipped)."""


def display_available(env: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """Whether a window can open: Windows and macOS always have a screen; elsewhere DISPLAY (X11),
    WAYLAND_DISPLAY or an explicit QT_QPA_PLATFORM (offscreen, vnc, eglfs...) must be set; QT_QPA_PLATFORM=xcb
    or wayland needs its display too. (Whether the X server named answers is checked by ``gui.app.run_app``.)"""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if platform == "win32" or platform == "darwin":
        return True
    qpa = env.get("QT_QPA_PLATFORM", "").split(":")[0].strip()
    x11, wayland = env.get("DISPLAY", "").strip(), env.get("WAYLAND_DISPLAY", "").strip()
    if qpa and qpa not in ("xcb", "wayland"):
        return True  # offscreen, vnc, eglfs, linuxfb, minimal...: no window system needed
    if qpa == "wayland":
        return bool(wayland)
    return bool(x11) if qpa == "xcb" else bool(x11 or wayland)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _db_path(text: str) -> str:
    """``--db``: a file path; an empty one is refused rather than read as "the default database"."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path; leave --db out to use the default database")
    return text


def _camera(text: str) -> int | str:
    """``--camera``: a device index (0, 1...) or the path of a video file standing in for a camera."""
    return int(text) if text.strip().isdigit() else text


def _probe_arguments(p: argparse.ArgumentParser) -> None:
    probe = p.add_mutually_exclusive_group(required=True)
    probe.add_argument("--signature", metavar="FILE", help="probe signature file")
    probe.add_argument("--face", metavar="FILE", help="probe face photo")
    probe.add_argument("--camera", metavar="N", type=_camera,
                       help="take the probe face from camera N (or a video file)")



def parent_parsers() -> dict[str, argparse.ArgumentParser]:
    """The parents every command picks from: verbose, db (with --operator and --key-store), model, out."""
    verbose = argparse.ArgumentParser(add_help=False)
    verbose.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                         help="show what happens: -v INFO (database, model, providers), -vv DEBUG")

    from biometrix.cli.access import access_parent

    db = argparse.ArgumentParser(add_help=False, parents=[access_parent()])
    db.add_argument("--db", metavar="DB", default=None, type=_db_path,
                    help="enrollment database file (default: $BIOMETRIX_DB, else enrollment_db/ when present "
                         "and writable, else the user data folder)")

    model = argparse.ArgumentParser(add_help=False)
    model.add_argument("--models-dir", metavar="DIR", default=None,
                       help="folder of <model_id>.onnx + <model_id>.json (default: $BIOMETRIX_MODELS_DIR or "
                            "the bundled assets/models)")
    model.add_argument("--model", metavar="MODEL_ID", dest="model_id", default=None,
                       help="signature model to use when the folder holds several")
    model.add_argument("--face-model", metavar="MODEL_ID", default=None,
                       help="face model to use when the folder holds several")
    model.add_argument("--face-detector", choices=("mtcnn", "haar"), default="mtcnn",
                       help="face detector (default mtcnn)")
    model.add_argument("--cpu", action="store_true", help="run the model on the CPU even when a GPU is available")

    out = argparse.ArgumentParser(add_help=False)
    out.add_argument("--json", action="store_true", help="print the result as JSON on stdout")

    remote = argparse.ArgumentParser(add_help=False)
    remote.add_argument("--server", metavar="URL", default=os.environ.get(SERVER_ENV) or None,
                        help=f"send the request to this biometrix server (https://host:port; default ${SERVER_ENV}) "
                             "instead of opening a database here: no database, key or model is used on this "
                             "machine, and an unreachable server is an error (exit 2), never a local decision")
    remote.add_argument("--ca-file", metavar="PEM", default=os.environ.get(CA_FILE_ENV) or None,
                        help=f"trust only this CA (the bank's) for the server's certificate (default ${CA_FILE_ENV}, "
                             "else the system's CAs)")
    return {"verbose": verbose, "db": db, "model": model, "out": out, "remote": remote}


def _open(args: argparse.Namespace, *, create: bool) -> Biometrix:
    """The service for a command: database key from --key-store / $BIOMETRIX_PASSPHRASE, --operator logged in."""
    from biometrix.cli.access import open_remote, open_service

    if getattr(args, "server", None):
        return open_remote(args)  # type: ignore[return-value]  # the same use cases over HTTPS
    from biometrix.service import Biometrix

    def factory(key: Any) -> Biometrix:
        return Biometrix(args.db, create=create, models_dir=getattr(args, "models_dir", None),
                         prefer_gpu=not getattr(args, "cpu", False), signature_model=getattr(args, "model_id", None),
                         face_model=getattr(args, "face_model", None),
                         face_detector=getattr(args, "face_detector", "mtcnn"), key=key)

    return open_service(args, factory, create=create)


def _face_probe(bx: Biometrix, args: argparse.Namespace) -> Any:
    """The face given by --face, or a frame with one good face from --camera; None when neither is given."""
    if getattr(args, "camera", None) is not None:
        return bx.capture_face(args.camera)
    return getattr(args, "face", None)


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, allow_nan=False))


def _unavailable(command: str, err: ModuleNotFoundError) -> CommandUnavailable:
    """A one-line error for a lazily imported command whose module (or an extra it needs) is missing."""
    if err.name and err.name.startswith("biometrix."):
        return CommandUnavailable(f"'{PROG} {command}' is not available in this installation (no module {err.name})")
    return CommandUnavailable(f"'{PROG} {command}' is not available: {err}")


def _run_entry(entry: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    code = entry(args)
    return EXIT_OK if code is None else int(code)


