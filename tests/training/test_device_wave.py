"""bench/device/issue27_wave.py: the plan's fold runs in the documented priority, configs pointed at the staged data
with the recipe otherwise untouched, and one checkpoint per fold run chosen to come back."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.packaging.conftest import load_script

REPO = Path(__file__).resolve().parents[2]
WAVE = REPO / "bench" / "device" / "issue27_wave.py"


@pytest.fixture(scope="module")
def wave() -> ModuleType:
    return load_script(WAVE)


def test_plan_covers_the_48_fold_runs_by_priority(wave: ModuleType) -> None:
    jobs = wave.plan([1, 2, 3, 4], [0, 1], [1, 2, 3])
    assert len(jobs) == len({j.name for j in jobs}) == 48  # 4 arms x 2 widths x 2 seeds x 3 folds, each once
    assert {j.config for j in jobs[:12]} == {"cv_control_w16", "cv_dutch_w16"}  # wave 1 first
    assert {j.config for j in jobs[12:24]} == {"cv_control_w24", "cv_dutch_w24"}
    configs = {p.stem for p in (REPO / "biometrix" / "training" / "configs" / "issue27").glob("*.json")}
    assert {j.config for j in jobs} == configs
    assert {c for pair in wave.ARMS.values() for c in pair} == configs


def test_derived_config_changes_only_where_and_how_long(wave: ModuleType, tmp_path: Path) -> None:
    job = wave.Job("cv_dutch_w16", 1, 2)
    original = json.loads((wave.CONFIGS / "cv_dutch_w16.json").read_text())
    derived = json.loads(wave.derived_config(job, data=".device-data", threads=1, minutes=6.25, smoke=False,
                                             work=tmp_path).read_text())
    changed = {k for k in original if original[k] != derived[k]} | (set(derived) - set(original))
    assert changed <= {"data_root", "threads", "max_minutes"} and derived["data_root"] == ".device-data"
    assert derived["max_minutes"] == 6.25 and derived["epochs"] == original["epochs"]
    smoke = json.loads(wave.derived_config(job, data="d", threads=1, minutes=1, smoke=True, work=tmp_path).read_text())
    assert (smoke["epochs"], smoke["batches_per_epoch"]) == (1, 2) and smoke["out_dir"].startswith("runs/smoke_")
    assert wave.run_dir(job, smoke=False) == REPO / f"{original['out_dir']}_s1" / "fold2of3"


def test_checkpoint_to_keep(wave: ModuleType, tmp_path: Path) -> None:
    fold = tmp_path / "fold1of3"
    fold.mkdir()
    assert wave.checkpoint_to_keep(fold) is None  # never started
    (fold / "config.json").write_text(json.dumps({"epochs": 12}))
    (fold / "last.pt").write_bytes(b"x")
    (fold / "epoch_011.pt").write_bytes(b"x")
    assert wave.checkpoint_to_keep(fold) == fold / "last.pt"  # unfinished: what resumes it
    (fold / "epoch_012.pt").write_bytes(b"x")
    assert wave.checkpoint_to_keep(fold) == fold / "epoch_012.pt"  # finished: what cv_posthoc scores
