"""bench/research/cv_posthoc.py: the embedding-spread figure and the fixed test-time warps, against hand sums."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from biometrix.core.matcher import aggregate_distances
from biometrix.training.data import SignatureSample

BENCH = Path(__file__).resolve().parents[2] / "bench" / "research" / "cv_posthoc.py"


def _load():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("biometrix_bench_cv_posthoc", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


posthoc = _load()


def unit(deg: float) -> list[float]:
    return [float(np.cos(np.deg2rad(deg))), float(np.sin(np.deg2rad(deg)))]


def test_spread_is_the_median_cosine_distance_of_each_kind_of_pair() -> None:
    samples = [SignatureSample("cedar", 1, 1, True), SignatureSample("cedar", 1, 2, True),
               SignatureSample("cedar", 1, 1, False), SignatureSample("cedar", 2, 1, True)]
    # signer 1's genuine at 0 and 10 degrees, its forgery at 30, signer 2 at 90: cos distances by hand
    emb = np.array([unit(0), unit(10), unit(30), unit(90)]) * 3.0  # scale must not matter
    genuine, skilled, other = posthoc.spread(samples, emb)
    cos = lambda a, b: 1 - np.cos(np.deg2rad(a - b))  # noqa: E731
    np.testing.assert_allclose(genuine, cos(0, 10))
    np.testing.assert_allclose(skilled, np.median([cos(0, 30), cos(10, 30)]))
    np.testing.assert_allclose(other, np.median([cos(0, 90), cos(10, 90)] * 2))


def test_the_identity_warp_keeps_the_mask_and_others_stay_ink() -> None:
    ink = np.zeros((20, 50), bool)
    ink[5:15, 3:47] = True
    ink[8:12, 10:12] = False
    np.testing.assert_array_equal(posthoc.warp(ink, 0.0, 1.0), ink[5:15, 3:47])
    for angle, scale in posthoc.TTA_WARPS[1:]:
        out = posthoc.warp(ink, angle, scale)
        assert out.any(1).all() and out.any(0).all()  # cropped to the ink again
        assert 0.8 < out.sum() / ink.sum() < 1.25


def _clustered(n_subjects: int = 4, dim: int = 16, seed: int = 0) -> tuple[list[SignatureSample], np.ndarray]:
    """CEDAR-shaped samples (genuine 1-24, forgeries 1-6 per subject) around one direction per subject."""
    rng = np.random.default_rng(seed)
    samples, rows = [], []
    for s in range(1, n_subjects + 1):
        centre = rng.normal(size=dim)
        for genuine, count, noise in ((True, 24, 0.6), (False, 6, 0.9)):
            for i in range(1, count + 1):
                samples.append(SignatureSample("cedar", s, i, genuine))
                rows.append(centre + noise * rng.normal(size=dim))
    return samples, np.array(rows)


def test_rescore_with_an_aggregate_as_scorer_gives_the_protocol_figures() -> None:
    from biometrix.training.train import summaries_of, validation_metric

    samples, emb = _clustered()
    by_agg = summaries_of(samples, emb / np.linalg.norm(emb, axis=1, keepdims=True))
    for agg in ("mean", "min", "centroid", "normalized"):
        row = posthoc.rescore(samples, emb, {agg: lambda r, x, agg=agg: aggregate_distances(x, r)[agg]})
        want = by_agg[agg]["cedar"]
        assert row["aggregate"] == agg
        np.testing.assert_allclose(row["cedar_skilled"], want["skilled_eer"], atol=1e-9)
        np.testing.assert_allclose(row["cedar_random"], want["random_eer"], atol=1e-9)
        np.testing.assert_allclose(row["metric"], validation_metric(by_agg[agg]), atol=1e-9)


def test_znorm_puts_the_cohort_at_mean_0_and_deviation_1_and_keeps_each_subjects_order() -> None:
    rng = np.random.default_rng(1)
    unit_rows = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)  # noqa: E731
    cohort, refs, probes = (unit_rows(rng.normal(size=(n, 8))) for n in (50, 5, 7))
    for name, scorer in posthoc.znorm_scorers(cohort).items():
        z = scorer(refs, cohort)
        np.testing.assert_allclose([z.mean(), z.std()], [0.0, 1.0], atol=1e-9, err_msg=name)
        raw = aggregate_distances(probes, refs)[name.removeprefix("z-")]
        assert (np.argsort(scorer(refs, probes)) == np.argsort(raw)).all()


def test_writer_dependent_svm_scores_the_writer_below_the_cohort() -> None:
    rng = np.random.default_rng(2)
    centre = rng.normal(size=8)
    refs = centre + 0.1 * rng.normal(size=(5, 8))
    probes = centre + 0.1 * rng.normal(size=(4, 8))
    cohort = rng.normal(size=(60, 8)) * 2.0
    for kernel in ("linear", "rbf"):
        (scorer,) = posthoc.svm_scorer(cohort, kernel).values()
        assert scorer(refs, probes).max() < np.median(scorer(refs, cohort))


class _LinearFold:
    """What ``methods`` uses of a fold: ``model(epoch)`` (a seeded linear map to unit vectors) and
    ``embed(model)``, on the same fixed inputs for every fold (folds of two runs share validation samples)."""

    def __init__(self, seed: int) -> None:
        import torch

        self.x = torch.randn(5, 6, generator=torch.Generator().manual_seed(99))
        torch.manual_seed(seed)
        self.net = torch.nn.Linear(6, 4)
        self.cfg = type("Cfg", (), {"hog_cell": 16})()

    def model(self, epoch: int):  # type: ignore[no-untyped-def]
        import torch

        return torch.nn.Sequential(self.net, type("Unit", (torch.nn.Module,), {
            "forward": lambda self, v: torch.nn.functional.normalize(v, dim=1)})())

    def embed(self, model) -> np.ndarray:  # type: ignore[no-untyped-def]
        import torch

        with torch.no_grad():
            return model(self.x).numpy()


def test_the_ensemble_row_averages_the_two_runs_cosine_similarities() -> None:
    a, b = _LinearFold(0), _LinearFold(1)
    assert "ens 12" not in posthoc.methods(a, 12)
    ens = posthoc.methods(a, 12, [b])["ens 12"]()
    cos = lambda e: e @ e.T  # noqa: E731 - unit rows
    want = (cos(a.embed(a.model(12))) + cos(b.embed(b.model(12)))) / 2
    np.testing.assert_allclose(ens @ ens.T, want, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(ens, axis=1), 1.0, atol=1e-6)


def test_the_ensemble_row_of_several_runs_averages_all_their_cosine_similarities() -> None:
    folds = [_LinearFold(seed) for seed in range(4)]
    ens = posthoc.methods(folds[0], 12, folds[1:])["ens 12"]()
    cos = lambda e: e @ e.T  # noqa: E731 - unit rows
    want = sum(cos(f.embed(f.model(12))) for f in folds) / 4
    np.testing.assert_allclose(ens @ ens.T, want, atol=1e-6)
    # not the mean of a pair: the other members count
    assert np.abs(ens @ ens.T - (cos(folds[0].embed(folds[0].model(12))) + cos(folds[1].embed(folds[1].model(12))))
                  / 2).max() > 1e-3


def test_a_run_without_its_folds_is_one_clear_error(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import pytest

    (tmp_path / "run" / "fold1of3").mkdir(parents=True)
    (tmp_path / "run" / "fold1of3" / "config.json").write_text("{}")
    cases = ((["--run", str(tmp_path / "run")], "run has no fold2of3", None),
             (["--run", str(tmp_path / "run"), "--ensemble", str(tmp_path / "none")], "none has no fold1of3", "run"))
    for argv, missing, complete in cases:
        if complete:  # every fold of --run present: the error names the --ensemble folder
            for f in (2, 3):
                (tmp_path / complete / f"fold{f}of3").mkdir()
                (tmp_path / complete / f"fold{f}of3" / "config.json").write_text("{}")
        monkeypatch.setattr("sys.argv", ["cv_posthoc.py", *argv])
        with pytest.raises(SystemExit) as exit_info:
            posthoc.main()
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert missing in err and "train its folds first" in err and "Traceback" not in err


def _packed(rng: np.random.Generator, n: int, dim: int, cells: int, channels: int) -> np.ndarray:
    g = rng.normal(size=(n, dim))
    loc = np.abs(rng.normal(size=(n, cells, channels)))  # after a ReLU: never negative
    ink = rng.random((n, cells)) < 0.6
    return np.concatenate([g, loc.reshape(n, -1), ink.astype(float)], axis=1)


def test_local_distances_against_loops() -> None:
    """The vectorised local distance against a plain loop over cells, on a 3 x 6 grid."""
    rng = np.random.default_rng(3)
    dim, channels, (gh, gw) = 4, 5, (3, 6)
    cells = gh * gw
    refs, probes = _packed(rng, 3, dim, cells, channels), _packed(rng, 4, dim, cells, channels)
    dg, dl = posthoc.local_distances(refs * 2.5, probes, dim=dim, channels=channels, grid=(gh, gw))

    def parts(e: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return e[:dim], e[dim:dim + cells * channels].reshape(cells, channels), e[dim + cells * channels:] > 0

    def one_way(a: np.ndarray, a_ink: np.ndarray, b: np.ndarray, b_ink: np.ndarray) -> float:
        total = 0.0
        for i in range(cells):
            if not a_ink[i]:
                continue
            best = 0.0
            for j in range(cells):
                near = abs(i // gw - j // gw) <= posthoc.LOCAL_ROWS and abs(i % gw - j % gw) <= posthoc.LOCAL_COLS
                if near and b_ink[j]:
                    best = max(best, float(a[i] @ b[j] / np.linalg.norm(a[i]) / np.linalg.norm(b[j])))
            total += best
        return total / max(int(a_ink.sum()), 1)

    for m, x in enumerate(probes):
        for k, r in enumerate(refs):
            (xg, xl, xi), (rg, rl, ri) = parts(x), parts(r)
            assert dg[m, k] == pytest.approx(1 - xg @ rg / np.linalg.norm(xg) / np.linalg.norm(rg))
            want = 1 - (one_way(xl, xi, rl, ri) + one_way(rl, ri, xl, xi)) / 2
            assert dl[m, k] == pytest.approx(want)
    # a signature against itself: every inked cell finds itself
    _, same = posthoc.local_distances(refs[:1], refs[:1], dim=dim, channels=channels, grid=(gh, gw))
    assert same[0, 0] == pytest.approx(0.0, abs=1e-12)


def test_local_scorers_aggregate_and_fuse() -> None:
    rng = np.random.default_rng(4)
    dim, channels, grid = 4, 3, (2, 4)
    refs, probes = _packed(rng, 5, dim, 8, channels), _packed(rng, 6, dim, 8, channels)
    dg, dl = posthoc.local_distances(refs, probes, dim=dim, channels=channels, grid=grid)
    local = posthoc.local_scorers(dim, channels, grid, fuse=False)
    fuse = posthoc.local_scorers(dim, channels, grid, fuse=True)
    np.testing.assert_allclose(local["local-min"](refs, probes), dl.min(axis=1))
    np.testing.assert_allclose(local["local-mean"](refs, probes), dl.mean(axis=1))
    np.testing.assert_allclose(fuse["fuse-min"](refs, probes), dl.min(axis=1) * dg.min(axis=1))
    np.testing.assert_allclose(fuse["fuse-mean"](refs, probes), dl.mean(axis=1) * dg.mean(axis=1))


def test_local_features_rows_hold_the_embedding_the_cells_and_their_ink() -> None:
    from types import SimpleNamespace

    import torch

    from biometrix.training.data import to_tensor_batch
    from biometrix.training.encoder import SignatureCNN

    torch.manual_seed(0)
    model = SignatureCNN(embedding_dim=8, width=4).eval()
    ink = np.zeros((60, 150), bool)
    ink[10:50, 5:40] = True  # ink on the left only
    sample = SimpleNamespace(ink=ink)
    fold = SimpleNamespace(cfg=SimpleNamespace(input_height=96, input_width=192), val=[sample, sample])
    rows = posthoc.local_features(fold, model)
    x = to_tensor_batch([ink], height=96, width=192)
    with torch.no_grad():
        want_g = model(torch.from_numpy(x)).numpy()[0]
        fmap = model.features(torch.from_numpy(x)).numpy()[0]  # (32, 6, 12)
    assert rows.shape == (2, 8 + 72 * 32 + 72)
    np.testing.assert_allclose(rows[0, :8], want_g, atol=1e-6)
    cells = rows[0, 8:8 + 72 * 32].reshape(6, 12, 32)
    unit = fmap / np.maximum(np.linalg.norm(fmap, axis=0, keepdims=True), 1e-12)
    np.testing.assert_allclose(cells, unit.transpose(1, 2, 0), atol=1e-5)
    flags = rows[0, 8 + 72 * 32:].reshape(6, 12)
    want_flags = x[0, 0].reshape(6, 16, 12, 16).max(axis=(1, 3)) > 0
    np.testing.assert_array_equal(flags > 0, want_flags)
    assert want_flags.any() and not want_flags.all()


def test_the_training_local_distance_matrix_is_the_benchs_local_distance() -> None:
    """``encoder.local_distance_matrix`` (torch, what training optimises) against ``local_distances`` (numpy,
    checked against loops above) on random non-negative feature maps and random inked cells."""
    import torch

    from biometrix.training.encoder import local_distance_matrix

    rng = np.random.default_rng(5)
    n, c, gh, gw = 5, 6, 3, 6
    fmap = np.abs(rng.normal(size=(n, c, gh, gw))).astype(np.float32)
    ink = rng.random((n, gh * gw)) < 0.6
    got = local_distance_matrix(torch.from_numpy(fmap), torch.from_numpy(ink)).numpy()
    rows = np.concatenate([np.ones((n, 2)), fmap.reshape(n, c, -1).transpose(0, 2, 1).reshape(n, -1),
                           ink.astype(float)], axis=1)
    _, want = posthoc.local_distances(rows, rows, dim=2, channels=c, grid=(gh, gw))
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(got, got.T, atol=1e-6)


def test_the_local_loss_pulls_a_writers_signatures_together() -> None:
    """A few optimiser steps on the local term alone lower it on a fixed batch: its gradient points the right way
    (positives together, negatives apart), and the term reaches the convolutions."""
    import torch

    from biometrix.training.encoder import SignatureCNN
    from biometrix.training.losses import build_loss
    from biometrix.training.train import local_batch_loss

    torch.manual_seed(0)
    rng = np.random.default_rng(6)
    x = torch.from_numpy((rng.random((8, 1, 96, 192)) > 0.85).astype(np.float32))
    labels = torch.tensor([0, 0, 1, 1, 2, 2, -1, -2])
    model = SignatureCNN(embedding_dim=8, width=4)
    loss_fn = build_loss("triplet", margin=0.3, mining="batch_hard")
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(25):
        _, fmap = model.forward_with_features(x)
        loss = local_batch_loss(loss_fn, x, fmap, labels)
        losses.append(float(loss))
        opt.zero_grad()
        loss.backward()
        if len(losses) == 1:
            assert model.features[0][0].weight.grad.abs().sum() > 0  # it reaches the first convolution
        opt.step()
    assert losses[0] > 0.25 and losses[-1] < 0.7 * losses[0]
    # and by the bench's own local distance, a writer's two signatures now lie closer than two writers'
    with torch.no_grad():
        _, fmap = model.forward_with_features(x)
    n, c, gh, gw = fmap.shape
    ink = x.reshape(n, gh, 16, gw, 16).amax(dim=(2, 4)).reshape(n, -1).numpy()
    rows = np.concatenate([np.ones((n, 2)), fmap.numpy().reshape(n, c, -1).transpose(0, 2, 1).reshape(n, -1), ink],
                          axis=1)
    _, d = posthoc.local_distances(rows, rows, dim=2, channels=c, grid=(gh, gw))
    same = (labels[:, None] == labels[None]).numpy() & ~np.eye(n, dtype=bool)
    other = (labels[:, None] != labels[None]).numpy()
    assert d[same].mean() < d[other].mean()


def test_a_row_takes_the_aggregate_with_the_lowest_metric() -> None:
    def summary(skilled: float, random: float) -> dict[str, float]:
        return {"skilled_eer": skilled, "random_eer": random}

    by_agg = {"mean": {"cedar": summary(0.2, 0.1), "svc2004": summary(0.3, 0.1)},  # metric 0.175
              "min": {"cedar": summary(0.1, 0.05), "svc2004": summary(0.3, 0.05)}}  # metric 0.125
    row = posthoc.figures(by_agg)
    assert row["aggregate"] == "min"
    np.testing.assert_allclose([row["metric"], row["cedar_skilled"], row["cedar_random"], row["svc_random"],
                                row["svc_skilled"]], [0.125, 0.1, 0.05, 0.05, 0.3])


def test_a_row_names_the_dutch_eers_where_the_folds_validate_on_dutch_writers() -> None:
    def summary(skilled: float, rand: float) -> dict[str, float]:
        return {"skilled_eer": skilled, "random_eer": rand}

    both = {"cedar": summary(0.1, 0.01), "svc2004": summary(0.3, 0.05), "sigcomp2011_dutch": summary(0.2, 0.04)}
    row = posthoc.figures({agg: both for agg in ("min", "mean")})
    assert (row["dutch_skilled"], row["dutch_random"], row["cedar_skilled"]) == (0.2, 0.04, 0.1)
    assert row["metric"] == pytest.approx(np.mean([0.1, 0.01, 0.3, 0.05, 0.2, 0.04]))  # as training scores it
    two = {k: v for k, v in both.items() if k != "sigcomp2011_dutch"}
    row = posthoc.figures({agg: two for agg in ("min", "mean")})
    assert np.isnan(row["dutch_skilled"]) and row["metric"] == pytest.approx(np.mean([0.1, 0.01, 0.3, 0.05]))
