"""Signer-level cross-validation of a training recipe over the training side of the protocol.

Ten validation signers per source cannot tell two recipes apart: three seeds of one recipe span more than a
point of mean validation EER. K-fold cross-validation scores a recipe on every training-side subject
(CEDAR 1-45, SVC2004 1-30, and SigComp2011 Dutch 001-048 where the config names them) instead. Fold f validates
on every K-th subject of each source, starting at the f-th, and trains on the others. The held-out subjects never
enter any fold.

The recipe's figure is the fold-averaged validation metric at each epoch: the same epoch for every fold, so
it is not biased by choosing each fold's best epoch. The best such epoch is reported with it, and the spread
across folds.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from biometrix.core.errors import InvalidInput
from biometrix.training.train import TrainConfig


def fold_configs(cfg: TrainConfig, folds: int) -> list[TrainConfig]:
    """The K fold configs of ``cfg``: subjects of each source pooled (train + validation), fold f validating on
    pool[f::K]; each fold's run folder is ``<out_dir>/fold<f>of<K>``."""
    if folds < 2:
        raise InvalidInput(f"cross-validation needs at least 2 folds, got {folds}")
    cedar = sorted(set(cfg.cedar_train) | set(cfg.cedar_validation))
    svc = sorted(set(cfg.svc_train) | set(cfg.svc_validation))
    dutch = sorted(set(cfg.dutch_train) | set(cfg.dutch_validation))
    if min(len(cedar), len(svc)) < folds or 0 < len(dutch) < folds:
        raise InvalidInput(f"{folds} folds need at least {folds} subjects of each source; the config has "
                           f"{len(cedar)} CEDAR, {len(svc)} SVC2004 and {len(dutch)} SigComp2011 Dutch subjects")
    if not 0.0 < cfg.train_fraction <= 1.0:
        raise InvalidInput(f"train_fraction must lie in (0, 1], got {cfg.train_fraction}")
    out = []
    for f in range(folds):
        cedar_val, svc_val = cedar[f::folds], svc[f::folds]
        cedar_train = _share([s for s in cedar if s not in cedar_val], cfg.train_fraction, fold=f)
        svc_train = _share([s for s in svc if s not in svc_val], cfg.train_fraction, fold=f)
        dutch_val = dutch[f::folds]
        dutch_train = _share([s for s in dutch if s not in dutch_val], cfg.train_fraction, fold=f) if dutch else []
        out.append(dataclasses.replace(
            cfg, out_dir=str(Path(cfg.out_dir) / f"fold{f + 1}of{folds}"),
            cedar_train=cedar_train, cedar_validation=cedar_val, svc_train=svc_train, svc_validation=svc_val,
            dutch_train=dutch_train, dutch_validation=dutch_val))
    return out


def _share(subjects: list[int], fraction: float, *, fold: int) -> list[int]:
    """``fraction`` of ``subjects`` (at least one), drawn by a permutation fixed by the fold alone, so that every
    seed of a recipe trains a fold on the same subjects; sorted."""
    if fraction >= 1.0:
        return subjects
    keep = max(1, round(fraction * len(subjects)))
    order = np.random.default_rng(fold).permutation(len(subjects))[:keep]
    return sorted(subjects[i] for i in order)


def cv_summary(cfg: TrainConfig, folds: int) -> dict[str, Any]:
    """The recipe's cross-validated figures from the folds' ``history.json`` files (all folds must be done).

    ``by_epoch``: the validation metric of every fold at each epoch all folds reached, and their mean;
    ``best_epoch``: the epoch with the lowest mean, with its mean and its spread across folds.
    """
    histories = []
    for fold in fold_configs(cfg, folds):
        path = Path(fold.out_dir) / "history.json"
        if not path.is_file():
            raise InvalidInput(f"fold {fold.out_dir} has no history.json: train every fold first")
        histories.append({h["epoch"]: h["val_metric"] for h in json.loads(path.read_text())})
    epochs = sorted(set.intersection(*(set(h) for h in histories)))
    if not epochs:
        raise InvalidInput("the folds share no finished epoch")
    by_epoch = [{"epoch": e, "folds": [h[e] for h in histories], "mean": float(np.mean([h[e] for h in histories]))}
                for e in epochs]
    best = min(by_epoch, key=lambda row: row["mean"])
    return {
        "folds": folds,
        "cedar_subjects": sorted(set(cfg.cedar_train) | set(cfg.cedar_validation)),
        "svc2004_subjects": sorted(set(cfg.svc_train) | set(cfg.svc_validation)),
        "sigcomp2011_dutch_subjects": sorted(set(cfg.dutch_train) | set(cfg.dutch_validation)),
        "metric": "mean of the validation EERs (skilled and random, each source), each epoch with its best "
                  "aggregate, as fit() scores epochs",
        "by_epoch": by_epoch,
        "best_epoch": best["epoch"],
        "best_mean": best["mean"],
        "best_spread": [float(min(best["folds"])), float(max(best["folds"]))],
        "last_epoch": epochs[-1],
        "last_mean": by_epoch[-1]["mean"],
    }
