"""Scoring any few-shot classifier (an episodic head or MAML's adaptation) on episodes and on Lake's one-shot runs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from biometrix.core.errors import InvalidInput
from biometrix.evaluation.omniglot import OneShotRun, omniglot_preprocess
from biometrix.training.fewshot import FewShotHead
from biometrix.training.samplers import EpisodeSampler

#: classify(support (S, 1, H, W) float ink, support labels (S,) in 0..N-1, query (Q, 1, H, W)) -> predicted (Q,)
Classify = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def head_classifier(model: nn.Module, head: FewShotHead) -> Classify:
    """An encoder and an episodic head as a classifier: embed support and query (eval mode), the head's argmax."""

    def classify(support: np.ndarray, labels: np.ndarray, query: np.ndarray) -> np.ndarray:
        model.eval()
        head.eval()
        with torch.no_grad():
            emb = model(torch.from_numpy(np.concatenate([support, query])))
            pred = head.predict(emb[: len(support)], torch.from_numpy(labels), emb[len(support):])
        return pred.numpy()

    return classify


def episodes_accuracy(classify: Classify, x: np.ndarray, y: np.ndarray, *, n_way: int, episodes: int,
                      seed: int) -> float:
    """Mean accuracy of ``episodes`` N-way 1-shot episodes (one query per class) drawn from (x, y) by the
    toolkit's ``EpisodeSampler``."""
    sampler = EpisodeSampler(y, n_way=n_way, k_shot=1, n_query=1, episodes=episodes, seed=seed)
    correct = 0
    for ep in sampler:
        pred = classify(x[ep.support], ep.support_labels, x[ep.query])
        correct += int((np.asarray(pred) == ep.query_labels).sum())
    return correct / (episodes * n_way)


def head_episode_accuracy(model: nn.Module, head: FewShotHead, x: np.ndarray, y: np.ndarray, *, n_way: int,
                          episodes: int, seed: int) -> float:
    """``episodes_accuracy`` of an encoder scored by its head (for heads whose decision is not cosine NN)."""
    return episodes_accuracy(head_classifier(model, head), x, y, n_way=n_way, episodes=episodes, seed=seed)


def _ink(batch: np.ndarray, size: int) -> np.ndarray:
    return omniglot_preprocess(batch, size=size)[:, None].astype(np.float32)


def runs_accuracy(classify: Classify, runs: Sequence[OneShotRun], *, size: int) -> float:
    """Lake's 20-way 1-shot score: per run, the 20 training images are the support (labels 0..19 in file
    order), the 20 test images the queries; the mean over runs of the share answered right."""
    if not runs:
        raise InvalidInput("runs_accuracy needs at least one run")
    per_run = []
    for run in runs:
        labels = np.arange(len(run.training), dtype=np.int64)
        pred = np.asarray(classify(_ink(run.training, size), labels, _ink(run.test, size)))
        per_run.append(float(np.mean(pred == run.answers)))
    return float(np.mean(per_run))


def runs_nway_accuracy(classify: Classify, runs: Sequence[OneShotRun], *, size: int, n_way: int = 5,
                       episodes_per_run: int = 25, seed: int = 0) -> float:
    """N-way 1-shot on Lake's evaluation characters: from each run's 40 images (20 characters x 2 drawers, its
    training and test image), ``episodes_per_run`` episodes of ``EpisodeSampler`` (seed + run index): one image of
    each of N characters is the support, the other the query. The mean over every episode."""
    if not runs:
        raise InvalidInput("runs_nway_accuracy needs at least one run")
    accs = []
    for k, run in enumerate(runs):
        x = np.concatenate([_ink(run.training, size), _ink(run.test, size)])
        y = np.concatenate([np.arange(len(run.training)), run.answers])
        accs.append(episodes_accuracy(classify, x, y, n_way=n_way, episodes=episodes_per_run, seed=seed + k))
    return float(np.mean(accs))
