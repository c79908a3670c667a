"""The kept training configs: a shipped model's configs rebuild the recipe its card records; the rest are examples."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from biometrix.training.face_train import FaceTrainConfig
from biometrix.training.fewshot_train import FewShotConfig
from biometrix.training.maml import MamlConfig
from biometrix.training.train import TrainConfig

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "biometrix" / "training" / "configs"
MODELS = ROOT / "assets" / "models"

# model id -> the configs of its members, in the order of the card's training.config list
SHIPPED = {
    "signature-v6-int8": ["signature-v6-w16.json", "signature-v6-w24.json"],
    "signature-v6": ["signature-v6-w16.json", "signature-v6-w24.json"],
    "signature-v5": ["signature-v5-w16.json", "signature-v5-w24.json"],
    "face-siamese-v1": ["face-siamese-v1.json"],
}


def _load(path: Path) -> dict[str, object]:
    """A config as the training code reads it, every default filled in (the form a card records)."""
    raw = json.loads(path.read_text())
    task = raw.get("task")
    cfg = (FaceTrainConfig.from_dict(raw) if task == "face" else FewShotConfig.from_dict(raw)
           if task == "omniglot-fewshot" else MamlConfig.from_dict(raw) if task == "omniglot-maml"
           else TrainConfig.from_file(path))
    return dataclasses.asdict(cfg)


@pytest.mark.parametrize("model_id", sorted(SHIPPED))
def test_a_shipped_models_configs_give_every_setting_its_card_records(model_id: str) -> None:
    card = json.loads((MODELS / f"{model_id}.json").read_text())["training"]
    recorded = card["config"] if isinstance(card["config"], list) else [card["config"]]
    assert len(recorded) == len(SHIPPED[model_id])
    for member, name in zip(recorded, SHIPPED[model_id], strict=True):
        cfg = _load(CONFIGS / name)
        differ = {key: (value, cfg.get(key)) for key, value in member.items()
                  if key != "data_root" and cfg.get(key) != value}
        assert not differ, f"{name} differs from {model_id}'s card: {differ}"
    if model_id.startswith("signature"):  # the splits: the card lists them apart from the config
        first = _load(CONFIGS / SHIPPED[model_id][0])
        assert first["cedar_train"] == card["train_subjects"]
        assert first["cedar_validation"] == card["validation_subjects"]
        assert first["svc_train"] == card["svc2004_train_users"]
        assert first["svc_validation"] == card["svc2004_validation_users"]


def test_every_config_is_named_for_a_shipped_model_or_as_an_example() -> None:
    shipped = {name for names in SHIPPED.values() for name in names}
    names = sorted(p.name for p in CONFIGS.glob("*.json"))
    assert names, f"no configs in {CONFIGS}"
    strays = [n for n in names if n not in shipped and not n.startswith("example_")]
    assert not strays, f"configs neither rebuilding a shipped model nor named example_*: {strays}"
    for name in names:  # and each one loads as its task's config (an unknown key is refused)
        assert _load(CONFIGS / name)["out_dir"]
