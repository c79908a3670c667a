"""One table, one run: the metric-learning losses side by side on signatures (CEDAR) and Omniglot one-shot.

Rows: contrastive, triplet (batch-hard), quadruplet, N-pair, prototypical, and a raw-pixel nearest-neighbour
baseline. Every loss row trains two encoders from scratch with the same budget and seed:
  - a signature encoder (SignatureCNN, 96x192) on CEDAR signers 1-35 + SVC2004 users 1-25 (the shipped
    model's recipe: mirrored identities, skilled forgeries among the negatives), the epoch chosen on the
    validation signers; scored on the held-out CEDAR signers 46-55 with 5 references (EVALUATION.md);
  - a ConvFour encoder (28x28) on Omniglot's small background sets, the epoch chosen on 20-way 1-shot
    validation episodes of held-back characters; scored on Lake's twenty 20-way 1-shot runs.
"contrastive" is the pair form L = (1-y) d^2 + y max(0, m-d)^2 on balanced pairs for signatures (the
issue-2 model's loss) and its batch form on Omniglot; "prototypical" is the leave-one-out batch form for
signatures and the episodic head (Snell et al.) on Omniglot. Columns: CEDAR skilled- and random-forgery
EER, Omniglot accuracy, and the training time of each encoder on this machine's CPU.

    python bench/losses.py [--signature-epochs 2] [--omniglot-epochs 4] [--rows triplet,npair] [--out DIR]

With the defaults the whole run took 41 min on this 2-core machine with other work running (under the
90-minute budget); the budget of each row is printed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from biometrix.evaluation.datasets import CEDAR_HELDOUT, default_data_root
from biometrix.evaluation.omniglot import load_runs, omniglot_preprocess, score_runs
from biometrix.evaluation.report import evaluate_pipeline
from biometrix.preprocess.signature import preprocess_signature

ROOT = Path(__file__).resolve().parents[1]
SIGNATURE_BASE = ROOT / "biometrix" / "training" / "configs" / "example_signature_losses.json"

# row name -> (signature loss, its options), (Omniglot loss, its options)
ROWS: dict[str, tuple[tuple[str, dict], tuple[str, dict]]] = {
    "contrastive": (("contrastive_pairs", {}), ("contrastive", {"margin": 1.0, "nonzero_negatives": True})),
    "triplet (batch-hard)": (("triplet", {"margin": 0.3, "mining": "batch_hard"}),
                             ("triplet", {"margin": 0.3, "mining": "batch_hard"})),
    "quadruplet": (("quadruplet", {"margin": 0.3, "margin2": 0.15, "alpha": 1.0}),
                   ("quadruplet", {"margin": 0.3, "margin2": 0.15, "alpha": 1.0})),
    "N-pair": (("npair", {"scale": 10.0}), ("npair", {"scale": 10.0})),
    "prototypical": (("prototypical", {"scale": 10.0}), ("prototypical", {})),
}
RAW = "raw-pixel NN (no training)"


def short(name: str) -> str:
    return name.split(" ")[0].lower().replace("-", "")


def cedar_heldout(embed, dim: int, aggregate: str, data: Path) -> dict[str, float]:
    rep, _ = evaluate_pipeline(embed, dim, model_id="bench", source="cedar", root=data, subjects=CEDAR_HELDOUT,
                               aggregate=aggregate, progress=False)
    return rep.summary


def signature_row(loss: str, options: dict, *, epochs: int, batches: int, out: Path, data: Path
                  ) -> dict[str, float]:
    import torch

    from biometrix.training.train import TrainConfig, build_model, fit

    raw = json.loads(SIGNATURE_BASE.read_text())
    raw.update(out_dir=str(out), loss=loss, loss_options=options, epochs=epochs, batches_per_epoch=batches,
               keep_every_epoch=False, patience=epochs, data_root=str(data))
    cfg = TrainConfig(**raw)
    t0 = time.monotonic()
    best = torch.load(fit(cfg, resume=False, progress=True), weights_only=False)
    minutes = (time.monotonic() - t0) / 60
    model = build_model(cfg)
    model.load_state_dict(best["model"])
    model.eval()

    def embed(img: np.ndarray) -> np.ndarray:
        x = preprocess_signature(img, height=cfg.input_height, width=cfg.input_width)[None, None]
        with torch.no_grad():
            return model(torch.from_numpy(x.astype(np.float32))).numpy()[0]

    summary = cedar_heldout(embed, cfg.embedding_dim, best["aggregate"], data)
    return {**summary, "minutes": minutes, "best_epoch": best["epoch"], "aggregate": best["aggregate"],
            "budget": f"{epochs} epochs x {cfg.batches_per_epoch} batches of {cfg.signers_per_batch} signers x "
                      f"({cfg.genuine_per_signer} genuine + {cfg.forgeries_per_signer} forgeries)"}


def omniglot_row(loss: str, options: dict, *, epochs: int, batches: int, out: Path, data: Path
                 ) -> dict[str, float]:
    from biometrix.training.fewshot_train import FewShotConfig, fit_fewshot

    cfg = FewShotConfig(out_dir=str(out), data_root=str(data / "omniglot"), n_way=20, k_shot=1, n_query=5,
                        episodes_per_epoch=batches, epochs=epochs, patience=epochs, loss=loss, loss_options=options)
    t0 = time.monotonic()
    result = fit_fewshot(cfg, resume=False, progress=True)
    return {**result, "minutes": (time.monotonic() - t0) / 60,
            "budget": f"{epochs} epochs x {cfg.episodes_per_epoch} batches of {cfg.n_way} classes x "
                      f"{cfg.k_shot + cfg.n_query} images"}


def raw_row(data: Path) -> tuple[dict[str, float], dict[str, float]]:
    def pixels(img: np.ndarray) -> np.ndarray:
        return preprocess_signature(img, height=96, width=192).ravel() + 1e-6

    sig = cedar_heldout(pixels, 96 * 192, "mean", data)
    runs = score_runs(lambda b: omniglot_preprocess(b, size=28).reshape(len(b), -1) + 1e-6,
                      load_runs(data / "omniglot"))
    return {**sig, "minutes": 0.0, "budget": "-"}, {"lake_20way_1shot_accuracy": runs.mean_accuracy,
                                                     "minutes": 0.0, "budget": "-"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=default_data_root())
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "bench_losses")
    ap.add_argument("--signature-epochs", type=int, default=2)
    ap.add_argument("--omniglot-epochs", type=int, default=4)
    ap.add_argument("--signature-batches", type=int, default=60, help="batches per signature epoch")
    ap.add_argument("--omniglot-batches", type=int, default=100, help="batches (episodes) per Omniglot epoch")
    ap.add_argument("--rows", default="", help="comma-separated subset of: " + ", ".join(short(r) for r in ROWS))
    ap.add_argument("--threads", type=int, default=2, help="torch threads (the machine has 2 cores)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    import torch

    torch.set_num_threads(args.threads)
    wanted = {r.strip() for r in args.rows.split(",") if r.strip()}
    unknown = wanted - {short(r) for r in ROWS}
    if unknown:
        ap.error(f"unknown rows: {', '.join(sorted(unknown))}")
    results: dict[str, tuple[dict, dict]] = {}
    started = time.monotonic()
    results[RAW] = raw_row(args.data)
    for name, ((sig_loss, sig_opt), (omni_loss, omni_opt)) in ROWS.items():
        if wanted and short(name) not in wanted:
            continue
        print(f"# {name}: training ({(time.monotonic() - started) / 60:.1f} min elapsed)", file=sys.stderr)
        sig = signature_row(sig_loss, sig_opt, epochs=args.signature_epochs, batches=args.signature_batches,
                            out=args.out / f"sig_{short(name)}", data=args.data)
        omni = omniglot_row(omni_loss, omni_opt, epochs=args.omniglot_epochs, batches=args.omniglot_batches,
                            out=args.out / f"omni_{short(name)}", data=args.data)
        results[name] = (sig, omni)
    total = (time.monotonic() - started) / 60
    s = results[RAW][0]
    print(f"# metric-learning losses, one run on this machine ({args.threads} torch threads, CPU), seed 0, "
          f"total {total:.1f} min")
    print(f"# CEDAR held-out signers 46-55, 5 references: {s['n_genuine']} genuine, {s['n_skilled']} skilled, "
          f"{s['n_random']} random comparisons; Omniglot: Lake's 20 runs x 20 one-shot trials")
    print(f"{'row':28s} {'CEDAR skilled EER':>17s} {'CEDAR random EER':>16s} {'Omniglot 20w1s':>14s} "
          f"{'train sig':>9s} {'train omni':>10s}")
    for name, (sig, omni) in results.items():
        print(f"{name:28s} {100 * sig['skilled_eer']:16.2f}% {100 * sig['random_eer']:15.2f}% "
              f"{100 * omni['lake_20way_1shot_accuracy']:13.2f}% {sig['minutes']:7.1f} m {omni['minutes']:8.1f} m")
    print("# budget of every trained row (the same for each loss):")
    trained = [v for k, v in results.items() if k != RAW]
    if trained:
        print(f"#   signatures: {trained[0][0]['budget']}; best epoch on validation")
        print(f"#   Omniglot:   {trained[0][1]['budget']}; best epoch on validation")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(
        {k: [dict(v[0]), dict(v[1])] for k, v in results.items()}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
