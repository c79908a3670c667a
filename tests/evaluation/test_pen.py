"""evaluation.pen: DTW scores under the protocol, and their fusion with the image's scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from biometrix.capture.pen import stroke_arrays
from biometrix.core.dtw import dtw_distance
from biometrix.core.errors import InvalidInput
from biometrix.core.metrics import eer
from biometrix.evaluation.datasets import SignatureRecord, iter_svc2004, iter_svc2004_strokes
from biometrix.evaluation.pen import dtw_protocol_scores, fuse_scores
from biometrix.evaluation.protocol import protocol_scores
from biometrix.preprocess.pen_dynamics import pen_features

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
needs_svc = pytest.mark.skipif(not (DATA / "svc2004_task2" / "svc2004_task2.zip").is_file(),
                               reason=f"SVC2004 data not found under {DATA}")


def _users(n: int = 3, seed: int = 0) -> tuple[list[SignatureRecord], list[np.ndarray], np.ndarray]:
    """SVC2004-shaped users: each user's genuine samples are one path at varying speed, forgeries another path;
    with an embedding per sample (the user's direction plus noise) for the image side."""
    rng = np.random.default_rng(seed)
    records, feats, emb = [], [], []
    for u in range(1, n + 1):
        base = rng.normal(size=(30, 2)).cumsum(axis=0)
        other = base + rng.normal(scale=2.0, size=base.shape)
        centre = rng.normal(size=8)
        for s in range(1, 41):
            path = base if s <= 20 else other
            records.append(SignatureRecord("svc2004", u, s, s <= 20))
            feats.append(np.repeat(path, rng.integers(1, 3, len(path)), axis=0) + 0.01 * rng.normal(size=(1, 2)))
            emb.append(centre + (0.3 if s <= 20 else 0.9) * rng.normal(size=8))
    return records, feats, np.array(emb)


def test_dtw_scores_are_each_probes_dtw_to_the_references() -> None:
    records, feats, _ = _users()
    scores = dtw_protocol_scores(records, feats)
    index = {r.sample_id: i for i, r in enumerate(records)}
    for c in scores.comparisons[::37]:
        user = int(c.claimed.split(":")[1])
        refs = [index[f"svc2004:{user}:g{i}"] for i in range(1, 6)]
        d = [dtw_distance(feats[r], feats[index[c.probe]]) for r in refs]
        spread = np.mean([dtw_distance(feats[a], feats[b]) for i, a in enumerate(refs) for b in refs[i + 1 :]])
        assert c.distances["mean"] == pytest.approx(np.mean(d))
        assert c.distances["min"] == pytest.approx(np.min(d))
        assert c.distances["normalized"] == pytest.approx(np.mean(d) / spread)
    # the same path at another speed is genuine; another path is a forgery: DTW separates them completely
    assert eer(genuine=scores.scores("genuine", "mean"), impostor=scores.scores("skilled", "mean")).eer == 0.0


def test_fusion_averages_the_normalized_distances() -> None:
    records, feats, emb = _users()
    pen = dtw_protocol_scores(records, feats)
    image = protocol_scores(records, emb, source="svc2004")
    fused = fuse_scores(image, pen, weight=0.25)
    for f, a, b in zip(fused.comparisons, image.comparisons, pen.comparisons, strict=True):
        assert (f.claimed, f.probe, f.kind) == (a.claimed, a.probe, a.kind)
        assert f.distances == {"fused": pytest.approx(0.75 * a.distances["normalized"]
                                                      + 0.25 * b.distances["normalized"])}
    assert fuse_scores(image, pen, weight=0.0).scores("genuine", "fused") == pytest.approx(
        image.scores("genuine", "normalized"))
    with pytest.raises(InvalidInput, match="weight"):
        fuse_scores(image, pen, weight=1.5)
    fewer = dtw_protocol_scores(records[:80], feats[:80])
    with pytest.raises(InvalidInput, match="same comparisons"):
        fuse_scores(image, fewer)
    with pytest.raises(InvalidInput, match="feature sequences"):
        dtw_protocol_scores(records, feats[:-1])


@needs_svc
def test_real_pen_recordings_are_read_as_rendered_and_genuine_ones_are_closer() -> None:
    users = [1, 2, 3]
    pens = list(iter_svc2004_strokes(DATA, users))
    images = list(iter_svc2004(DATA, users))
    assert [r for r, _ in pens] == [r for r, _ in images] and len(pens) == 120
    scores = dtw_protocol_scores([r for r, _ in pens], [pen_features(stroke_arrays(s)) for _, s in pens])
    genuine, skilled = scores.scores("genuine", "mean"), scores.scores("skilled", "mean")
    assert (genuine.size, skilled.size, scores.scores("random", "mean").size) == (45, 60, 6)
    assert np.median(genuine) < np.median(skilled)
