"""One table, one run: the few-shot methods side by side on Omniglot (issue 33).

Rows: the episodic heads (prototypical, matching, relation trained with the cross-entropy over its relation
scores; ``training/fewshot_train.py``), MAML first- and
second-order and Proto-MAML (``training/maml.py``), each trained from scratch by its config
``biometrix/training/configs/example_omniglot_fewshot_<row>.json`` on the same conv-4 encoder, the same 20-way
1-shot episodes (5 queries per class) of Omniglot's small background sets (rotations as new classes), the same 30
held-back validation characters and seed, each under its config's budget (``max_minutes`` of wall time, checked
after every epoch, and ``epochs`` x ``episodes_per_epoch``). The epoch (and, for MAML, the test-time inner steps)
is chosen on the validation characters; then, once:
  - 20-way 1-shot: Lake's 20 runs (400 test images), each run's 20 training images the support;
  - 5-way 1-shot: 10 ``EpisodeSampler`` episodes per run from its 40 images (20 characters x 2 drawers), 200
    episodes, 1,000 queries (``training/fewshot_eval.runs_nway_accuracy``).
"train min" is the wall time of the whole ``fit`` (loading the images, training, validation, the choices, scoring
Lake's runs) with 1 torch thread on this 2-core machine, shared with other work: comparable only within one run.

    python bench/fewshot_table.py [--rows prototypical,relation_cross_entropy] [--out runs/fewshot_table]
                                  [--max-minutes M]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import torch

from biometrix.evaluation.datasets import default_data_root
from biometrix.evaluation.omniglot import load_runs
from biometrix.training.fewshot_eval import Classify, head_classifier, runs_accuracy, runs_nway_accuracy
from biometrix.training.fewshot_train import ConvFour, FewShotConfig, build_head, fit_fewshot
from biometrix.training.maml import MamlConfig, build_learner, fit_maml

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "biometrix" / "training" / "configs"
ROWS = {"prototypical": "prototypical", "matching": "matching",
        "relation (cross-entropy over relation scores)": "relation_cross_entropy",
        "MAML first-order": "maml_first_order", "MAML second-order": "maml_second_order",
        "MAML + prototypical (fo-Proto-MAML)": "proto_maml"}


def train_row(key: str, *, out: Path, data: Path, max_minutes: float | None) -> tuple[Classify, dict, dict]:
    """Train one row from its config; its validation-chosen classifier, result.json and the config used."""
    raw = json.loads((CONFIGS / f"example_omniglot_fewshot_{key}.json").read_text())
    raw.update(out_dir=str(out / key), data_root=str(data))
    if max_minutes is not None:
        raw["max_minutes"] = max_minutes
    if raw["task"] == "omniglot-maml":
        mcfg = MamlConfig.from_dict(raw)
        result = fit_maml(mcfg, progress=False)
        learner = build_learner(mcfg)
        learner.load_state_dict(torch.load(out / key / "best.pt", weights_only=False)["model"])
        return learner.classifier(steps=result["test_steps"]), result, raw
    fcfg = FewShotConfig.from_dict(raw)
    result = fit_fewshot(fcfg, resume=False, progress=False)
    best = torch.load(out / key / "best.pt", weights_only=False)
    model, head = ConvFour(width=fcfg.width, embedding_dim=fcfg.embedding_dim), build_head(fcfg)
    model.load_state_dict(best["model"])
    head.load_state_dict(best["head"])
    return head_classifier(model, head), result, raw


def budget(raw: dict, result: dict) -> str:
    steps = (f", {raw['inner_steps']} inner steps (test {result['test_steps']})" if raw["task"] == "omniglot-maml"
             else "")
    return f"{result['episodes_trained']} ep{steps}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default=",".join(ROWS.values()), help="comma-separated config keys")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "fewshot_table")
    ap.add_argument("--max-minutes", type=float, default=None, help="override every config's max_minutes")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    torch.set_num_threads(1)
    data = default_data_root() / "omniglot"
    runs = load_runs(data)
    keys = [k for k in args.rows.split(",") if k]
    unknown = set(keys) - set(ROWS.values())
    if unknown:
        ap.error(f"unknown rows {sorted(unknown)}; known: {', '.join(ROWS.values())}")
    table = []
    for name, key in ROWS.items():
        if key not in keys:
            continue
        t0 = time.monotonic()
        classify, result, raw = train_row(key, out=args.out, data=data, max_minutes=args.max_minutes)
        minutes = (time.monotonic() - t0) / 60
        torch.manual_seed(0)
        row = {"row": name, "config": f"example_omniglot_fewshot_{key}.json",
               "lake_20way_1shot": runs_accuracy(classify, runs, size=raw["size"]),
               "runs_5way_1shot": runs_nway_accuracy(classify, runs, size=raw["size"], n_way=5, episodes_per_run=10),
               "validation_20way_1shot": result["validation_20way_1shot"], "best_epoch": result["best_epoch"],
               "budget": budget(raw, result), "train_minutes": minutes}
        table.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "table.json").write_text(json.dumps(table, indent=2))
    print(f"{'row':46s}{'Lake 20w1s':>11s}{'5w1s':>8s}{'val 20w1s':>10s}{'train min':>10s}  budget")
    for r in table:
        print(f"{r['row']:46s}{100 * r['lake_20way_1shot']:10.2f}%{100 * r['runs_5way_1shot']:7.2f}%"
              f"{100 * r['validation_20way_1shot']:9.2f}%{r['train_minutes']:10.1f}  {r['budget']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
