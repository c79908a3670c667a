"""``biometrix train`` and ``biometrix export``: the training extra behind the CLI."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from pathlib import Path

from biometrix.core.distances import format_distance
from biometrix.core.errors import InvalidInput
from biometrix.runtime.paths import models_dir
from biometrix.training.device import RunDevice
from biometrix.training.release import release_signature_model
from biometrix.training.train import TrainConfig, fit


def run_train(args: argparse.Namespace) -> int:
    """Train from a JSON config; resumes from the run folder's last.pt unless --no-resume."""
    logging.getLogger("biometrix").setLevel(logging.INFO)
    raw = json.loads(Path(args.config).read_text())
    if getattr(args, "fold", None) is not None and not getattr(args, "folds", None):
        raise InvalidInput("--fold needs --folds K")
    if getattr(args, "folds", None) and isinstance(raw, dict) and raw.get("task"):
        raise InvalidInput(f"--folds cross-validates signature recipes; this config is a {raw['task']!r} task")
    run = RunDevice(device=getattr(args, "device", "auto") or "auto", num_workers=getattr(args, "num_workers", 0) or 0,
                    amp=bool(getattr(args, "amp", False)))
    if isinstance(raw, dict) and raw.get("task"):
        cpu_only_task(raw["task"], run)
    if isinstance(raw, dict) and raw.get("task") == "omniglot-fewshot":
        from biometrix.training.fewshot_train import FewShotConfig, fit_fewshot

        result = fit_fewshot(FewShotConfig.from_dict(raw), resume=not getattr(args, "no_resume", False))
        print(f"Lake's 20 one-shot runs, 20-way 1-shot accuracy: {100 * result['lake_20way_1shot_accuracy']:.2f} % "
              f"(best epoch {result['best_epoch']}, {result['minutes']:.1f} min)")
        return 0
    if isinstance(raw, dict) and raw.get("task") == "omniglot-maml":
        from biometrix.training.maml import MamlConfig, fit_maml

        result = fit_maml(MamlConfig.from_dict(raw))
        print(f"Lake's 20 one-shot runs, 20-way 1-shot accuracy: {100 * result['lake_20way_1shot_accuracy']:.2f} % "
              f"(MAML, best epoch {result['best_epoch']}, {result['test_steps']} test steps, "
              f"{result['minutes']:.1f} min)")
        return 0
    if isinstance(raw, dict) and raw.get("task") == "face":
        from biometrix.training.face_train import FaceTrainConfig, fit_face

        best = fit_face(FaceTrainConfig.from_dict(raw), resume=not getattr(args, "no_resume", False))
        result = json.loads((best.parent / "result.json").read_text())
        print(f"best checkpoint: {best} (epoch {result['best_epoch']}, validation mean EER "
              f"{100 * result['validation_mean_eer']:.2f} %, untrained "
              f"{100 * result['untrained_validation_mean_eer']:.2f} %)")
        return 0
    cfg = TrainConfig.from_file(args.config)
    if getattr(args, "seed", None) is not None:
        cfg = seeded(cfg, args.seed)
    if getattr(args, "folds", None):
        return _cross_validate(cfg, args, run)
    best = fit(cfg, resume=not getattr(args, "no_resume", False), run=run)
    print(f"best checkpoint: {best}")
    return 0


def cpu_only_task(task: str, run: RunDevice) -> None:
    """The few-shot and face loops run on the CPU only so far: an explicit GPU option for them is refused."""
    if run.device == "cuda" or run.amp or run.num_workers:
        raise InvalidInput(f"--device cuda, --amp and --num-workers apply to signature training; the {task!r} "
                           f"loop runs on the CPU only so far (use --device cpu or auto)")
    run.resolve()


def seeded(cfg: TrainConfig, seed: int) -> TrainConfig:
    """``cfg`` with another seed, in a run folder of its own (``<out_dir>_s<seed>``): another seed of one recipe."""
    if seed < 0:
        raise InvalidInput(f"--seed must be a whole number >= 0, got {seed}")
    return dataclasses.replace(cfg, seed=seed, out_dir=f"{cfg.out_dir}_s{seed}")


def _cross_validate(cfg: TrainConfig, args: argparse.Namespace, run: RunDevice) -> int:
    """Train the folds (all, or the one --fold names, so that folds can run as parallel processes); once every
    fold has a history, write <out_dir>/cv.json and print the recipe's cross-validated figure over the epochs
    every fold has finished (parallel folds: the last to finish writes the complete summary)."""
    from biometrix.training.crossval import cv_summary, fold_configs

    folds = fold_configs(cfg, args.folds)
    chosen = range(1, args.folds + 1) if args.fold is None else [args.fold]
    if any(not 1 <= f <= args.folds for f in chosen):
        raise InvalidInput(f"--fold must lie in 1..{args.folds}, got {args.fold}")
    for f in chosen:
        dutch = f", SigComp2011 Dutch {folds[f - 1].dutch_validation}" if folds[f - 1].dutch_validation else ""
        print(f"fold {f} of {args.folds}: validation CEDAR {folds[f - 1].cedar_validation}, "
              f"SVC2004 {folds[f - 1].svc_validation}{dutch}")
        fit(folds[f - 1], resume=not getattr(args, "no_resume", False), run=run)
    try:
        summary = cv_summary(cfg, args.folds)
    except InvalidInput as err:
        print(f"not summarised yet: {err}")
        return 0
    Path(cfg.out_dir).mkdir(parents=True, exist_ok=True)
    (Path(cfg.out_dir) / "cv.json").write_text(json.dumps(summary, indent=2))
    lo, hi = summary["best_spread"]
    print(f"{args.folds}-fold cross-validation over CEDAR {len(summary['cedar_subjects'])} signers and SVC2004 "
          f"{len(summary['svc2004_subjects'])} users: mean validation EER {100 * summary['best_mean']:.2f} % at "
          f"epoch {summary['best_epoch']} (folds {100 * lo:.2f}-{100 * hi:.2f} %); last epoch "
          f"{summary['last_epoch']}: {100 * summary['last_mean']:.2f} % (epochs 1-{summary['last_epoch']}, those every "
          f"fold has finished). Written to {Path(cfg.out_dir) / 'cv.json'}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Export a checkpoint to ONNX + card: parity check, validation calibration, held-out evaluation."""
    out = Path(args.out) if getattr(args, "out", None) else models_dir()
    checkpoints = [Path(c) for c in ([args.checkpoint] if isinstance(args.checkpoint, str) else args.checkpoint)]
    if any(_checkpoint_task(c) == "face" for c in checkpoints):
        return _export_face(args, checkpoints, out)
    card = release_signature_model(checkpoints, model_id=args.model_id, out_dir=out,
                                   hog_weight=getattr(args, "hog_weight", None),
                                   fp16_weights=getattr(args, "fp16_weights", False),
                                   thresholds_from=getattr(args, "thresholds_from", None),
                                   int8=getattr(args, "int8", False))
    print(f"wrote {out / card.onnx_file} and {out / (card.model_id + '.json')}")
    quant = card.training.get("quantization")
    if quant:
        d = quant["drift_cosine"]
        print(f"  int8, calibrated on {quant['calibration']['n_images']} training-subject images; drift from "
              f"float32 on {d['n_images']} others: median {d['median']:.3g}, max {d['max']:.3g} cosine "
              f"({100 * d['max_fraction_of_default_threshold']:.1f} % of the default threshold)")
    transfer = card.evaluation.get("threshold_transfer")
    if transfer:
        print(f"  thresholds transferred from {transfer['reference']} (no validation subjects): " + "; ".join(
            f"{name} {format_distance(t['value'])} (x {t['ratio']:.3f})" for name, t in transfer["thresholds"].items()))
    for source, e in card.evaluation["heldout"].items():
        print(f"  held-out {source}: skilled EER {100 * e['skilled_eer']:.2f} %, random EER "
              f"{100 * e['random_eer']:.2f} % ({e['n_genuine']} genuine, {e['n_skilled']} skilled, "
              f"{e['n_random']} random)")
    return 0


def _checkpoint_task(checkpoint: Path) -> str | None:
    """The "task" of the config a checkpoint was trained with (saved inside it, or beside it as config.json)."""
    import torch

    ck = torch.load(checkpoint, map_location="cpu", weights_only=False)
    config = ck.get("config") if isinstance(ck, dict) else None
    if config is None and (checkpoint.parent / "config.json").is_file():
        config = json.loads((checkpoint.parent / "config.json").read_text())
    return config.get("task") if isinstance(config, dict) else None


def _export_face(args: argparse.Namespace, checkpoints: list[Path], out: Path) -> int:
    from biometrix.training.face_release import release_face_model

    for option, given in (("--hog-weight", getattr(args, "hog_weight", None) is not None),
                          ("--fp16-weights", getattr(args, "fp16_weights", False)),
                          ("several --checkpoint files", len(checkpoints) > 1),
                          ("--thresholds-from", getattr(args, "thresholds_from", None) is not None),
                          ("--int8", getattr(args, "int8", False))):
        if given:
            raise InvalidInput(f"{option} applies to signature models only; a face checkpoint was given")
    card = release_face_model(checkpoints[0], model_id=args.model_id, out_dir=out)
    print(f"wrote {out / card.onnx_file} and {out / (card.model_id + '.json')}; default threshold "
          f"{format_distance(card.default_threshold().value)} (FMR 1 % on validation subjects)")
    baseline = card.evaluation["baseline_raw_pixels"]["heldout"]
    for source, e in card.evaluation["heldout"].items():
        for name, fig in (("model", e), ("raw pixels", baseline[source])):
            a = fig["acquired_only"]
            print(f"  held-out {source} {e['subjects']}, {name}: EER {100 * fig['eer']:.2f} %, FNMR@FMR1% "
                  f"{100 * fig['fnmr_at_fmr1']:.2f} %, rank-1 {100 * fig['rank1']:.2f} % ({fig['n_genuine']} "
                  f"genuine, {fig['n_impostor']} impostor, FTA {fig['fta']}/{fig['n_samples']}); acquired "
                  f"images only: EER {100 * a['eer']:.2f} %, rank-1 {100 * a['rank1']:.2f} % ({a['n_genuine']} "
                  f"genuine, {a['n_impostor']} impostor)")
    return 0
