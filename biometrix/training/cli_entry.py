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
    cfg = TrainConfig.from_file(args.config)
    best = fit(cfg, resume=not getattr(args, "no_resume", False))
    print(f"best checkpoint: {best}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Export a checkpoint to ONNX + card: parity check, validation calibration, held-out evaluation."""
    out = Path(args.out) if getattr(args, "out", None) else models_dir()
    card = release_signature_model(Path(args.checkpoint), model_id=args.model_id, out_dir=out,
                                   hog_weight=getattr(args, "hog_weight", None))
    print(f"wrote {out / card.onnx_file} and {out / (card.model_id + '.json')}")
    for source, e in card.evaluation["heldout"].items():
        print(f"  held-out {source}: skilled EER {100 * e['skilled_eer']:.2f} %, random EER "
              f"{100 * e['random_eer']:.2f} % ({e['n_genuine']} genuine, {e['n_skilled']} skilled, "
              f"{e['n_random']} random)")
    return 0
