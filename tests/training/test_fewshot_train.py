"""Episodic training on Omniglot: a tiny real run learns, resumes, and is scored on Lake's runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from biometrix.cli import main
from biometrix.evaluation.omniglot import load_runs, omniglot_preprocess, score_runs
from biometrix.training.fewshot_train import ConvFour, FewShotConfig, fit_fewshot

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "omniglot"
pytestmark = pytest.mark.skipif(not (DATA / "all_runs.zip").is_file(), reason=f"Omniglot not found under {DATA}")


def tiny(out: Path, **kw: object) -> FewShotConfig:
    base = dict(out_dir=str(out), size=28, width=16, embedding_dim=32, n_way=20, n_query=2, episodes_per_epoch=40,
                epochs=2, threads=1, validation_classes=20)
    base.update(kw)
    return FewShotConfig(**base)  # type: ignore[arg-type]


def untrained_accuracy() -> float:
    """Lake's-runs accuracy of the tiny encoder with its seeded random weights (chance is 5 %)."""
    torch.manual_seed(0)
    untrained = ConvFour(width=16, embedding_dim=32).eval()

    def embed(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return untrained(torch.from_numpy(omniglot_preprocess(batch, size=28)[:, None])).numpy()

    return score_runs(embed, load_runs(DATA)).mean_accuracy


def test_tiny_prototypical_run_learns_and_scores_lakes_runs(tmp_path: Path) -> None:
    before = untrained_accuracy()
    result = fit_fewshot(tiny(tmp_path, augment=0.5, tta_choices=[0, 2], snapshot_choices=[1, 2]), progress=False)
    assert result["n_runs"] == 20
    # test-time augmentation and the snapshot ensemble are the validation's choice among the offered ones
    by_choice = result["validation_20way_1shot_by_choice"]
    assert set(by_choice) == {f"tta={t},snapshots={k}" for t in (0, 2) for k in (1, 2)}
    assert by_choice[f"tta={result['tta']},snapshots={result['snapshots']}"] == max(by_choice.values())
    assert set(result["validation_20way_1shot_by_tta"]) == {"0", "2"}
    # the snapshots are the best epochs on validation, best first
    history = {h["epoch"]: h["val_20way_1shot"] for h in json.loads((tmp_path / "history.json").read_text())}
    ranked = sorted(history, key=lambda e: (-history[e], e))
    assert result["snapshot_epochs"] == ranked[: result["snapshots"]] and result["best_epoch"] == ranked[0]
    assert sorted(p.name for p in (tmp_path / "epochs").iterdir()) == ["epoch_001.pt", "epoch_002.pt"]
    # a short episodic training must beat the same encoder untrained by a clear margin (chance is 5 %)
    assert result["lake_20way_1shot_accuracy"] >= before + 0.05, (before, result)
    history = json.loads((tmp_path / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]
    assert {"config.json", "best.pt", "last.pt", "result.json"} <= {p.name for p in tmp_path.iterdir()}


def test_resume_continues_from_last_epoch(tmp_path: Path) -> None:
    fit_fewshot(tiny(tmp_path, epochs=1), progress=False)
    fit_fewshot(tiny(tmp_path, epochs=1), progress=False)  # nothing left to do: resumes at the end
    assert len(json.loads((tmp_path / "history.json").read_text())) == 1


def test_unknown_key_in_fewshot_config_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"task": "omniglot-fewshot", "n_wayz": 5}))
    assert main(["train", "--config", str(cfg)]) == 2
    assert "unknown config keys: n_wayz" in capsys.readouterr().err


def test_a_batch_metric_loss_trains_on_pk_batches(tmp_path: Path) -> None:
    """Any registered loss trains the same encoder on PK batches of the episode's size, and it learns."""
    before = untrained_accuracy()
    result = fit_fewshot(tiny(tmp_path, loss="triplet", loss_options={"margin": 0.3, "mining": "batch_hard"}),
                         progress=False)
    assert result["lake_20way_1shot_accuracy"] >= before + 0.05, (before, result)
    assert json.loads((tmp_path / "config.json").read_text())["loss"] == "triplet"
