"""EnsembleEncoder (members' cosine similarities averaged) and float16 weight storage in ONNX."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from biometrix.training.encoder import CovariancePool, EnsembleEncoder, SignatureCNN
from biometrix.training.export import (
    check_parity,
    export_onnx,
    fuse_batch_norm,
    round_to_fp16,
    store_weights_fp16,
)

SHAPE = (1, 48, 96)


def trained_like(seed: int, *, embedding_bn: bool = False) -> SignatureCNN:
    """A small SignatureCNN with non-trivial batch-norm statistics, as a trained one has."""
    torch.manual_seed(seed)
    model = SignatureCNN(width=4, embedding_dim=16, embedding_bn=embedding_bn)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model((torch.rand(8, *SHAPE) > 0.85).float())
    return model.eval()


@pytest.fixture()
def batch() -> np.ndarray:
    return (np.random.default_rng(3).random((6, *SHAPE)) > 0.9).astype(np.float32)


def test_ensemble_cosine_is_the_mean_of_the_members(batch: np.ndarray) -> None:
    members = [trained_like(s) for s in (0, 1, 2)]
    ens = EnsembleEncoder(members).eval()
    x = torch.from_numpy(batch)
    with torch.no_grad():
        e = ens(x)
        parts = [m(x) for m in members]
    want = sum(p @ p.T for p in parts) / 3
    assert e.shape == (6, 48)
    assert torch.allclose(e.norm(dim=1), torch.ones(6), atol=1e-5)
    assert torch.allclose(e @ e.T, want, atol=1e-5)
    for k, p in enumerate(parts):  # member k's embedding, scaled, in its own slot
        assert torch.allclose(e[:, 16 * k:16 * (k + 1)] * 3**0.5, p, atol=1e-5)
    assert (parts[0] - parts[1]).abs().max() > 1e-2


def test_an_ensemble_needs_members() -> None:
    with pytest.raises(ValueError, match="at least one"):
        EnsembleEncoder([])


@pytest.mark.parametrize("embedding_bn", [False, True])
def test_fusing_batch_norm_keeps_the_function(batch: np.ndarray, embedding_bn: bool) -> None:
    model = trained_like(0, embedding_bn=embedding_bn)
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in model.modules()) == embedding_bn
    fused = fuse_batch_norm(copy.deepcopy(model))
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in fused.modules())
    with torch.no_grad():
        np.testing.assert_allclose(fused(torch.from_numpy(batch)).numpy(), model(torch.from_numpy(batch)).numpy(),
                                   atol=1e-5)


@pytest.mark.parametrize("embedding_bn", [False, True])
def test_fp16_weights_halve_the_file_and_keep_parity(batch: np.ndarray, tmp_path: Path, embedding_bn: bool) -> None:
    model = EnsembleEncoder([trained_like(0, embedding_bn=embedding_bn), trained_like(1)]).eval()
    full = export_onnx(model, tmp_path / "full.onnx", input_shape=SHAPE)
    rounded = round_to_fp16(copy.deepcopy(model))
    half = export_onnx(rounded, tmp_path / "half.onnx", input_shape=SHAPE)
    n = store_weights_fp16(half, min_elements=256)
    assert n > 0
    assert half.stat().st_size < 0.65 * full.stat().st_size
    proto = onnx.load(str(half))
    types = {t.name: t.data_type for t in proto.graph.initializer}
    assert sum(t == onnx.TensorProto.FLOAT16 for t in types.values()) == n
    # the graph still computes in float32: parity with the rounded torch model is exact up to float noise
    assert check_parity(rounded, half, batch) <= 1e-5
    sess = ort.InferenceSession(str(half), providers=["CPUExecutionProvider"])
    assert sess.get_outputs()[0].type == "tensor(float)"
    # and rounding changed the model only a little
    with torch.no_grad():
        before = model(torch.from_numpy(batch)).numpy()
    got = sess.run(None, {"input": batch})[0]
    assert 0 < np.abs(got - before).max() < 5e-3


def test_fp16_storage_refuses_weights_it_would_change(tmp_path: Path) -> None:
    path = export_onnx(trained_like(0), tmp_path / "m.onnx", input_shape=SHAPE)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="not float16-exact"):
        store_weights_fp16(path, min_elements=256)
    assert path.read_bytes() == before  # nothing written


def test_a_cards_architecture_is_rebuilt() -> None:
    from biometrix.training.train import build_card_model

    member = {"backbone": "signature_cnn", "width": 4, "embedding_dim": 16, "loss": "triplet", "out_dir": "runs/x"}
    single = build_card_model(member)
    assert isinstance(single, SignatureCNN) and single.embedding_dim == 16
    ens = build_card_model([member, dict(member, width=8)])
    assert isinstance(ens, EnsembleEncoder) and len(ens.members) == 2
    assert ens.members[1].features[0][0].out_channels == 8
    with torch.no_grad():
        assert ens.eval()(torch.zeros(2, *SHAPE)).shape == (2, 32)


def test_an_embedding_batch_norm_centres_the_embeddings() -> None:
    """Without it, ReLU features share a large common component and every embedding points the same way
    (a narrow cone: cosine similarity near 1 between any two samples); with it the batch's embeddings are
    centred before normalisation, so two samples are near-orthogonal on average. The oracle: the mean
    pairwise cosine similarity, computed directly."""
    x = (torch.rand(64, *SHAPE, generator=torch.Generator().manual_seed(5)) > 0.85).float()
    mean_cos = {}
    for bn in (False, True):
        torch.manual_seed(0)
        model = SignatureCNN(width=4, embedding_dim=16, embedding_bn=bn).train()
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.momentum = None  # running statistics = this batch's exactly
        with torch.no_grad():
            model(x)
            e = model.eval()(x)
        n = len(e)
        mean_cos[bn] = float(((e @ e.T).sum() - n) / (n * n - n))
    assert mean_cos[False] > 0.5
    assert abs(mean_cos[True]) < 0.1


def test_covariance_pool_is_the_gram_matrix_of_the_reduced_map() -> None:
    """Checked against a loop over positions: mean over (y, x) of z_i * z_j, upper triangle, square root."""
    torch.manual_seed(0)
    pool = CovariancePool(6, 3).eval()
    x = torch.randn(2, 6, 4, 5)
    with torch.no_grad():
        got = pool(x)
        z = pool.reduce(x)
    assert got.shape == (2, 6) and pool.out_dim == 6
    for n in range(2):
        want = []
        for i in range(3):
            for j in range(i, 3):
                want.append(float(sum(z[n, i, y, xx] * z[n, j, y, xx] for y in range(4) for xx in range(5)) / 20))
        assert np.allclose(got[n].numpy() ** 2 - 1e-6, want, atol=1e-5)


def test_texture_branch_changes_the_embedding_and_exports_with_parity(batch: np.ndarray, tmp_path: Path) -> None:
    torch.manual_seed(1)
    model = SignatureCNN(width=4, embedding_dim=16, texture_channels=4)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model((torch.rand(8, *SHAPE) > 0.85).float())
    model.eval()
    assert model.head[2].in_features == 32 * 18 + 10  # grid features + the 4-channel upper triangle
    x = torch.from_numpy(batch)
    with torch.no_grad():
        e = model(x)
        zeroed = copy.deepcopy(model)
        zeroed.head[2].weight[:, 32 * 18:] = 0  # the texture part silenced: a different embedding
        assert (zeroed(x) - e).abs().max() > 1e-3
    assert torch.allclose(e.norm(dim=1), torch.ones(6), atol=1e-5)
    path = tmp_path / "texture.onnx"
    export_onnx(fuse_batch_norm(copy.deepcopy(model)), path, input_shape=SHAPE)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = session.run(None, {session.get_inputs()[0].name: batch})[0]
    assert np.abs(out - e.numpy()).max() <= 1e-4


def test_the_config_builds_the_texture_branch_and_the_card_names_it() -> None:
    from biometrix.training.release import _architecture
    from biometrix.training.train import TrainConfig, build_card_model, build_model

    cfg = TrainConfig(width=4, embedding_dim=16, texture_channels=4)
    model = build_model(cfg)
    assert isinstance(model.texture, CovariancePool) and model.texture.out_dim == 10
    assert build_model(TrainConfig(width=4, embedding_dim=16)).texture is None
    assert _architecture(cfg) == "SignatureCNN (width 4, 16-d, 4-channel covariance pooling)"
    rebuilt = build_card_model({"width": 4, "embedding_dim": 16, "texture_channels": 4})
    assert rebuilt.state_dict().keys() == model.state_dict().keys()
