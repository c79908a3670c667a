"""``biometrix train`` and ``biometrix export``: the training extra behind the CLI."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from biometrix.runtime.paths import models_dir
from biometrix.training.release import release_signature_model
from biometrix.training.train import TrainConfig, fit


def run_train(args: argparse.Namespace) -> int:
    """Train from a JSON config; resumes from the run folder's last.pt unless --no-resume."""
    logging.getLogger("biometrix").setLevel(logging.INFO)
    raw = json.loads(Path(args.config).read_text())
    if isinstance(raw, dict) and raw.get("task") == "omniglot-fewshot":
        from biometrix.training.fewshot_train import FewShotConfig, fit_fewshot

        result = fit_fewshot(FewShotConfig.from_dict(raw), resume=not getattr(args, "no_resume", False))
        print(f"Lake's 20 one-shot runs, 20-way 1-shot accuracy: {100 * result['lake_20way_1shot_accuracy']:.2f} % "
              f"(best epoch {result['best_epoch']}, {result['minutes']:.1f} min)")
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
    best = fit(cfg, resume=not getattr(args, "no_resume", False))
    print(f"best checkpoint: {best}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Export a checkpoint to ONNX + card: parity check, validation calibration, held-out evaluation."""
    out = Path(args.out) if getattr(args, "out", None) else models_dir()
    checkpoints = [Path(c) for c in ([args.checkpoint] if isinstance(args.checkpoint, str) else args.checkpoint)]
    if any(_checkpoint_task(c) == "face" for c in checkpoints):
        return _export_face(args, checkpoints, out)
    card = release_signature_model(checkpoints, model_id=args.model_id, out_dir=out,
                                   hog_weight=getattr(args, "hog_weight", None),
                                   fp16_weights=getattr(args, "fp16_weights", False))
    print(f"wrote {out / card.onnx_file} and {out / (card.model_id + '.json')}")
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
    from biometrix.core.errors import InvalidInput
    from biometrix.training.face_release import release_face_model

    for option, given in (("--hog-weight", getattr(args, "hog_weight", None) is not None),
                          ("--fp16-weights", getattr(args, "fp16_weights", False)),
                          ("several --checkpoint files", len(checkpoints) > 1)):
        if given:
            raise InvalidInput(f"{option} applies to signature models only; a face checkpoint was given")
    card = release_face_model(checkpoints[0], model_id=args.model_id, out_dir=out)
    print(f"wrote {out / card.onnx_file} and {out / (card.model_id + '.json')}; default threshold "
          f"{card.default_threshold().value:.4f} (FMR 1 % on validation subjects)")
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
