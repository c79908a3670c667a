"""Signer-level cross-validation: the folds partition the training side, never touch held-out subjects, and the
summary averages the folds epoch by epoch (checked against a hand computation)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biometrix.core.errors import InvalidInput
from biometrix.evaluation.datasets import CEDAR_HELDOUT, SVC_HELDOUT
from biometrix.training.crossval import cv_summary, fold_configs
from biometrix.training.train import TrainConfig


@pytest.mark.parametrize("k", [2, 3, 5])
def test_folds_partition_the_training_side(k: int, tmp_path: Path) -> None:
    cfg = TrainConfig(out_dir=str(tmp_path / "cv"))
    folds = fold_configs(cfg, k)
    assert len(folds) == k
    for pool, train, val in ((set(range(1, 46)), "cedar_train", "cedar_validation"),
                             (set(range(1, 31)), "svc_train", "svc_validation")):
        vals = [set(getattr(f, val)) for f in folds]
        assert set().union(*vals) == pool and sum(len(v) for v in vals) == len(pool)  # disjoint, covering
        for f, v in zip(folds, vals, strict=True):
            assert set(getattr(f, train)) == pool - v and v
    for f in folds:
        assert not set(f.cedar_train + f.cedar_validation) & set(CEDAR_HELDOUT)
        assert not set(f.svc_train + f.svc_validation) & set(SVC_HELDOUT)
    assert [Path(f.out_dir).name for f in folds] == [f"fold{i}of{k}" for i in range(1, k + 1)]
    assert all(f.epochs == cfg.epochs and f.loss == cfg.loss for f in folds)


def test_fold_counts_are_checked(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="at least 2 folds"):
        fold_configs(TrainConfig(), 1)
    with pytest.raises(InvalidInput, match="at least 4 subjects"):
        fold_configs(TrainConfig(svc_train=[1, 2], svc_validation=[3]), 4)


def test_train_fraction_keeps_a_share_of_each_folds_training_subjects(tmp_path: Path) -> None:
    full = fold_configs(TrainConfig(out_dir=str(tmp_path / "a")), 3)
    part = fold_configs(TrainConfig(out_dir=str(tmp_path / "b"), train_fraction=2 / 3), 3)
    other_seed = fold_configs(TrainConfig(out_dir=str(tmp_path / "c"), train_fraction=2 / 3, seed=1), 3)
    for f, p, s in zip(full, part, other_seed, strict=True):
        # 30 CEDAR and 20 SVC2004 training subjects per fold: 2/3 of them is 20 and 13 (round(13.33))
        assert (len(p.cedar_train), len(p.svc_train)) == (20, 13)
        assert set(p.cedar_train) < set(f.cedar_train) and set(p.svc_train) < set(f.svc_train)
        assert p.cedar_train == sorted(p.cedar_train)
        # validation is untouched, and the subset depends on the fold only, not on the seed
        assert (p.cedar_validation, p.svc_validation) == (f.cedar_validation, f.svc_validation)
        assert (s.cedar_train, s.svc_train) == (p.cedar_train, p.svc_train)
    for bad in (0.0, 1.5):
        with pytest.raises(InvalidInput, match="train_fraction"):
            fold_configs(TrainConfig(train_fraction=bad), 3)


def _write_history(cfg: TrainConfig, k: int, metrics: list[list[float]]) -> None:
    for fold, values in zip(fold_configs(cfg, k), metrics, strict=True):
        Path(fold.out_dir).mkdir(parents=True)
        rows = [{"epoch": e, "val_metric": v} for e, v in enumerate(values, start=1)]
        (Path(fold.out_dir) / "history.json").write_text(json.dumps(rows))


def test_summary_averages_each_epoch_across_folds(tmp_path: Path) -> None:
    cfg = TrainConfig(out_dir=str(tmp_path / "cv"))
    # fold 3 has finished one epoch fewer: only the epochs every fold reached count
    _write_history(cfg, 3, [[0.30, 0.10, 0.20, 0.15], [0.20, 0.14, 0.08, 0.11], [0.25, 0.12, 0.11]])
    s = cv_summary(cfg, 3)
    assert [row["epoch"] for row in s["by_epoch"]] == [1, 2, 3]
    assert s["by_epoch"][1]["folds"] == [0.10, 0.14, 0.12]
    assert s["by_epoch"][1]["mean"] == pytest.approx(0.12)
    assert s["by_epoch"][2]["mean"] == pytest.approx(0.13)
    # epoch 2 (mean 0.12) beats epoch 3 (0.13), although folds 2 and 3 are at their best at epoch 3
    assert (s["best_epoch"], s["best_spread"]) == (2, [0.10, 0.14])
    assert s["best_mean"] == pytest.approx(0.12) and s["last_epoch"] == 3
    assert len(s["cedar_subjects"]) == 45 and len(s["svc2004_subjects"]) == 30


def test_summary_needs_every_fold(tmp_path: Path) -> None:
    cfg = TrainConfig(out_dir=str(tmp_path / "cv"))
    _write_history(cfg, 2, [[0.2], [0.3]])
    (Path(fold_configs(cfg, 2)[1].out_dir) / "history.json").unlink()
    with pytest.raises(InvalidInput, match="fold2of2"):
        cv_summary(cfg, 2)
