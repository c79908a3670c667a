"""The ``biometrix`` command line: enroll, verify, identify, db info/migrate, and evaluate/train/export."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, Any

from biometrix.core.errors import BiometrixError

if TYPE_CHECKING:  # only for annotations: the handlers import the service lazily so startup stays fast
    from biometrix.service import Biometrix

PROG = "biometrix"
EXIT_OK = 0
EXIT_REJECT = 1
EXIT_ERROR = 2
EXIT_REFER = 3
EXIT_INTERRUPTED = 130

log = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace], int]


class CommandUnavailable(BiometrixError):
    """A command whose implementation is not installed (an optional extra or a module not shipped)."""


# --- entry point ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the process exit code (0 ok, 1 verify rejected, 2 error, 3 verify referred to a
    supervisor, 130 interrupted). With no command at all it opens the desktop app when a display is available."""
    raw = list(sys.argv[1:] if argv is None else argv)
    if raw and raw[0] == "--selftest":  # the installation check (packaging/check.sh runs it in the bundle too)
        from biometrix.selftest import main as selftest_main

        return selftest_main(raw)
    parser = build_parser()
    try:
        args = parser.parse_args(raw)
        if getattr(args, "handler", None) is None and not hasattr(args, "group_parser") and display_available():
            args = parser.parse_args([*raw, "gui"])  # plain ``biometrix``: the app (issue 5)
    except SystemExit as exit_:  # argparse: --help (0) or a usage error (2, message already printed)
        return exit_.code if isinstance(exit_.code, int) else EXIT_ERROR
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None and not hasattr(args, "group_parser"):  # plain ``biometrix`` where no window can open
        parser.print_usage(sys.stderr)
        print(f"{PROG}: error: no display found (DISPLAY / WAYLAND_DISPLAY unset): '{PROG} gui' needs one; "
              f"give a command, see '{PROG} --help'", file=sys.stderr)
        return EXIT_ERROR
    if handler is None:  # a command group without its subcommand, e.g. ``biometrix db``
        parser_for = getattr(args, "group_parser", parser)
        parser_for.print_usage(sys.stderr)
        print(f"{parser_for.prog}: error: a command is required", file=sys.stderr)
        return EXIT_ERROR
    verbosity = getattr(args, "verbose", 0)
    if verbosity < 2:
        # OpenCV writes its own warnings straight to fd 2 (e.g. "PNG input buffer is incomplete" for a
        # truncated file) next to our one-line error; it reads this before cv2 is first imported.
        os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    with _logging_to_stderr(verbosity):
        try:
            return handler(args)
        except BiometrixError as err:
            return _fail(str(err) or type(err).__name__)
        except BrokenPipeError:  # stdout closed early (``biometrix identify ... | head -1``)
            _silence_stdout()
            return EXIT_ERROR
        except OSError as err:  # the database folder or a file the store touches: permissions, disk full
            return _fail(_os_error_message(err))
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED


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


def _fail(message: str) -> int:
    one_line = " ".join(message.split())
    print(f"{PROG}: error: {one_line}", file=sys.stderr)
    return EXIT_ERROR


def _os_error_message(err: OSError) -> str:
    reason = err.strerror or str(err) or type(err).__name__
    return f"{err.filename}: {reason}" if err.filename else reason


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at devnull so the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (captured in tests): nothing to silence
        pass


@contextmanager
def _logging_to_stderr(verbosity: int) -> Iterator[None]:
    """WARNING from everything by default; ``-v`` shows biometrix INFO, ``-vv`` DEBUG. Undone on exit."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    ours = logging.getLogger("biometrix")
    old_root_level, old_level = root.level, ours.level
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    ours.setLevel(logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(old_root_level)
        ours.setLevel(old_level)


# --- argument parsing -----------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _camera(text: str) -> int | str:
    """``--camera``: a device index (0, 1...) or the path of a video file standing in for a camera."""
    return int(text) if text.strip().isdigit() else text


def _probe_arguments(p: argparse.ArgumentParser) -> None:
    probe = p.add_mutually_exclusive_group(required=True)
    probe.add_argument("--signature", metavar="FILE", help="probe signature file")
    probe.add_argument("--face", metavar="FILE", help="probe face photo")
    probe.add_argument("--camera", metavar="N", type=_camera,
                       help="take the probe face from camera N (or a video file)")


def build_parser() -> argparse.ArgumentParser:
    """The full parser; each leaf command sets ``handler``."""
    verbose = argparse.ArgumentParser(add_help=False)
    verbose.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                         help="show what happens: -v INFO (database, model, providers), -vv DEBUG")

    from biometrix.cli_access import access_parent

    db = argparse.ArgumentParser(add_help=False, parents=[access_parent()])
    db.add_argument("--db", metavar="DB", default=None,
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

    parser = argparse.ArgumentParser(prog=PROG, description="Biometric signature and face enrollment and verification.",
                                     parents=[verbose],
                                     epilog=f"Without a command, '{PROG}' opens the desktop app (as '{PROG} gui') when "
                                            f"a display is available. '{PROG} --selftest [--no-gui] [--cpu]' checks "
                                            "the installation: every model runs, a scratch database enrolls and "
                                            "verifies, the windows open; exit 0 when all pass.")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = commands.add_parser("enroll", parents=[verbose, db, model, out], help="enroll a subject's signatures and face",
                            description="Enroll reference signatures (images, or SVC2004 .txt / stroke .json "
                                        "pen files) and/or face photos for one subject, in one transaction. "
                                        "Creates the database if needed.")
    p.add_argument("--subject", required=True, metavar="ID", help="subject id")
    p.add_argument("--signature", nargs="+", default=None, metavar="FILE", help="reference signature files")
    p.add_argument("--face", nargs="+", default=None, metavar="FILE", help="reference face photos")
    p.add_argument("--camera", default=None, metavar="N", type=_camera,
                   help="take the reference face from camera N (or a video file)")
    p.add_argument("--name", default=None, metavar="NAME", help="display name")
    p.add_argument("--replace", action="store_true", help="replace an existing template of this subject")
    p.set_defaults(handler=_cmd_enroll)

    p = commands.add_parser("verify", parents=[verbose, db, model, out], help="1:1 check a signature or a face",
                            description="Compare a signature or a face with a subject's references; the "
                                        "decision is audited. The threshold and the Refer band are the database's "
                                        "policy ('biometrix policy show'). Exit status: 0 accept, 1 reject, 2 "
                                        "error, 3 refer (the distance is within the policy's band around the "
                                        "threshold and a supervisor decides; like a reject, nobody is accepted).")
    p.add_argument("--subject", required=True, metavar="ID", help="claimed subject id")
    _probe_arguments(p)
    p.set_defaults(handler=_cmd_verify)

    p = commands.add_parser("identify", parents=[verbose, db, model, out], help="1:N search by signature or face",
                            description="Rank the enrolled subjects by distance to a signature or a face.")
    _probe_arguments(p)
    p.add_argument("--top-k", type=_positive_int, default=5, metavar="K", help="how many candidates (default 5)")
    p.set_defaults(handler=_cmd_identify)

    p = commands.add_parser("db", parents=[verbose], help="the enrollment database",
                            description="Inspect or prepare the enrollment database.")
    p.set_defaults(group_parser=p)
    db_commands = p.add_subparsers(title="db commands", metavar="COMMAND")
    q = db_commands.add_parser("info", parents=[verbose, db, out], help="where the database is and what it holds")
    q.set_defaults(handler=_cmd_db_info)
    q = db_commands.add_parser("migrate", parents=[verbose, db, out],
                               help="create the database if missing and bring its schema up to date")
    q.set_defaults(handler=_cmd_db_migrate)
    q = db_commands.add_parser("retemplate", parents=[verbose, db, model, out],
                               help="make templates for the models in use from the kept samples (admin)",
                               description="After a model change: every subject with templates of other models "
                                           "but none of the model in use gets one, made from the raw samples kept "
                                           "in the database (old templates are kept). Exit status: 0 all made, 1 "
                                           "some subjects' samples were refused (listed; nothing written for "
                                           "them), 2 error.")
    q.add_argument("--modality", choices=("signature", "face"), default=None,
                   help="only this modality (default: both)")
    q.set_defaults(handler=_cmd_db_retemplate)
    q = db_commands.add_parser("backup", parents=[verbose, db, out],
                               help="online backup to a new file (checked; never overwrites)",
                               description="Copy the database with SQLite's online backup (safe while biometrix "
                                           "runs) to a new file, then check the copy: integrity, schema, audit chain.")
    q.add_argument("--to", required=True, metavar="FILE", help="backup file to create (must not exist)")
    q.set_defaults(handler=_cmd_db_backup)
    q = db_commands.add_parser("restore", parents=[verbose, db, out],
                               help="replace the database with a checked backup (stop biometrix first)",
                               description="Check the backup (integrity, schema version), copy it beside the "
                                           "database and swap it in atomically. The old database is kept as "
                                           "DB.bak-<UTC timestamp>. No other biometrix may be running.")
    q.add_argument("--from", required=True, dest="source", metavar="FILE", help="backup file to restore")
    q.add_argument("--expect-head", metavar="ID:HASH", default=None,
                   help="the backup's audit log must contain this head (printed by 'db backup' / 'audit verify')")
    q.add_argument("--force", action="store_true",
                   help="restore a backup whose audit check fails (admin; the restore row says so)")
    q.set_defaults(handler=_cmd_db_restore)

    p = commands.add_parser("audit", parents=[verbose], help="the audit log",
                            description="Check the hash-chained audit log.")
    p.set_defaults(group_parser=p)
    audit_commands = p.add_subparsers(title="audit commands", metavar="COMMAND")
    q = audit_commands.add_parser("verify", parents=[verbose, db, out],
                                  help="re-compute the audit hash chain; exit 1 when rows were tampered with",
                                  description="Find edited, deleted and reordered audit rows, rows written without "
                                              "the database's key (MAC) and rows cut from the end. Exit status: 0 "
                                              "intact, 1 problems found, 2 error. Keep the printed head (ID:HASH) "
                                              "elsewhere, or set an anchor file ('audit anchor'): a chain rewritten "
                                              "by someone holding the key is found only against it.")
    q.add_argument("--expect-head", metavar="ID:HASH", default=None, help="a head exported earlier: it must be in "
                                                                          "the chain")
    q.add_argument("--anchor-file", metavar="FILE", default=None,
                   help="every head this file recorded for the database must be in the chain")
    q.set_defaults(handler=_cmd_audit_verify)

    p = commands.add_parser("erase", parents=[verbose, db, out], help="right to erasure: remove a subject's data",
                            description="Remove the subject's raw samples, templates and record. The audit log gets "
                                        "an 'erase' row naming a pseudonym; earlier audit rows are kept as written "
                                        "(append-only, hash-chained). Backups still hold the subject.")
    p.add_argument("--subject", required=True, metavar="ID", help="subject id to erase")
    p.set_defaults(handler=_cmd_erase)

    from biometrix.cli_access import add_commands
    from biometrix.cli_admin import add_commands as add_admin_commands

    groups = {"verbose": verbose, "db": db, "out": out, "model": model, "audit_commands": audit_commands,
              "db_commands": db_commands}
    add_commands(commands, groups, lambda a, create=False: _open(a, create=create))
    add_admin_commands(commands, groups, lambda a, create=False: _open(a, create=create))

    gui_help = {"gui": ("open the desktop app (enroll, verify, identify, audit, settings)",
                        "The teller application. Needs PySide6 (pip install PySide6-Essentials)."),
                "kiosk": ("self-service verification, fullscreen; leaving needs the supervisor PIN",
                          "Kiosk mode: face (or signature) verification only, large touch targets, reset after "
                          "idle. The supervisor PIN comes from --pin, $BIOMETRIX_KIOSK_PIN or the settings file "
                          "(set on the Settings page of 'biometrix gui')."),
                }
    for name, (summary, description) in gui_help.items():
        p = commands.add_parser(name, parents=[verbose, db], help=summary, description=description)
        p.add_argument("--settings", metavar="FILE", default=None,
                       help="settings file (default: $BIOMETRIX_GUI_SETTINGS or gui.json in the user config folder)")
        p.add_argument("--camera", metavar="N", default=None, help="camera index or video file, for this run")
        if name == "kiosk":
            p.add_argument("--pin", metavar="PIN", default=None,
                           help="supervisor PIN for this run (else $BIOMETRIX_KIOSK_PIN, else the settings file)")
            p.add_argument("--modality", choices=("face", "signature"), default=None,
                           help="what the kiosk verifies by (default: the settings file's, face)")
            p.add_argument("--idle", metavar="SECONDS", type=float, default=None,
                           help="return to the first screen after this long without input (default 60)")
            p.add_argument("--windowed", action="store_true", help="a normal window instead of fullscreen")
        p.set_defaults(handler=_cmd_gui, kiosk=name == "kiosk")

    p = commands.add_parser("evaluate", parents=[verbose], help="evaluate a model on a dataset (EER, DET)",
                            description="Offline evaluation on a public dataset's held-out signers.")
    p.add_argument("--dataset", required=True, choices=("cedar", "svc2004"))
    p.add_argument("--data", default=None, metavar="DIR",
                   help="folder holding the datasets (default: ../shared/data beside the repository)")
    p.add_argument("--subjects", default=None, metavar="SPEC",
                   help="signers to use, e.g. 46-55 (default: the dataset's held-out signers)")
    p.add_argument("--references", type=_positive_int, default=5, metavar="N",
                   help="enrollment references per subject (default 5)")
    p.add_argument("--model", default=None, metavar="MODEL_ID",
                   help="model to evaluate (default: the app's signature model)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="folder for scores and the report (default: evaluation/<model_id>-<dataset>)")
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    p.set_defaults(handler=_cmd_evaluate)

    p = commands.add_parser("calibrate", parents=[verbose], help="set a model's thresholds on validation subjects",
                            description="Set a face model's default threshold at a target FMR on the validation "
                                        "subjects of AT&T and Extended Yale B, or a signature model's scan and "
                                        "pen thresholds on the validation forgeries of CEDAR and SVC2004 "
                                        "(each capture apart); measure the held-out subjects, and write both "
                                        "into the model card (the ONNX file is not touched).")
    p.add_argument("--model", required=True, metavar="MODEL_ID", help="model to calibrate")
    p.add_argument("--models-dir", default=None, metavar="DIR", help="models folder (default: assets/models)")
    p.add_argument("--data", default=None, metavar="DIR", help="shared data folder (default: ../shared/data)")
    p.add_argument("--target-fmr", type=float, default=0.01, metavar="F", help="false match rate (default 0.01)")
    p.set_defaults(handler=_cmd_calibrate)

    p = commands.add_parser("demo", parents=[verbose, db], help="enroll a CEDAR signer, verify a genuine and a forgery",
                            description="The main job on real data: enroll held-out CEDAR signer 46 from "
                                        "../shared/data, verify a genuine signature and a skilled forgery, "
                                        "identify, and show the audit count.")
    p.add_argument("--data", default=None, metavar="DIR", help="shared data folder (default: ../shared/data)")
    p.add_argument("--signer", type=int, default=46, help="CEDAR signer to enroll (default 46, held out)")
    p.set_defaults(handler=_cmd_demo)

    p = commands.add_parser("train", parents=[verbose], help="train a signature encoder (extra 'train')",
                            description="Train a Siamese signature encoder; needs pip install 'biometrix[train]'.")
    p.add_argument("--config", required=True, metavar="FILE", help="training configuration file")
    p.add_argument("--no-resume", action="store_true", help="start afresh instead of resuming a checkpoint")
    p.add_argument("--folds", type=_positive_int, default=None, metavar="K",
                   help="signer-level K-fold cross-validation of the recipe over its training and validation "
                        "subjects (signature configs); writes <out_dir>/cv.json once every fold is done")
    p.add_argument("--fold", type=_positive_int, default=None, metavar="N",
                   help="with --folds: train only fold N (run the folds as parallel processes)")
    p.set_defaults(handler=_cmd_train)

    p = commands.add_parser("export", parents=[verbose], help="export a checkpoint to ONNX + model card",
                            description="Export a trained checkpoint as <model_id>.onnx and <model_id>.json.")
    p.add_argument("--checkpoint", required=True, nargs="+", action="extend", metavar="FILE",
                   help="training checkpoint; several (signature models; after one --checkpoint or each after "
                        "its own) make one ensemble encoder whose cosine similarities are averaged")
    p.add_argument("--model-id", required=True, metavar="ID", help="model_id of the exported model")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output folder (default: the app's models folder, assets/models)")
    p.add_argument("--hog-weight", type=float, default=None, metavar="W",
                   help="ship the CNN inside the hybrid encoder with this weight on the fixed HOG branch "
                        "(default: as trained)")
    p.add_argument("--fp16-weights", action="store_true",
                   help="store the weights as float16: half the file, computed in float32 (signature models)")
    p.add_argument("--thresholds-from", default=None, metavar="CARD",
                   help="signature checkpoints trained with no validation subjects: transfer the thresholds (and "
                        "use the aggregate) of this model card, a model of the same recipe calibrated on "
                        "validation subjects, by the ratio of thresholds on subjects both trained on")
    p.add_argument("--int8", action="store_true",
                   help="ship the int8 quantization of the exported file (onnxruntime static QDQ, calibrated on "
                        "training subjects): faster on CPUs; thresholds and held-out figures are measured on it "
                        "(signature models)")
    p.set_defaults(handler=_cmd_export)
    return parser


# --- commands -------------------------------------------------------------------------------------


def _open(args: argparse.Namespace, *, create: bool) -> Biometrix:
    """The service for a command: database key from --key-store / $BIOMETRIX_PASSPHRASE, --operator logged in."""
    from biometrix.cli_access import open_service
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


def _cmd_enroll(args: argparse.Namespace) -> int:
    if args.signature is None and args.face is None and args.camera is None:
        return _fail("enroll needs --signature, --face or --camera")
    with _open(args, create=True) as bx:
        faces = list(args.face or [])
        if args.camera is not None:
            faces.append(bx.capture_face(args.camera))
        templates = bx.enroll(args.subject, signatures=args.signature, faces=faces or None, display_name=args.name,
                              replace=args.replace)
        where = bx.location
    if args.json:
        _print_json({"subject_id": templates[0].subject_id, "db": str(where.path),
                     "templates": [{"modality": t.modality.value, "n_references": t.n_references,
                                    "model_id": t.model_id} for t in templates]})
    else:
        for t in templates:
            print(f"Enrolled {t.subject_id}: {t.n_references} {t.modality.value} reference"
                  f"{'s' if t.n_references != 1 else ''} (model {t.model_id})")
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace) -> int:
    from biometrix.core.distances import format_distance

    with _open(args, create=False) as bx:
        face = _face_probe(bx, args)
        decision = bx.verify(args.subject, signature=args.signature, face=face)
    threshold = decision.threshold
    if args.json:
        _print_json({"subject_id": decision.subject_id, "decision": decision.label.lower(),
                     "accepted": decision.accepted, "refer": decision.refer, "distance": decision.distance,
                     "threshold": threshold.value, "band": decision.band, "model_id": decision.model_id,
                     "reference_distances": list(decision.reference_distances),
                     "reference_scale": decision.reference_scale, "target_fmr": threshold.target_fmr})
    else:
        fmt = partial(format_distance, scale=threshold.value)
        band = f" band=±{fmt(decision.band)}" if decision.band else ""
        print(f"{decision.label:<7} subject={decision.subject_id} distance={fmt(decision.distance)} "
              f"threshold={fmt(threshold.value)}{band} model={decision.model_id}")
    if decision.refer:
        return EXIT_REFER
    return EXIT_OK if decision.accepted else EXIT_REJECT


def _cmd_identify(args: argparse.Namespace) -> int:
    from biometrix.core.distances import format_distance
    from biometrix.core.types import Modality
    from biometrix.service import signature_capture

    with _open(args, create=False) as bx:
        face = _face_probe(bx, args)
        candidates = bx.identify(signature=args.signature, face=face, top_k=args.top_k)
        if face is None:
            threshold = bx.threshold(Modality.SIGNATURE, capture=signature_capture(args.signature))
        else:
            threshold = bx.threshold(Modality.FACE)
    if args.json:
        _print_json([{"rank": c.rank, "subject_id": c.subject_id, "distance": c.distance,
                      "below_threshold": c.below_threshold} for c in candidates])
        return EXIT_OK
    if not candidates:
        print(f"No subject is enrolled with model {threshold.model_id}.")
        return EXIT_OK
    width = max(len("subject"), *(len(c.subject_id) for c in candidates))
    fmt = partial(format_distance, scale=threshold.value)
    column = max(len("distance"), *(len(fmt(c.distance)) for c in candidates))
    print(f"{'rank':>4}  {'subject':<{width}}  {'distance':>{column}}")
    for c in candidates:
        mark = "  *" if c.below_threshold else ""
        print(f"{c.rank:>4}  {c.subject_id:<{width}}  {fmt(c.distance):>{column}}{mark}")
    print(f"* below the threshold {fmt(threshold.value)} (model {threshold.model_id})")
    return EXIT_OK


def _db_summary(bx: Biometrix) -> dict[str, Any]:
    info = bx.info()
    return {"path": str(bx.location.path), "reason": bx.location.reason, "schema_version": info.schema_version,
            "subjects": info.n_subjects, "templates": dict(info.templates), "samples": info.n_samples,
            "audit_rows": info.n_audit, "encryption": info.encryption, "operators": info.n_operators}


def _cmd_db_info(args: argparse.Namespace) -> int:
    with _open(args, create=False) as bx:
        summary = _db_summary(bx)
    if args.json:
        _print_json(summary)
        return EXIT_OK
    print(f"Database:       {summary['path']}")
    print(f"Chosen by:      {summary['reason']}")
    print(f"Schema version: {summary['schema_version']}")
    print(f"Subjects:       {summary['subjects']}")
    templates = summary["templates"]
    if templates:
        print("Templates:")
        for key in sorted(templates):
            print(f"  {key}: {templates[key]}")
    else:
        print("Templates:      none")
    print(f"Samples:        {summary['samples']}")
    print(f"Audit rows:     {summary['audit_rows']}")
    print(f"Encryption:     {summary['encryption']}")
    print(f"Operators:      {summary['operators'] or 'none yet (no login needed until the first admin exists)'}")
    return EXIT_OK


def _cmd_db_migrate(args: argparse.Namespace) -> int:
    with _open(args, create=True) as bx:
        summary = _db_summary(bx)
    if args.json:
        _print_json(summary)
    else:
        print(f"Database {summary['path']} is at schema version {summary['schema_version']}")
    return EXIT_OK


def _cmd_db_retemplate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from biometrix.core.types import Modality

    with _open(args, create=False) as bx, tqdm(desc="retemplate", unit="subject", disable=None) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        reports = bx.retemplate(None if args.modality is None else Modality(args.modality), progress=progress)
    if args.json:
        _print_json([{"modality": r.modality.value, "model_id": r.model_id, "made": list(r.made),
                      "failed": [{"subject_id": s, "reason": why} for s, why in r.failed],
                      "up_to_date": r.up_to_date} for r in reports])
    else:
        for r in reports:
            print(f"{r.modality.value} ({r.model_id}): {len(r.made)} templates made, {r.up_to_date} subjects "
                  f"already had one, {len(r.failed)} failed")
            for subject_id, why in r.failed:
                print(f"  {subject_id}: {why}")
    return EXIT_REJECT if any(r.failed for r in reports) else EXIT_OK


def _cmd_db_backup(args: argparse.Namespace) -> int:
    with _open(args, create=False) as bx:
        check = bx.backup(args.to)
        source = bx.location.path
    if args.json:
        _print_json({"db": str(source), "backup": args.to, "audit_rows": check.n_rows, "audit_head": check.anchor,
                     "audit_ok": check.ok})
    else:
        print(f"Backed up {source} to {args.to}: integrity ok, {check.n_rows} audit rows, "
              f"audit chain {'intact' if check.ok else 'BROKEN'} (head {check.anchor})")
    return EXIT_OK


def _cmd_db_restore(args: argparse.Namespace) -> int:
    from biometrix.cli_access import OPERATOR_ENV, PASSWORD_ENV, key_source, secret
    from biometrix.core.errors import AccessDenied, KeyUnavailable, StoreError, TamperDetected, WrongKey
    from biometrix.service import restore_db

    try:
        bx = _open(args, create=False)
    except (WrongKey, KeyUnavailable, TamperDetected, AccessDenied):
        raise
    except StoreError as err:  # missing or damaged: nobody can log in to it, so an admin of the backup restores
        name = getattr(args, "operator", None) or os.environ.get(OPERATOR_ENV, "").strip()
        if not name:
            raise AccessDenied(f"the database cannot be opened ({err}); restoring over it needs --operator, an "
                               "admin of the backup") from None
        log.info("restoring over a database that cannot be opened (%s)", err)
        password = secret(PASSWORD_ENV, f"Password for {name}: ")
        report = restore_db(args.db, args.source, operator=name, password=password, key=key_source(args),
                            expect_head=args.expect_head, force=args.force)
    else:
        with bx:
            report = bx.restore(args.source, expect_head=args.expect_head, force=args.force)
    kept = None if report.kept is None else str(report.kept)
    if args.json:
        _print_json({"db": str(report.path), "from": args.source, "kept": kept,
                     "schema_version": report.schema_version, "audit_ok": report.audit.ok})
    else:
        print(f"Restored {report.path} from {args.source} (schema version {report.schema_version})")
        if kept:
            print(f"The previous database is kept as {kept}")
    return EXIT_OK


def _cmd_audit_verify(args: argparse.Namespace) -> int:
    from biometrix.cli_access import key_source
    from biometrix.core.errors import TamperDetected
    from biometrix.service import check_audit_unattended

    try:
        with _open(args, create=False) as bx:
            check = bx.verify_audit(expect_head=args.expect_head, anchor_file=args.anchor_file)
    except TamperDetected as err:  # no login can even be recorded: check it with the key alone, write nothing
        log.warning("%s; checking the audit log without a login", err)
        check = check_audit_unattended(args.db, key=key_source(args), expect_head=args.expect_head,
                                       anchor_file=args.anchor_file)
        if check.ok:
            raise
    if args.json:
        _print_json({"ok": check.ok, "rows": check.n_rows, "head": check.anchor, "keyed": check.keyed,
                     "problems": [{"event_id": p.event_id, "kind": p.kind, "message": p.message}
                                  for p in check.problems]})
    elif check.ok:
        keyed = ", MACs and protected head checked" if check.keyed else ""
        print(f"Audit log intact: {check.n_rows} rows{keyed}, head {check.anchor}")
    else:
        for p in check.problems:
            print(f"{p.kind:<10} row {p.event_id}: {p.message}")
        print(f"Audit log TAMPERED: {len(check.problems)} problem(s) in {check.n_rows} rows")
    return EXIT_OK if check.ok else EXIT_REJECT


def _cmd_erase(args: argparse.Namespace) -> int:
    with _open(args, create=False) as bx:
        pseudonym = bx.erase(args.subject)
    if args.json:
        _print_json({"subject_id": args.subject, "erased": True, "audit_pseudonym": pseudonym})
    else:
        print(f"Erased {args.subject}: samples, templates and record removed; audited as {pseudonym}")
    return EXIT_OK


def _unavailable(command: str, err: ModuleNotFoundError) -> CommandUnavailable:
    """A one-line error for a lazily imported command whose module (or an extra it needs) is missing."""
    if err.name and err.name.startswith("biometrix."):
        return CommandUnavailable(f"'{PROG} {command}' is not available in this installation (no module {err.name})")
    return CommandUnavailable(f"'{PROG} {command}' is not available: {err}")


def _run_entry(entry: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    code = entry(args)
    return EXIT_OK if code is None else int(code)


def _cmd_demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from biometrix.demo import run_demo
    from biometrix.evaluation.datasets import default_data_root

    data = Path(args.data) if args.data else default_data_root()
    for line in run_demo(data_root=data, db=args.db, signer=args.signer, service=_open(args, create=True)):
        print(line)
    return EXIT_OK


def _cmd_gui(args: argparse.Namespace) -> int:
    command = "kiosk" if args.kiosk else "gui"
    if not display_available():  # checked before Qt starts: Qt aborts with lines of plugin errors
        raise CommandUnavailable(f"'{PROG} {command}' needs a screen: no display found (DISPLAY / WAYLAND_DISPLAY "
                                 "unset); run it on the desktop or over 'ssh -X' (QT_QPA_PLATFORM=offscreen runs it "
                                 "without one)")
    try:
        from biometrix.gui.app import LaunchOptions, run_app
    except ModuleNotFoundError as err:
        if err.name and err.name.split(".")[0] in ("PySide6", "shiboken6"):
            raise CommandUnavailable(f"'{PROG} {command}' needs PySide6: pip install PySide6-Essentials") from None
        raise _unavailable(command, err) from err
    options = LaunchOptions(kiosk=args.kiosk, db=args.db, settings_path=args.settings, camera=args.camera,
                            pin=getattr(args, "pin", None), modality=getattr(args, "modality", None),
                            idle_s=getattr(args, "idle", None), windowed=getattr(args, "windowed", False),
                            operator=getattr(args, "operator", None))
    return run_app(options)


# The imports below are inside the handlers on purpose: training needs torch (extra 'train') and
# evaluation is only for offline use, so neither may slow down or break enroll/verify/identify.


def _cmd_evaluate(args: argparse.Namespace) -> int:
    try:
        from biometrix.evaluation.cli_entry import run_evaluate
    except ModuleNotFoundError as err:
        raise _unavailable("evaluate", err) from err
    return _run_entry(run_evaluate, args)


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from biometrix.evaluation.cli_entry import run_calibrate

    return _run_entry(run_calibrate, args)


def _cmd_train(args: argparse.Namespace) -> int:
    try:
        from biometrix.training.cli_entry import run_train
    except ModuleNotFoundError as err:
        raise _unavailable("train", err) from err
    return _run_entry(run_train, args)


def _cmd_export(args: argparse.Namespace) -> int:
    try:
        from biometrix.training.cli_entry import run_export
    except ModuleNotFoundError as err:
        raise _unavailable("export", err) from err
    return _run_entry(run_export, args)
