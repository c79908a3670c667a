"""Choosing the training loss by name from the config, and the batch labels a batch loss receives."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from biometrix.core.errors import InvalidInput
from biometrix.training.data import SignatureSample
from biometrix.training.train import batch_labels, fit

from .test_train_export import tiny_config


def _sample(subject: int, index: int, genuine: bool) -> SignatureSample:
    return SignatureSample("cedar", subject, index, genuine, ink=np.ones((4, 4), bool))


def test_batch_labels_share_genuine_and_isolate_forgeries() -> None:
    samples = [_sample(1, 1, True), _sample(1, 2, True), _sample(1, 1, False), _sample(1, 2, False),
               _sample(2, 1, True), _sample(2, 2, True)]
    labels = batch_labels(samples, [0, 1, 2, 3, 4, 5]).tolist()
    assert labels[0] == labels[1] and labels[4] == labels[5] and labels[0] != labels[4]
    # each forgery is a class of its own: never equal to a genuine label or to another forgery
    assert len({labels[2], labels[3], labels[0], labels[4]}) == 4
    assert labels[2] < 0 and labels[3] < 0


@pytest.mark.parametrize(("loss", "options"), [("triplet", {"margin": 0.2, "mining": "batch_hard"}),
                                               ("quadruplet", {}), ("npair", {})])
def test_fit_with_a_batch_loss_by_name(tmp_path: Path, loss: str, options: dict) -> None:
    torch.set_num_threads(1)
    fit(tiny_config(tmp_path, epochs=1, batches_per_epoch=2, loss=loss, loss_options=options), progress=False)
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["loss"] == loss and cfg["loss_options"] == options
    history = json.loads((tmp_path / "history.json").read_text())
    assert len(history) == 1 and np.isfinite(history[0]["loss"]) and history[0]["loss"] > 0


def test_unknown_loss_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="unknown loss 'arcface'"):
        fit(tiny_config(tmp_path, epochs=1, batches_per_epoch=1, loss="arcface"), progress=False)
