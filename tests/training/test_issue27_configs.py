"""The cross-validated arms of issue 27 part 1 (docs/signature-experiments.md, "Issue 27: the plan"): each config
loads, differs from the control arm by what the plan names and nothing else, never touches a held-out writer; the
three folds validate every development writer once; one training step of a Dutch arm runs on the CPU."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from biometrix.core.errors import InvalidInput
from biometrix.training.cli_entry import seeded
from biometrix.training.crossval import fold_configs
from biometrix.training.train import TrainConfig, fit

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "biometrix" / "training" / "configs" / "issue27"
SHIPPED = ROOT / "biometrix" / "training" / "configs" / "signature-v6-w16.json"
DATA = ROOT.parent / "shared" / "data"
DUTCH_ZIP = DATA / "sigcomp2011_dutch" / "sigcomp2011_dutch_half.zip"
#: the Dutch development writers (001-048 without the five the set lacks), written out rather than imported
DUTCH_DEVELOPMENT = [w for w in range(1, 49) if w not in (5, 7, 8, 10, 11)]
DUTCH = ["cedar", "svc2004", "sigcomp2011_dutch"]
#: arm -> what it changes against the control arm (the shipped signature-v6 recipe), besides width and out_dir
ARMS = {
    "control": {},
    "dutch": {"train_sources": DUTCH},
    "dutch_128x256": {"train_sources": DUTCH, "input_height": 128, "input_width": 256},
    "dutch_wd1": {"train_sources": DUTCH, "weight_decay": 0.1},
}


def _raw(name: str) -> dict[str, object]:
    return json.loads((CONFIGS / name).read_text(encoding="utf-8"))


def test_the_configs_are_the_plans_arms_and_nothing_else() -> None:
    assert sorted(p.name for p in CONFIGS.glob("*.json")) == sorted(
        f"cv_{arm}_w{w}.json" for arm in ARMS for w in (16, 24))
    shipped = json.loads(SHIPPED.read_text(encoding="utf-8"))
    for arm, change in ARMS.items():
        for width in (16, 24):
            raw = _raw(f"cv_{arm}_w{width}.json")
            cfg = dataclasses.asdict(TrainConfig.from_file(CONFIGS / f"cv_{arm}_w{width}.json"))
            want = {**shipped, "width": width, "train_sources": ["cedar", "svc2004"], **change,
                    "dutch_train": DUTCH_DEVELOPMENT, "dutch_validation": []}
            differ = {k: (raw.get(k), v) for k, v in want.items() if k != "out_dir" and raw.get(k) != v}
            assert not differ and set(raw) == set(want), (arm, width, differ, set(raw) ^ set(want))
            assert raw["out_dir"] == f"runs/issue27_cv_{arm}_w{width}"
            assert cfg["cedar_train"] == list(range(1, 46)) and cfg["svc_train"] == list(range(1, 31))
            assert not set(cfg["cedar_train"] + cfg["cedar_validation"]) & set(range(46, 56))
            assert not set(cfg["svc_train"] + cfg["svc_validation"]) & set(range(31, 41))
            assert not set(cfg["dutch_train"] + cfg["dutch_validation"]) & set(range(49, 70))


@pytest.mark.parametrize("name", ["cv_control_w16.json", "cv_dutch_w16.json"])
def test_three_folds_validate_every_development_writer_once(name: str) -> None:
    folds = fold_configs(TrainConfig.from_file(CONFIGS / name), 3)
    for source, train, val, every in (("cedar", "cedar_train", "cedar_validation", range(1, 46)),
                                      ("svc2004", "svc_train", "svc_validation", range(1, 31)),
                                      ("dutch", "dutch_train", "dutch_validation", DUTCH_DEVELOPMENT)):
        validated = [w for f in folds for w in getattr(f, val)]
        assert sorted(validated) == sorted(every), source
        for f in folds:
            assert not set(getattr(f, train)) & set(getattr(f, val)), source
            assert sorted(getattr(f, train) + getattr(f, val)) == sorted(every), source


def test_another_seed_of_an_arm_trains_in_its_own_folder() -> None:
    cfg = TrainConfig.from_file(CONFIGS / "cv_dutch_w16.json")
    one = seeded(cfg, 1)
    assert (one.seed, one.out_dir) == (1, "runs/issue27_cv_dutch_w16_s1")
    assert dataclasses.replace(one, seed=cfg.seed, out_dir=cfg.out_dir) == cfg  # nothing else changes
    assert [f.out_dir for f in fold_configs(one, 3)][0] == "runs/issue27_cv_dutch_w16_s1/fold1of3"
    with pytest.raises(InvalidInput, match="--seed must be a whole number >= 0"):
        seeded(cfg, -1)


@pytest.mark.skipif(not DUTCH_ZIP.is_file(), reason=f"SigComp2011 Dutch data not found at {DUTCH_ZIP}")
@pytest.mark.parametrize("name", ["cv_dutch_w16.json", "cv_dutch_128x256_w16.json"])
def test_one_step_of_a_dutch_arm_runs_on_the_cpu(name: str, tmp_path: Path) -> None:
    """The arm's recipe (its network, input size and loss) for one batch on a few writers of each set, Dutch ones
    in the training batch and in the validation that scores the epoch."""
    torch.set_num_threads(1)
    fold = fold_configs(TrainConfig.from_file(CONFIGS / name), 3)[0]
    dry = dataclasses.replace(fold, out_dir=str(tmp_path / "run"), data_root=str(DATA), epochs=1,
                              batches_per_epoch=1, signers_per_batch=4, mirror_identities=1,
                              cedar_train=fold.cedar_train[:2], svc_train=fold.svc_train[:2],
                              dutch_train=fold.dutch_train[:2], cedar_validation=fold.cedar_validation[:2],
                              svc_validation=fold.svc_validation[:2], dutch_validation=fold.dutch_validation[:2])
    best = fit(dry, progress=False)
    (row,) = json.loads((tmp_path / "run" / "history.json").read_text())
    assert best.is_file() and row["epoch"] == 1
    assert set(row["val"]) == {"cedar", "svc2004", "sigcomp2011_dutch"}
    assert torch.load(best, weights_only=False)["config"]["input_height"] == fold.input_height
