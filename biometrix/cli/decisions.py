"""enroll, verify and identify: the counter's commands."""

from __future__ import annotations

import argparse
from functools import partial
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for annotations: the handlers import the service lazily so startup stays fast
    pass


from biometrix.cli.common import (
    EXIT_OK,
    EXIT_REFER,
    EXIT_REJECT,
    _camera,
    _face_probe,
    _open,
    _positive_int,
    _print_json,
    _probe_arguments,
)


def add_commands(commands: Any, parents: dict[str, argparse.ArgumentParser]) -> None:
    verbose, db, model, out, remote = (parents[k] for k in ("verbose", "db", "model", "out", "remote"))

    p = commands.add_parser("enroll", parents=[verbose, db, model, remote, out],
                            help="enroll a subject's signatures and face",
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
    p.set_defaults(handler=_cmd_enroll, creates_db=True)

    p = commands.add_parser("verify", parents=[verbose, db, model, remote, out], help="1:1 check a signature or a face",
                            description="Compare a signature or a face with a subject's references; the "
                                        "decision is audited. The threshold and the Refer band are the database's "
                                        "policy ('biometrix policy show'). Exit status: 0 accept, 1 reject, 2 "
                                        "error, 3 refer (the distance is within the policy's band around the "
                                        "threshold and a supervisor decides; like a reject, nobody is accepted).")
    p.add_argument("--subject", required=True, metavar="ID", help="claimed subject id")
    _probe_arguments(p)
    p.set_defaults(handler=_cmd_verify)

    p = commands.add_parser("identify", parents=[verbose, db, model, remote, out],
                            help="1:N search by signature or face",
                            description="Rank the enrolled subjects by distance to a signature or a face.")
    _probe_arguments(p)
    p.add_argument("--top-k", type=_positive_int, default=5, metavar="K", help="how many candidates (default 5)")
    p.set_defaults(handler=_cmd_identify)


def _cmd_enroll(args: argparse.Namespace) -> int:
    if args.signature is None and args.face is None and args.camera is None:
        from biometrix.core.errors import InvalidInput

        raise InvalidInput("enroll needs --signature, --face or --camera")
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
                     "threshold": threshold.value, "reject_threshold": decision.reject_threshold,
                     "band": decision.band, "model_id": decision.model_id,
                     "reference_distances": list(decision.reference_distances),
                     "reference_scale": decision.reference_scale, "target_fmr": threshold.target_fmr})
    else:
        fmt = partial(format_distance, scale=threshold.value)
        band = f" band=±{fmt(decision.band)}" if decision.band else ""
        rule = f"threshold={fmt(threshold.value)}{band}" if decision.reject_threshold is None else \
            f"accept={fmt(threshold.value)} reject={fmt(decision.reject_threshold)}"
        print(f"{decision.label:<7} subject={decision.subject_id} distance={fmt(decision.distance)} {rule} "
              f"model={decision.model_id}")
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
            threshold = bx.identify_threshold(Modality.SIGNATURE, capture=signature_capture(args.signature))
        else:
            threshold = bx.identify_threshold(Modality.FACE)
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
