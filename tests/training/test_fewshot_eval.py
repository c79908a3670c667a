"""Scoring a classifier on Lake's runs agrees with the embedding scorer; the relation head trains and scores itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from biometrix.core.errors import InvalidInput
from biometrix.evaluation.omniglot import load_runs, omniglot_preprocess, score_runs
from biometrix.training.fewshot import MatchingHead, PrototypicalHead, RelationHead, prototypes
from biometrix.training.fewshot_eval import head_classifier, runs_accuracy, runs_nway_accuracy
from biometrix.training.fewshot_train import ConvFour, FewShotConfig, build_head, fit_fewshot

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "omniglot"
pytestmark = pytest.mark.skipif(not (DATA / "all_runs.zip").is_file(), reason=f"Omniglot not found under {DATA}")
torch.set_num_threads(1)


def test_head_classifier_on_lakes_runs_equals_the_embedding_scorer() -> None:
    """At one shot the prototypical and matching heads decide as cosine nearest neighbour does: the classifier path
    must give evaluation.omniglot.score_runs's figure exactly."""
    torch.manual_seed(0)
    model = ConvFour(width=16, embedding_dim=32).eval()
    runs = load_runs(DATA)

    def embed(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(omniglot_preprocess(batch, size=28)[:, None])).numpy()

    want = score_runs(embed, runs).mean_accuracy
    for head in (PrototypicalHead(scale=10.0), MatchingHead(scale=10.0)):
        assert runs_accuracy(head_classifier(model, head), runs, size=28) == pytest.approx(want, abs=1e-12)


def test_five_way_episodes_of_the_runs_are_one_shot_and_seeded() -> None:
    runs = load_runs(DATA)[:3]
    seen: list[tuple[int, int]] = []

    def classify(support: np.ndarray, labels: np.ndarray, query: np.ndarray) -> np.ndarray:
        seen.append((len(support), len(query)))
        assert labels.tolist() == [0, 1, 2, 3, 4]
        return labels.copy()  # the query of class c is the c-th: always right

    assert runs_nway_accuracy(classify, runs, size=28, episodes_per_run=4) == 1.0
    assert seen == [(5, 5)] * 12
    with pytest.raises(InvalidInput, match="at least one run"):
        runs_nway_accuracy(classify, [], size=28)


def test_relation_head_trains_and_scores_lakes_runs_with_its_module(tmp_path: Path) -> None:
    """The relation run keeps its module in best.pt and scores Lake's runs by the module's scores, not by cosine:
    its figure equals a by-hand loop of RelationModule over each run's prototypes."""
    cfg = FewShotConfig(out_dir=str(tmp_path), data_root=str(DATA), width=16, embedding_dim=32, n_way=20, n_query=2,
                        episodes_per_epoch=20, epochs=1, threads=1, validation_classes=20, loss="relation")
    result = fit_fewshot(cfg, progress=False)
    best = torch.load(tmp_path / "best.pt", weights_only=False)
    assert any(k.startswith("relation.") for k in best["head"])  # the relation module's weights are kept
    model, head = ConvFour(width=16, embedding_dim=32), RelationHead(32)
    model.load_state_dict(best["model"])
    head.load_state_dict(best["head"])
    model.eval()
    right = []
    for run in load_runs(DATA):
        with torch.no_grad():
            train = model(torch.from_numpy(omniglot_preprocess(run.training, size=28)[:, None]))
            test = model(torch.from_numpy(omniglot_preprocess(run.test, size=28)[:, None]))
            scores = torch.stack([torch.stack([head.relation.net(torch.cat([t, p])).squeeze() for p in train])
                                  for t in test])
        right.append(float(np.mean(scores.argmax(1).numpy() == run.answers)))
    assert result["lake_20way_1shot_accuracy"] == pytest.approx(float(np.mean(right)), abs=1e-12)
    with pytest.raises(InvalidInput, match="relation head"):
        fit_fewshot(FewShotConfig(out_dir=str(tmp_path / "b"), loss="relation", tta_choices=[0, 8]), progress=False)


def test_relation_cross_entropy_short_real_run_learns(tmp_path: Path) -> None:
    """Issue 33's collapse: trained with MSE the relation head settled with every score tied (chance accuracy).
    With the cross-entropy over its relation scores, 200 5-way episodes must give relation logits that differ
    between a query's classes and 5-way 1-shot accuracy on Lake's evaluation characters (untouched by training)
    well above chance (20 %); the same run with "objective": "mse" gives 20.0 %."""
    cfg = FewShotConfig(out_dir=str(tmp_path), data_root=str(DATA), width=16, embedding_dim=32, n_way=5, n_query=5,
                        episodes_per_epoch=50, epochs=4, lr=3e-3, threads=1, validation_classes=20,
                        validation_episodes=10, loss="relation", loss_options={"objective": "cross_entropy"})
    fit_fewshot(cfg, progress=False)
    model, head = ConvFour(width=16, embedding_dim=32), build_head(cfg)
    best = torch.load(tmp_path / "best.pt", weights_only=False)
    model.load_state_dict(best["model"])
    head.load_state_dict(best["head"])
    model.eval()
    runs = load_runs(DATA)[:4]
    with torch.no_grad():
        x = torch.from_numpy(omniglot_preprocess(np.concatenate([runs[0].training, runs[0].test]), size=28)[:, None]
                             .astype(np.float32))
        emb = model(x)
        logits = head.relation.logits(emb[20:], prototypes(emb[:20], torch.arange(20)))
    spread = (logits.max(dim=1).values - logits.min(dim=1).values).numpy()  # the scores' spread before the sigmoid
    acc = runs_nway_accuracy(head_classifier(model, head), runs, size=28, episodes_per_run=10)
    assert np.median(spread) > 0.5, spread  # with "mse" here: 0.03 and 20.0 %
    assert acc >= 0.20 + 0.15, acc


def test_relation_loss_options_are_checked(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="relation head takes loss_options objective only, got margin"):
        build_head(FewShotConfig(out_dir=str(tmp_path), loss="relation", loss_options={"margin": 1.0}))
    with pytest.raises(InvalidInput, match="relation objective must be one of"):
        build_head(FewShotConfig(out_dir=str(tmp_path), loss="relation", loss_options={"objective": "ce"}))
