"""The training-only forgery and writer heads: their loss against a direct computation, the label direction,
and a real training run with them (outputs, exact resume, refusals)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from biometrix.core.errors import InvalidInput
from biometrix.evaluation.datasets import SignatureRecord
from biometrix.training.auxiliary import AuxiliaryHeads, writer_index
from biometrix.training.train import build_model, fit
from tests.training.test_train_export import DATA, assert_same_weights, tiny_config, weights

needs_data = pytest.mark.skipif(
    not ((DATA / "cedar" / "cedar_signatures_half.zip").is_file()
         and (DATA / "svc2004_task2" / "svc2004_task2.zip").is_file()),
    reason=f"CEDAR and SVC2004 data not found under {DATA}",
)


def rec(subject: int, genuine: bool, source: str = "cedar") -> SignatureRecord:
    return SignatureRecord(source, subject, 1, genuine)


BATCH = [rec(1, True), rec(1, True), rec(1, False), rec(2, True), rec(2, False), rec(3, True, "svc2004")]


def test_writer_index_counts_signers_with_genuine_samples_only() -> None:
    records = BATCH + [rec(9, False), rec(1001, True)]  # 9: forgeries only; 1001: a mirrored signer
    assert writer_index(records) == {"cedar:1": 0, "cedar:1001": 1, "cedar:2": 2, "svc2004:3": 3}


def test_loss_equals_a_direct_computation() -> None:
    """forgery_weight * mean BCE over every sample + writer_weight * mean CE over the genuine ones, computed here
    in float64 numpy from the heads' parameters (log-sum-exp written out)."""
    torch.manual_seed(0)
    heads = AuxiliaryHeads(8, writers=writer_index(BATCH), forgery_weight=0.7, writer_weight=0.3, writer_scale=5.0)
    emb = torch.nn.functional.normalize(torch.randn(len(BATCH), 8), dim=1)
    got = heads.loss(emb, BATCH).item()

    e = emb.numpy().astype(np.float64)
    w, b = heads.forgery.weight.detach().numpy().astype(np.float64)[0], float(heads.forgery.bias.item())
    z = e @ w + b
    y = np.array([0.0 if r.genuine else 1.0 for r in BATCH])
    p = 1 / (1 + np.exp(-z))
    bce = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    c = heads.classes.detach().numpy().astype(np.float64)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    ce = []
    for n, r in enumerate(BATCH):
        if r.genuine:
            logits = 5.0 * (e[n] / np.linalg.norm(e[n])) @ c.T
            ce.append(math.log(np.exp(logits).sum()) - logits[heads.writers[r.key]])
    assert got == pytest.approx(0.7 * bce + 0.3 * np.mean(ce), abs=1e-5)


def test_writer_loss_ignores_forgeries_and_a_head_off_adds_nothing() -> None:
    torch.manual_seed(1)
    heads = AuxiliaryHeads(8, writers=writer_index(BATCH), writer_weight=1.0)
    emb = torch.randn(len(BATCH), 8)
    moved = emb.clone()
    forged = [n for n, r in enumerate(BATCH) if not r.genuine]
    moved[forged] = torch.randn(len(forged), 8) * 10
    assert heads.loss(emb, BATCH).item() == pytest.approx(heads.loss(moved, BATCH).item(), abs=1e-6)
    assert heads.forgery is None and AuxiliaryHeads(8, writers={}).loss(emb, BATCH).item() == 0.0
    with pytest.raises(KeyError, match="cedar:7"):
        heads.loss(emb[:1], [rec(7, True)])
    with pytest.raises(ValueError, match="2 embeddings but 6 samples"):
        heads.loss(emb[:2], BATCH)


def test_forgery_label_direction() -> None:
    """Minimising the loss raises the forgery logit of forgeries above that of genuine samples (a flipped label
    would do the reverse): fixed embeddings where forgeries differ in one coordinate."""
    g = torch.Generator().manual_seed(2)
    records = [rec(s, genuine=(i % 3 != 0)) for s in range(1, 7) for i in range(6)]
    emb = torch.randn(len(records), 8, generator=g)
    emb[:, 0] += torch.tensor([0.0 if r.genuine else 1.5 for r in records])
    emb = torch.nn.functional.normalize(emb, dim=1)
    torch.manual_seed(0)
    heads = AuxiliaryHeads(8, writers=writer_index(records), forgery_weight=1.0)
    opt = torch.optim.Adam(heads.parameters(), lr=0.05)
    for _ in range(100):
        opt.zero_grad()
        heads.loss(emb, records).backward()
        opt.step()
    with torch.no_grad():
        z = heads.forgery_logits(emb)
    forged = torch.tensor([not r.genuine for r in records])
    assert z[forged].min() > z[~forged].mean() and z[forged].mean() > 0 > z[~forged].mean()


def test_bad_head_settings_are_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        AuxiliaryHeads(8, writers={"a": 0}, forgery_weight=-1.0)
    with pytest.raises(ValueError, match="at least one training writer"):
        AuxiliaryHeads(8, writers={}, writer_weight=1.0)
    with pytest.raises(RuntimeError, match="no forgery head"):
        AuxiliaryHeads(8, writers={}).forgery_logits(torch.zeros(1, 8))


TRIPLET = dict(loss="triplet", loss_options={"margin": 0.3, "mining": "batch_hard"})


@needs_data
def test_training_with_heads_keeps_them_out_of_the_encoder_and_resumes_exactly(tmp_path: Path) -> None:
    """A real run with both heads: best.pt holds the encoder alone (the exported model), last.pt the heads too;
    the heads change what the encoder learns (against the same run without them); an interrupted run resumes to
    the straight run's weights, heads included."""
    torch.set_num_threads(1)
    heads = dict(forgery_weight=0.5, writer_weight=0.5, **TRIPLET)
    fit(tiny_config(tmp_path / "plain", **TRIPLET), progress=False)
    fit(tiny_config(tmp_path / "heads", **heads), progress=False)
    best = weights(tmp_path / "heads" / "best.pt")
    assert best.keys() == build_model(tiny_config(tmp_path)).state_dict().keys()
    last = torch.load(tmp_path / "heads" / "last.pt", weights_only=False)
    writers = 6 * 2  # 6 CEDAR signers and 6 SVC2004 users train
    assert last["aux"]["classes"].shape == (writers, 16) and last["aux"]["forgery.weight"].shape == (1, 16)
    plain = weights(tmp_path / "plain" / "last.pt")
    assert any(not torch.equal(plain[k], last["model"][k]) for k in plain if plain[k].is_floating_point())

    fit(tiny_config(tmp_path / "resumed", max_minutes=1e-9, **heads), progress=False)
    fit(tiny_config(tmp_path / "resumed", **heads), progress=False)
    again = torch.load(tmp_path / "resumed" / "last.pt", weights_only=False)
    assert_same_weights(again["model"], last["model"])
    assert_same_weights(again["aux"], last["aux"])
    history = json.loads((tmp_path / "resumed" / "history.json").read_text())
    assert history == json.loads((tmp_path / "heads" / "history.json").read_text())

    saved = (tmp_path / "plain" / "config.json").read_text()
    with pytest.raises(InvalidInput, match="without auxiliary heads"):
        fit(tiny_config(tmp_path / "plain", epochs=3, **heads), progress=False)
    with pytest.raises(InvalidInput, match="with auxiliary heads"):
        fit(tiny_config(tmp_path / "heads", epochs=3, **TRIPLET), progress=False)
    assert (tmp_path / "plain" / "config.json").read_text() == saved  # the refused resume changed nothing


@needs_data
@pytest.mark.parametrize(("overrides", "message"), [
    (dict(forgery_weight=-0.1), "loss weights"),
    (dict(forgery_weight=0.5, forgeries_per_signer=0), "forgeries_per_signer > 0"),
    (dict(writer_weight=0.5, writer_scale=0.0), "logit scale"),
    (dict(writer_weight=0.5, backbone="pair_cnn", loss="pair_bce"), "writer_weight"),
])
def test_bad_head_configs_are_refused(tmp_path: Path, overrides: dict[str, object], message: str) -> None:
    """Refused before anything is written."""
    with pytest.raises(InvalidInput, match=message):
        fit(tiny_config(tmp_path / "run", **overrides), progress=False)
    assert not (tmp_path / "run").exists()
