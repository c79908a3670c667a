"""Tests for biometrix.training.omniglot_signers: stroke files, names laid out by a template, pseudo-signers whose
genuine samples share a hand and whose forgeries are the same name in other hands."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from biometrix.core.errors import InvalidInput
from biometrix.preprocess.signature import normalize
from biometrix.training.omniglot_signers import (
    FORGERIES_PER_SIGNER,
    GENUINE_PER_SIGNER,
    SOURCE,
    compose,
    load_characters,
    omniglot_signers,
    parse_strokes,
)

OMNIGLOT = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "omniglot"
needs_omniglot = pytest.mark.skipif(not (OMNIGLOT / "strokes_background_small1.zip").is_file(),
                                    reason=f"Omniglot stroke data not found at {OMNIGLOT}")


def test_parse_strokes_splits_at_breaks_and_turns_y_downwards() -> None:
    text = "START\n1.0,-2.0,0\n3.0,-4.0,10\nBREAK\n5.5,6.5,20\nBREAK\n"
    strokes = parse_strokes(text)
    assert len(strokes) == 2
    np.testing.assert_array_equal(strokes[0], [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(strokes[1], [[5.5, -6.5]])
    with pytest.raises(InvalidInput, match="not an Omniglot stroke line"):
        parse_strokes("START\n1.0;2.0\nBREAK\n", name="bad.txt")
    with pytest.raises(InvalidInput, match="no strokes"):
        parse_strokes("START\nBREAK\n")


def _box(n: int) -> list[np.ndarray]:
    """A square character, 10 units high, as one closed stroke of n points per side."""
    t = np.linspace(0, 10, n, endpoint=False)
    z, ten = np.zeros(n), np.full(n, 10.0)
    return [np.concatenate([np.stack(s, 1) for s in ((t, z), (ten, t), (10 - t, ten), (z, 10 - t))])]


def test_compose_without_jitter_follows_the_template() -> None:
    """With jitter 0 every character is its size high, starts where the previous one ended plus its gap, and sits
    at its baseline shift (a box character makes each rule exact); the slant shears x by -slant * y."""
    template = {"size": np.array([1.0, 0.5]), "shift": np.array([0.0, 0.2]), "gap": np.array([0.3, 0.1]),
                "slant": 0.0}
    strokes = compose([_box(5), _box(7)], template, np.random.default_rng(0), jitter=0.0)
    a = np.array([(p.x, p.y) for p in strokes[0].points])
    b = np.array([(p.x, p.y) for p in strokes[1].points])
    np.testing.assert_allclose([a[:, 1].min(), a[:, 1].max(), a[:, 0].min(), a[:, 0].max()], [-0.5, 0.5, 0.0, 1.0])
    np.testing.assert_allclose([b[:, 1].min(), b[:, 1].max(), b[:, 0].min(), b[:, 0].max()],
                               [0.2 - 0.25, 0.2 + 0.25, 1.3, 1.8])
    assert all(0.05 <= p.pressure <= 1.0 for s in strokes for p in s.points)
    one = {"size": np.array([1.0]), "shift": np.array([0.0]), "gap": np.array([0.3]), "slant": 0.2}
    slanted = compose([_box(5)], one, np.random.default_rng(0), jitter=0.0)
    c = np.array([(p.x, p.y) for p in slanted[0].points])
    np.testing.assert_allclose(c[:, 0], a[:, 0] - 0.2 * a[:, 1])


def test_compose_jitter_moves_points_a_little() -> None:
    template = {"size": np.array([1.0]), "shift": np.array([0.0]), "gap": np.array([0.2]), "slant": 0.0}
    plain = compose([_box(50)], template, np.random.default_rng(0), jitter=0.0)
    moved = compose([_box(50)], template, np.random.default_rng(1), jitter=1.0)
    p = np.array([(q.x, q.y) for q in plain[0].points])
    m = np.array([(q.x, q.y) for q in moved[0].points])
    shift = np.abs(m - p).max()
    assert 0.005 < shift < 0.2  # size and shift changes of up to 8 % and 5 %, a displacement of up to 3 %


@needs_omniglot
def test_load_characters_reads_both_small_sets_once() -> None:
    chars = load_characters(OMNIGLOT)
    assert len(chars) == 242  # 136 + 156 characters, Greek and Latin in both zips
    assert all(len(d) == 20 for d in chars.values())
    first = chars["Latin/character26"][20]
    assert all(s.ndim == 2 and s.shape[1] == 2 for s in first)


def test_missing_stroke_zip_is_a_clear_error(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "strokes_background_small1.zip", "w"):
        pass
    with pytest.raises(InvalidInput, match="strokes_background_small2.zip not found"):
        load_characters(tmp_path)
    with pytest.raises(InvalidInput, match="at least 1"):
        omniglot_signers(0, characters={})


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x, y = normalize(a, height=48, width=96) > 0.5, normalize(b, height=48, width=96) > 0.5
    return float((x & y).sum() / max((x | y).sum(), 1))


@needs_omniglot
def test_pseudo_signers_share_a_hand_and_their_forgeries_do_not() -> None:
    chars = load_characters(OMNIGLOT)
    samples = omniglot_signers(20, seed=0, characters=chars)
    assert len(samples) == 20 * (GENUINE_PER_SIGNER + FORGERIES_PER_SIGNER)
    assert {s.source for s in samples} == {SOURCE} and {s.subject for s in samples} == set(range(1, 21))
    # cropped to the ink as the real loaders crop (a 2-pixel margin)
    assert all(s.ink.dtype == bool and s.ink[:3].any() and s.ink[:, :3].any() and s.ink[-3:].any() for s in samples)
    again = omniglot_signers(20, seed=0, characters=chars)
    assert all(np.array_equal(a.ink, b.ink) for a, b in zip(samples, again, strict=True))
    other = omniglot_signers(20, seed=1, characters=chars)
    assert not all(a.ink.shape == b.ink.shape and np.array_equal(a.ink, b.ink)
                   for a, b in zip(samples, other, strict=True))
    # The oracle: pixel overlap after the encoder's normalisation. Samples in one hand overlap more than the
    # same name in another hand, on average over the pseudo-signers.
    same, forged = [], []
    for subject in range(1, 21):
        g = [s.ink for s in samples if s.subject == subject and s.genuine]
        f = [s.ink for s in samples if s.subject == subject and not s.genuine]
        same.append(np.mean([_iou(g[0], x) for x in g[1:]]))
        forged.append(np.mean([_iou(g[0], x) for x in f]))
    assert np.mean(same) > np.mean(forged) + 0.05
    assert sum(s > f for s, f in zip(same, forged, strict=True)) >= 15


@needs_omniglot
def test_fit_adds_pseudo_signers_after_the_mirrored_copies(tmp_path: Path) -> None:
    from biometrix.training.data import SignatureSample
    from biometrix.training.train import TrainConfig, with_synthetic_identities

    ink = np.zeros((10, 20), bool)
    ink[5, 2:18] = True
    base = [SignatureSample("svc2004", 3, i, True, ink=ink) for i in (1, 2)]
    cfg = TrainConfig(mirror_identities=2, omniglot_signers=3, data_root=str(OMNIGLOT.parent))
    out = with_synthetic_identities(base, cfg)
    assert len(out) == 4 + 3 * (GENUINE_PER_SIGNER + FORGERIES_PER_SIGNER)
    assert {s.key for s in out if s.source == SOURCE} == {"omniglot:1", "omniglot:2", "omniglot:3"}
    cfg_file = tmp_path / "omni.json"  # the option as a config file sets it (the experiment's was 100 signers)
    cfg_file.write_text('{"omniglot_signers": 100, "mirror_identities": 4}')
    assert TrainConfig.from_file(cfg_file).omniglot_signers == 100
    with pytest.raises(InvalidInput, match="omniglot_signers is a number of pseudo-signers"):
        with_synthetic_identities(base, TrainConfig(omniglot_signers=-1))
