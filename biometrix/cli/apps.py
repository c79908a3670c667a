"""The desktop app and kiosk, and the offline commands: evaluate, calibrate, demo, train, export."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for annotations: the handlers import the service lazily so startup stays fast
    pass


from biometrix.cli.common import (
    EXIT_OK,
    PROG,
    CommandUnavailable,
    _open,
    _positive_int,
    _run_entry,
    _unavailable,
    display_available,
)


def add_commands(commands: Any, parents: dict[str, argparse.ArgumentParser]) -> None:
    verbose, db, remote = parents["verbose"], parents["db"], parents["remote"]

    gui_help = {"gui": ("open the desktop app (enroll, verify, identify, audit, settings)",
                        "The teller application. Needs PySide6 (pip install PySide6-Essentials)."),
                "kiosk": ("self-service verification, fullscreen; leaving needs the supervisor PIN",
                          "Kiosk mode: face (or signature) verification only, large touch targets, reset after "
                          "idle. The supervisor PIN comes from --pin, $BIOMETRIX_KIOSK_PIN or the settings file "
                          "(set on the Settings page of 'biometrix gui')."),
                }
    for name, (summary, description) in gui_help.items():
        p = commands.add_parser(name, parents=[verbose, db, remote], help=summary, description=description)
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
            p.add_argument("--liveness", choices=("off", "challenge"), default=None,
                           help="face liveness check (default: the settings file's, off): challenge asks the "
                                "customer to turn the head left and right in a random order; audited")
            p.add_argument("--windowed", action="store_true", help="a normal window instead of fullscreen")
        p.set_defaults(handler=lambda a: _cmd_gui(a), kiosk=name == "kiosk")  # looked up when run

    p = commands.add_parser("evaluate", parents=[verbose], help="evaluate a model on a dataset (EER, DET)",
                            description="Offline evaluation on a public dataset's held-out signers.")
    p.add_argument("--dataset", required=True, choices=("cedar", "sigcomp2011_dutch", "svc2004"),
                   help="cedar and sigcomp2011_dutch: scanned signatures; svc2004: pen recordings")
    p.add_argument("--data", default=None, metavar="DIR",
                   help="folder holding the datasets (default: ../shared/data beside the repository)")
    p.add_argument("--subjects", default=None, metavar="SPEC",
                   help="signers to use, e.g. 46-55 (default: the dataset's held-out signers: cedar 46-55, "
                        "sigcomp2011_dutch 49-69, svc2004 31-40)")
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
    p.set_defaults(handler=_cmd_demo, creates_db=True)

    p = commands.add_parser("train", parents=[verbose], help="train a signature encoder (extra 'train')",
                            description="Train a Siamese signature encoder; needs pip install 'biometrix[train]'.")
    p.add_argument("--config", required=True, metavar="FILE", help="training configuration file")
    p.add_argument("--no-resume", action="store_true", help="start afresh instead of resuming a checkpoint")
    p.add_argument("--folds", type=_positive_int, default=None, metavar="K",
                   help="signer-level K-fold cross-validation of the recipe over its training and validation "
                        "subjects (signature configs); writes <out_dir>/cv.json once every fold is done")
    p.add_argument("--fold", type=_positive_int, default=None, metavar="N",
                   help="with --folds: train only fold N (run the folds as parallel processes)")
    p.add_argument("--seed", type=int, default=None, metavar="S",
                   help="train with seed S instead of the config's, in <out_dir>_sS (another seed of one recipe)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="where signature training runs (default auto: cuda when torch sees a GPU, else cpu); "
                        "recorded in <out_dir>/device.json")
    p.add_argument("--num-workers", type=int, default=0, metavar="N",
                   help="DataLoader worker processes preparing the augmented batches (default 0: in the main "
                        "process, as before)")
    p.add_argument("--amp", action="store_true", help="bf16 autocast for the forward pass and loss (CUDA only)")
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


def _cmd_demo(args: argparse.Namespace) -> int:
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
                            idle_s=getattr(args, "idle", None), liveness=getattr(args, "liveness", None),
                            windowed=getattr(args, "windowed", False),
                            operator=getattr(args, "operator", None), server=getattr(args, "server", None),
                            ca_file=getattr(args, "ca_file", None))
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
