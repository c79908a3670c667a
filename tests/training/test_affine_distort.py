"""The affine distortions of few-shot training: off at 0, reproducible, and maps around the image centre."""

from __future__ import annotations

import numpy as np

from biometrix.training.fewshot_train import affine_distort


def _blob(size: int, at: tuple[int, int]) -> np.ndarray:
    img = np.zeros((1, 1, size, size), np.float32)
    img[0, 0, at[0] - 1:at[0] + 2, at[1] - 1:at[1] + 2] = 1.0
    return img


def _centroid(img: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(img > 0.05)
    w = img[ys, xs]
    return np.array([np.average(ys, weights=w), np.average(xs, weights=w)])


def test_strength_zero_is_the_identity() -> None:
    batch = np.random.default_rng(0).random((4, 1, 28, 28)).astype(np.float32)
    assert np.array_equal(affine_distort(batch, np.random.default_rng(1), 0.0), batch)


def test_same_seed_same_distortions_and_each_image_its_own() -> None:
    batch = np.repeat(_blob(28, (8, 20)), 6, axis=0)
    a = affine_distort(batch, np.random.default_rng(3), 1.0)
    b = affine_distort(batch, np.random.default_rng(3), 1.0)
    assert np.array_equal(a, b)
    assert len({arr.tobytes() for arr in a}) == 6


def test_the_centre_moves_only_by_the_shift() -> None:
    # The map is lin @ (p - c) + c + t: the centre c only moves by t, |t| <= 2 px at 105 px -> 0.53 px at 28.
    size = 29  # an odd size puts the blob exactly on the centre (14, 14)
    batch = np.repeat(_blob(size, (14, 14)), 50, axis=0)
    out = affine_distort(batch, np.random.default_rng(5), 1.0)
    moves = [np.abs(_centroid(img[0]) - 14).max() for img in out]
    assert max(moves) <= 2 * size / 105 + 0.1
    corner = affine_distort(np.repeat(_blob(size, (4, 4)), 50, axis=0), np.random.default_rng(5), 1.0)
    assert max(np.abs(_centroid(img[0]) - 4).max() for img in corner) > 1.0  # away from the centre it does move
    assert all(np.isfinite(img).all() and img.min() >= 0 and img.max() <= 1 for img in out)


def test_tta_embed_averages_distorted_views() -> None:
    import torch

    from biometrix.training.fewshot_train import ConvFour, tta_embed

    torch.manual_seed(0)
    model = ConvFour(width=8, embedding_dim=16).eval()
    x = np.random.default_rng(0).random((5, 1, 28, 28)).astype(np.float32)
    with torch.no_grad():
        plain = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(tta_embed(model, x, n=0), plain, rtol=1e-5, atol=1e-6)
    a, b = tta_embed(model, x, n=4, seed=3), tta_embed(model, x, n=4, seed=3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-5)
    # the oracle: the mean of the plain and the 4 distorted embeddings, re-normalised
    rng = np.random.default_rng(3)
    with torch.no_grad():
        views = [plain] + [model(torch.from_numpy(affine_distort(x, rng, 0.5))).numpy() for _ in range(4)]
    mean = np.sum(views, axis=0)
    np.testing.assert_allclose(a, mean / np.linalg.norm(mean, axis=1, keepdims=True), rtol=1e-5, atol=1e-6)
