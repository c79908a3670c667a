"""``biometrix evaluate``: score a data set's held-out subjects with a shipped model; write scores and report."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from biometrix.core.distances import format_distance
from biometrix.core.types import Modality, Threshold
from biometrix.evaluation.datasets import CAPTURE, HELDOUT, check_subjects, default_data_root, parse_subjects
from biometrix.evaluation.protocol import rates_at
from biometrix.evaluation.report import evaluate_pipeline, write_outputs
from biometrix.runtime.encoder import OnnxEncoder
from biometrix.runtime.model_card import PREFERRED_MODELS, ModelCard, load_card_for
from biometrix.runtime.paths import models_dir
from biometrix.runtime.pipelines import SignaturePipeline


def run_evaluate(args: argparse.Namespace) -> int:
    """Evaluate, print a summary, write scores-*.txt, report.json and det.png into --out."""
    subjects = check_subjects(args.dataset, parse_subjects(args.subjects) if getattr(args, "subjects", None)
                              else HELDOUT[args.dataset])
    folder = models_dir()
    card = load_card_for(folder, model_id=getattr(args, "model", None), modality=Modality.SIGNATURE,
                         prefer=PREFERRED_MODELS[Modality.SIGNATURE])
    pipe = SignaturePipeline(OnnxEncoder(card, card.onnx_path(folder)))
    data = Path(args.data) if getattr(args, "data", None) else default_data_root()
    refs = getattr(args, "references", 5)
    if refs != 5:
        from biometrix.core.errors import InvalidInput

        raise InvalidInput("the fixed protocol uses 5 references per subject (EVALUATION.md)")
    thr = card.default_threshold()
    capture = CAPTURE[args.dataset]
    capture_thr: Threshold | None = card.capture_threshold(capture)
    if capture_thr is not None and capture_thr.value == thr.value:  # the app uses the default for these probes
        capture_thr = None
    rep, scores = evaluate_pipeline(pipe.embed, card.embedding_dim, model_id=card.model_id, source=args.dataset,
                                    root=data, subjects=subjects, aggregate=card.aggregate,
                                    threshold=thr.value, progress=sys.stderr.isatty())
    out = Path(args.out) if getattr(args, "out", None) else Path("evaluation") / f"{card.model_id}-{args.dataset}"
    plot = True
    try:
        import matplotlib  # noqa: F401
    except ModuleNotFoundError:
        plot = False
        print("note: no DET plot without matplotlib: pip install 'biometrix[eval]'", file=sys.stderr)
    files = write_outputs(out, rep, scores, plot=plot)
    s = rep.summary
    if getattr(args, "json", False):
        print(json.dumps(rep.to_dict(), indent=2))
    else:
        print(f"model {card.model_id} (sha256 {card.sha256[:12]}...) on {args.dataset}, subjects "
              f"{subjects[0]}-{subjects[-1]}, {s['n_references']} references, aggregate {rep.aggregate}, FTA {rep.fta}")
        for kind in ("skilled", "random"):
            lo, hi = rep.eer_ci95[kind]
            print(f"  {kind:7s} forgeries: EER {100 * s[f'{kind}_eer']:.2f} % "
                  f"(95 % CI {100 * lo:.1f}-{100 * hi:.1f} % by subject bootstrap; "
                  f"threshold {format_distance(s[f'{kind}_eer_threshold'], scale=thr.value)}; "
                  f"{s['n_genuine']} genuine / {s[f'n_{kind}']} "
                  f"impostor), FNMR at FMR 1 % {100 * s[f'{kind}_fnmr_at_fmr1']:.1f} %")
        at = rep.at_threshold
        print(f"  at the default threshold {format_distance(thr.value)}: FNMR {100 * at['fnmr']:.1f} %, skilled FMR "
              f"{100 * at['skilled_fmr']:.1f} %, random FMR {100 * at['random_fmr']:.1f} %")
        if capture_thr is not None:
            at = rates_at(scores, card.aggregate, capture_thr.value)
            print(f"  at the {capture} threshold {format_distance(capture_thr.value)} (what the app uses for "
                  f"{capture} probes, stricter than the default): FNMR {100 * at['fnmr']:.1f} %, "
                  f"skilled FMR {100 * at['skilled_fmr']:.1f} %, random FMR {100 * at['random_fmr']:.1f} %")
        print("  wrote " + ", ".join(str(f) for f in files))
    if args.dataset == "svc2004" and not getattr(args, "json", False):
        _pen_comparator_lines(folder, data, subjects)
    return 0


def _pen_comparator_lines(folder: Path, data: Path, subjects: Sequence[int]) -> None:
    """The pen comparator's figures on the same SVC2004 subjects: what the app decides a pen probe against pen
    references by (``runtime.pen_comparator``)."""
    from biometrix.evaluation.pen import svc2004_pen_scores
    from biometrix.evaluation.protocol import subject_bootstrap_eer, summarize
    from biometrix.runtime.pen_comparator import PEN_AGGREGATE, load_pen_card

    card = load_pen_card(folder)
    if card is None:
        return
    scores = svc2004_pen_scores(data, subjects, card.model)
    s = summarize(scores, PEN_AGGREGATE)
    print(f"pen comparator {card.model_id} (what the app uses for a pen probe against pen references), same "
          f"subjects, aggregate {PEN_AGGREGATE}")
    for kind in ("skilled", "random"):
        lo, hi = subject_bootstrap_eer(scores, PEN_AGGREGATE, kind)
        print(f"  {kind:7s} forgeries: EER {100 * s[f'{kind}_eer']:.2f} % (95 % CI {100 * lo:.1f}-{100 * hi:.1f} %; "
              f"{s['n_genuine']} genuine / {s[f'n_{kind}']} impostor)")
    at = rates_at(scores, PEN_AGGREGATE, card.threshold.value)
    print(f"  at its threshold {format_distance(card.threshold.value)}: FNMR {100 * at['fnmr']:.1f} %, skilled FMR "
          f"{100 * at['skilled_fmr']:.1f} %, random FMR {100 * at['random_fmr']:.1f} %")


def run_calibrate(args: argparse.Namespace) -> int:
    """``biometrix calibrate``: thresholds on validation subjects, figures on held-out subjects, into the card.

    A face model gets its default threshold; a signature model gets one threshold per capture (``scan`` on
    CEDAR, ``pen`` on SVC2004; ``evaluation.signature_calibration``), its other thresholds untouched."""
    from biometrix.evaluation.face_report import calibrate_card, card_summary
    from biometrix.runtime.face_detector import make_detector
    from biometrix.runtime.pipelines import FacePipeline

    folder = Path(args.models_dir) if getattr(args, "models_dir", None) else models_dir()
    card = load_card_for(folder, model_id=args.model)
    data = Path(args.data) if getattr(args, "data", None) else default_data_root()
    command = f"biometrix calibrate --model {card.model_id}"
    if args.target_fmr != 0.01:
        command += f" --target-fmr {args.target_fmr:g}"
    if card.modality is Modality.SIGNATURE:
        return _calibrate_signature(card, folder, data, args.target_fmr, command)
    detector = card.preprocessing.get("detector", "mtcnn")
    pipe = FacePipeline(OnnxEncoder(card, card.onnx_path(folder), prefer_gpu=False), make_detector(detector))
    new = calibrate_card(card, pipe.embed, data, target_fmr=args.target_fmr, command=command,
                         progress=sys.stderr.isatty())
    path = folder / f"{card.model_id}.json"
    new.save(path)
    thr = new.default_threshold()
    print(f"{card.model_id}: default threshold {format_distance(thr.value)} ({thr.source})")
    for line in card_summary(new.evaluation):
        print(line)
    return 0


def _calibrate_signature(card: ModelCard, folder: Path, data: Path, target_fmr: float, command: str) -> int:
    from biometrix.evaluation.signature_calibration import calibrate_signature_card, capture_summary

    pipe = SignaturePipeline(OnnxEncoder(card, card.onnx_path(folder), prefer_gpu=False))
    new = calibrate_signature_card(card, pipe.embed, data, target_fmr=target_fmr, command=command,
                                   progress=sys.stderr.isatty())
    new.save(folder / f"{card.model_id}.json")
    print(f"{card.model_id}: one threshold per capture, each used only where it is stricter than the default "
          f"{format_distance(new.default_threshold().value)}")
    for line in capture_summary(new):
        print(line)
    return 0
