"""Tests for biometrix.evaluation.omniglot: the real zips read in place, and score_runs against brute-force loops."""

from __future__ import annotations

import contextlib
import hashlib
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from biometrix.core.errors import InvalidInput
from biometrix.evaluation.omniglot import (
    OneShotRun,
    drawer_of,
    load_background,
    load_runs,
    omniglot_preprocess,
    parse_class_labels,
    pixel_embedding,
    score_runs,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
OMNIGLOT = DATA / "omniglot"
needs_omniglot = pytest.mark.skipif(not (OMNIGLOT / "all_runs.zip").is_file(),
                                    reason=f"Omniglot data not found at {OMNIGLOT}")


@pytest.fixture(autouse=True)
def one_blas_thread() -> Iterator[None]:
    """Tiny matrix products: a second BLAS thread only fights other work on a busy machine (10x slower)."""
    try:
        from threadpoolctl import threadpool_limits
    except ModuleNotFoundError:  # threadpoolctl comes with scikit-learn; without it, just run
        limits: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
    else:
        limits = threadpool_limits(1)
    with limits:
        yield


@pytest.fixture(scope="module")
def runs() -> list[OneShotRun]:
    if not (OMNIGLOT / "all_runs.zip").is_file():
        pytest.skip(f"Omniglot data not found at {OMNIGLOT}")
    return load_runs(OMNIGLOT)


def brute_force_accuracy(embed, runs: list[OneShotRun], distance: str) -> list[float]:  # type: ignore[no-untyped-def]
    """Lake's loop: cost of every (test, training) pair, the first training image of least cost wins."""
    out = []
    for run in runs:
        train = [np.asarray(e, np.float64) for e in embed(run.training)]
        train_norms = [float(np.sqrt((tr * tr).sum())) for tr in train]  # elementwise: no BLAS
        correct = 0
        for q, t in zip(embed(run.test), run.answers, strict=True):
            t_vec = np.asarray(q, np.float64)
            t_norm = float(np.sqrt((t_vec * t_vec).sum()))
            best, best_cost = -1, np.inf
            for c, (tr, tr_norm) in enumerate(zip(train, train_norms, strict=True)):
                if distance == "euclidean":
                    cost = float(np.sqrt(((t_vec - tr) ** 2).sum()))
                else:
                    cost = 1.0 - float((t_vec * tr).sum()) / (t_norm * tr_norm)
                if cost < best_cost - 1e-12:
                    best, best_cost = c, cost
            correct += best == t
        out.append(correct / len(run.test))
    return out


# --- data-free checks ---------------------------------------------------------------------------


def synthetic_run(rng: np.random.Generator) -> OneShotRun:
    training = (rng.random((4, 105, 105)) > 0.1).astype(np.uint8) * 255
    answers = np.array([2, 0, 3, 1, 1])
    test = training[answers].copy()
    test[:, :5] = 255  # erase a few rows: test images are near, not equal to, their class image
    names = tuple(f"r/training/class{k:02d}.png" for k in range(1, 5))
    tnames = tuple(f"r/test/item{k:02d}.png" for k in range(1, 6))
    return OneShotRun("r", names, tnames, training, test, answers)


def test_score_runs_on_synthetic_runs_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    fake = [synthetic_run(rng) for _ in range(3)]
    for distance in ("cosine", "euclidean"):
        res = score_runs(pixel_embedding, fake, distance=distance)
        assert res.per_run_accuracy == (1.0, 1.0, 1.0)
        assert res.per_run_accuracy == tuple(brute_force_accuracy(pixel_embedding, fake, distance))
    const = score_runs(lambda b: np.ones((len(b), 3)), fake)
    assert const.per_run_accuracy == (0.2, 0.2, 0.2)  # ties -> training image 0; one of 5 answers is 0


def test_score_runs_rejects_bad_embeddings() -> None:
    fake = [synthetic_run(np.random.default_rng(1))]
    with pytest.raises(InvalidInput):
        score_runs(lambda b: np.ones(len(b)), fake)  # 1-D
    with pytest.raises(InvalidInput):
        score_runs(lambda b: np.ones((len(b) + 1, 2)), fake)
    with pytest.raises(InvalidInput):
        score_runs(lambda b: np.full((len(b), 2), np.nan), fake)
    with pytest.raises(InvalidInput):
        score_runs(pixel_embedding, fake, distance="hamming")
    with pytest.raises(InvalidInput):
        score_runs(pixel_embedding, [])


def test_parse_class_labels() -> None:
    text = "run01/test/item01.png run01/training/class08.png\n\nrun01/test/item02.png run01/training/class09.png\n"
    assert parse_class_labels(text) == [("run01/test/item01.png", "run01/training/class08.png"),
                                        ("run01/test/item02.png", "run01/training/class09.png")]
    with pytest.raises(InvalidInput):
        parse_class_labels("a b c\n")
    with pytest.raises(InvalidInput):
        parse_class_labels("\n")


def test_preprocess_inverts_and_resizes() -> None:
    img = np.full((105, 105), 255, np.uint8)
    img[50:60, 10:90] = 0
    pre = omniglot_preprocess(img)
    assert pre.dtype == np.float32 and pre.shape == (105, 105)
    assert pre.sum() == 800.0 and set(np.unique(pre)) == {0.0, 1.0}
    small = omniglot_preprocess(np.stack([img, img]), size=35)
    assert small.shape == (2, 35, 35) and small.dtype == np.float32
    assert 0.0 <= small.min() and small.max() <= 1.0
    assert small.sum() == pytest.approx(2 * 800 / 9, rel=1e-5)  # area averaging keeps the ink mass / 3^2
    for bad in (img.astype(np.float32), img[None, None], np.zeros((0, 5), np.uint8)):
        with pytest.raises(InvalidInput):
            omniglot_preprocess(bad)


def test_missing_data_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not found"):
        load_runs(tmp_path)
    with pytest.raises(InvalidInput, match="not found"):
        load_background(tmp_path)
    with pytest.raises(InvalidInput, match="unknown Omniglot subset"):
        load_background(tmp_path, subsets=("large",))


def test_drawer_of() -> None:
    assert drawer_of("images_background_small1/Latin/character26/0708_20.png") == 20
    with pytest.raises(InvalidInput):
        drawer_of("x.png")


# --- Lake's runs ---------------------------------------------------------------------------------


@needs_omniglot
def test_all_runs_parse_to_twenty_20_way_runs(runs: list[OneShotRun]) -> None:
    assert [r.name for r in runs] == [f"run{k:02d}" for k in range(1, 21)]
    for r in runs:
        assert r.training.shape == (20, 105, 105) and r.test.shape == (20, 105, 105)
        assert r.training.dtype == np.uint8 and set(np.unique(r.training)) <= {0, 255}
        assert r.training_names == tuple(f"{r.name}/training/class{k:02d}.png" for k in range(1, 21))
        assert r.test_names == tuple(f"{r.name}/test/item{k:02d}.png" for k in range(1, 21))
        assert sorted(r.answers.tolist()) == list(range(20))  # 20 distinct training classes, one test each


@needs_omniglot
def test_answers_follow_class_labels_txt(runs: list[OneShotRun]) -> None:
    """Re-read the key independently; Lake's code pairs sorted test files with the key's lines in file order."""
    with zipfile.ZipFile(OMNIGLOT / "all_runs.zip") as zf:
        for r in runs:
            lines = zf.read(f"{r.name}/class_labels.txt").decode().split("\n")
            pairs = [ln.split(" ") for ln in lines if ln]
            line_order_answers = [p[1] for p in pairs]
            assert [p[0] for p in pairs] == sorted(p[0] for p in pairs)  # so name and line pairing agree
            assert [r.training_names[a] for a in r.answers] == line_order_answers
            assert r.test_names == tuple(p[0] for p in pairs)
            raw = np.frombuffer(zf.read(r.test_names[3]), np.uint8)
            np.testing.assert_array_equal(cv2.imdecode(raw, cv2.IMREAD_GRAYSCALE), r.test[3])


@needs_omniglot
@pytest.mark.parametrize("distance", ["cosine", "euclidean"])
def test_raw_pixel_accuracy_matches_brute_force(runs: list[OneShotRun], distance: str) -> None:
    res = score_runs(pixel_embedding, runs, distance=distance)
    loop = brute_force_accuracy(pixel_embedding, runs, distance)
    assert res.per_run_accuracy == pytest.approx(loop, abs=0)
    assert res.n_runs == 20
    assert res.mean_accuracy == pytest.approx(np.mean(loop))
    assert res.mean_error == pytest.approx(1.0 - np.mean(loop))
    # The baseline figure: 1-NN on raw pixels (Koch et al. 2015 report 21.7 % for it).
    assert res.mean_accuracy == pytest.approx({"cosine": 0.2175, "euclidean": 0.19}[distance])


@needs_omniglot
@pytest.mark.parametrize("distance", ["cosine", "euclidean"])
def test_cheating_embedding_scores_one(runs: list[OneShotRun], distance: str) -> None:
    """An embedding that looks each image up in the answer key: one-hot of its true class."""
    key: dict[bytes, int] = {}
    for r in runs:
        for k, img in enumerate(r.training):
            key[hashlib.sha256(img.tobytes()).digest()] = k
        for a, img in zip(r.answers, r.test, strict=True):
            key[hashlib.sha256(img.tobytes()).digest()] = int(a)
    assert len(key) == 20 * 40  # every image is distinct, so the lookup is unambiguous

    def cheat(batch: np.ndarray) -> np.ndarray:
        return np.eye(20)[[key[hashlib.sha256(im.tobytes()).digest()] for im in batch]]

    res = score_runs(cheat, runs, distance=distance)
    assert res.per_run_accuracy == (1.0,) * 20 and res.mean_accuracy == 1.0 and res.mean_error == 0.0


@needs_omniglot
def test_constant_embedding_scores_what_ties_give(runs: list[OneShotRun]) -> None:
    """All distances tie; the first training image (class01) wins, right only for the test image of class01."""
    res = score_runs(lambda b: np.ones((len(b), 4), np.float32), runs)
    assert res.per_run_accuracy == tuple(float(np.mean(r.answers == 0)) for r in runs)
    assert res.mean_accuracy == pytest.approx(0.05)


# --- background sets -----------------------------------------------------------------------------


@needs_omniglot
@pytest.mark.parametrize(("subsets", "n_classes"), [(("small1",), 136), (("small2",), 156),
                                                    (("small1", "small2"), 242)])
def test_background_counts_match_the_readme(subsets: tuple[str, ...], n_classes: int) -> None:
    ds = load_background(OMNIGLOT, subsets=subsets)
    assert len(ds.classes) == n_classes and len(ds) == 20 * n_classes
    assert np.bincount(ds.labels).tolist() == [20] * n_classes
    for c in range(0, n_classes, 37):
        drawers = sorted(drawer_of(ds.refs[i].name) for i in np.flatnonzero(ds.labels == c))
        assert drawers == list(range(1, 21))
    alphabets = Counter(c.split("/")[0] for c in ds.classes)
    if subsets == ("small1", "small2"):
        assert len(alphabets) == 8 and alphabets["Greek"] == 24 and alphabets["Latin"] == 26
    img = ds.load(len(ds) - 1)
    assert img.shape == (105, 105) and img.dtype == np.uint8


@needs_omniglot
def test_duplicates_dropped_from_small2_are_identical_to_small1() -> None:
    both = load_background(OMNIGLOT)
    from_small2 = [r for r in both.refs if r.source.name.endswith("small2.zip")]
    assert len(from_small2) == 3120 - 1000
    with zipfile.ZipFile(OMNIGLOT / "images_background_small1.zip") as z1, \
         zipfile.ZipFile(OMNIGLOT / "images_background_small2.zip") as z2:
        n1 = {n.split("/", 1)[1]: n for n in z1.namelist() if n.endswith(".png")}
        n2 = {n.split("/", 1)[1]: n for n in z2.namelist() if n.endswith(".png")}
        common = sorted(set(n1) & set(n2))
        assert len(common) == 1000
        assert all(z1.read(n1[k]) == z2.read(n2[k]) for k in common)
