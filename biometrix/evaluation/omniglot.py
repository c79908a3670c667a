"""Omniglot read in place: the small background sets as a class-per-character data set, and Lake's one-shot runs."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

from biometrix.capture.files import decode_gray
from biometrix.core.distances import get_distance
from biometrix.core.errors import InvalidInput
from biometrix.evaluation.datasets import default_data_root
from biometrix.evaluation.folder_dataset import FolderDataset, ImageRef, scan_images

#: The background zips by short name, relative to the omniglot folder.
BACKGROUND_ZIPS = {"small1": "images_background_small1.zip", "small2": "images_background_small2.zip"}
#: Lake et al.'s twenty 20-way one-shot classification runs.
RUNS_ZIP = "all_runs.zip"
#: The name of each run's answer key inside the zip (as in Lake's ``demo_classification.py``).
LABELS_FILE = "class_labels.txt"
#: Side of an Omniglot image in pixels.
IMAGE_SIZE = 105


def default_omniglot_root() -> Path:
    """``../shared/data/omniglot`` beside the repository."""
    return default_data_root() / "omniglot"


def _file(root: Path | str | None, name: str) -> Path:
    """``root`` may be the omniglot folder or the zip itself."""
    base = default_omniglot_root() if root is None else Path(root)
    path = base if base.is_file() else base / name
    if not path.is_file():
        raise InvalidInput(f"Omniglot file {path} not found (expected ../shared/data/omniglot beside the repository)")
    return path


# --- background sets (training) ------------------------------------------------------------------


def load_background(root: Path | str | None = None, *,
                    subsets: Sequence[str] = ("small1", "small2")) -> FolderDataset:
    """The small background sets as one data set; class = ``<Alphabet>/character<NN>``, 20 drawers per class.

    The zips hold ``images_background_smallK/<Alphabet>/character<NN>/<id>_<drawer>.png``. small1 and small2
    both contain Greek and Latin (byte-identical files): an image whose path below the zip's top folder was already
    read from an earlier subset is skipped, so with both subsets there are 242 classes and 4,840 images.
    """
    if not subsets:
        raise InvalidInput("load_background needs at least one subset (small1, small2)")
    refs: list[ImageRef] = []
    seen: set[tuple[str, str]] = set()
    for key in subsets:
        if key not in BACKGROUND_ZIPS:
            raise InvalidInput(f"unknown Omniglot subset {key!r}; known: {', '.join(BACKGROUND_ZIPS)}")
        path = _file(root, BACKGROUND_ZIPS[key])
        for ref in scan_images(path, class_depth=2):
            file_key = (ref.label, PurePosixPath(ref.name).name)
            if file_key not in seen:
                seen.add(file_key)
                refs.append(ref)
    return FolderDataset.from_refs(refs)


def drawer_of(name: str) -> int:
    """The drawer number (1..20) of an Omniglot file name ``<id>_<drawer>.png``."""
    stem = PurePosixPath(name).stem
    try:
        return int(stem.rsplit("_", 1)[1])
    except (IndexError, ValueError):
        raise InvalidInput(f"{name!r} is not an Omniglot image name (<id>_<drawer>.png)") from None


# --- one-shot runs (evaluation) ------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class OneShotRun:
    """One 20-way one-shot run.

    ``training`` uint8 (C, 105, 105): one image per class, in sorted file order (class01..class20);
    ``test`` uint8 (Q, 105, 105) in sorted file order (item01..item20); ``answers`` int64 (Q,): the index into
    ``training`` of each test image's correct class. Images are as stored: black strokes (0) on white (255).
    """

    name: str
    training_names: tuple[str, ...]
    test_names: tuple[str, ...]
    training: np.ndarray
    test: np.ndarray
    answers: np.ndarray


def parse_class_labels(text: str, *, run: str = "") -> list[tuple[str, str]]:
    """``class_labels.txt`` -> [(test file, its training file)], one pair per non-empty line, in file order."""
    pairs: list[tuple[str, str]] = []
    for k, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2:
            raise InvalidInput(f"{run}/{LABELS_FILE} line {k}: expected '<test image> <training image>', got {line!r}")
        pairs.append((parts[0], parts[1]))
    if not pairs:
        raise InvalidInput(f"{run}/{LABELS_FILE} is empty")
    return pairs


def _resolve(zf: zipfile.ZipFile, run: str, name: str) -> str:
    """A path from class_labels.txt (``runNN/test/itemMM.png``, relative to the zip root) -> a zip entry."""
    for candidate in (name, f"{run}/{name}"):
        try:
            zf.getinfo(candidate)
            return candidate
        except KeyError:
            continue
    raise InvalidInput(f"{run}/{LABELS_FILE} names {name!r}, which is not in {zf.filename}")


def _read_run(zf: zipfile.ZipFile, run: str) -> OneShotRun:
    """Lake's pairing: sort the test files, sort the training files; the answer of a test file is its line's partner."""
    pairs = parse_class_labels(zf.read(f"{run}/{LABELS_FILE}").decode("utf-8"), run=run)
    pairs = [(_resolve(zf, run, t), _resolve(zf, run, c)) for t, c in pairs]
    answer_of = dict(pairs)
    if len(answer_of) != len(pairs):
        raise InvalidInput(f"{run}/{LABELS_FILE} lists a test image twice")
    test_names = tuple(sorted(answer_of))
    training_names = tuple(sorted(set(answer_of.values())))
    index = {n: k for k, n in enumerate(training_names)}
    answers = np.array([index[answer_of[t]] for t in test_names], dtype=np.int64)

    def stack(names: tuple[str, ...]) -> np.ndarray:
        imgs = [decode_gray(zf.read(n), name=f"{zf.filename}:{n}") for n in names]
        if len({im.shape for im in imgs}) != 1:
            raise InvalidInput(f"{run}: images of different sizes")
        out = np.stack(imgs)
        out.setflags(write=False)
        return out

    answers.setflags(write=False)
    return OneShotRun(run, training_names, test_names, stack(training_names), stack(test_names), answers)


def load_runs(root: Path | str | None = None) -> list[OneShotRun]:
    """Lake's one-shot runs from ``all_runs.zip`` (``root`` = the omniglot folder or the zip), sorted by run name.

    The official zip gives 20 runs, each with 20 training images (one per class) and 20 test images.
    """
    path = _file(root, RUNS_ZIP)
    with zipfile.ZipFile(path) as zf:
        runs = sorted({n.split("/", 1)[0] for n in zf.namelist() if n.endswith(f"/{LABELS_FILE}")})
        if not runs:
            raise InvalidInput(f"{path} contains no <run>/{LABELS_FILE}")
        return [_read_run(zf, r) for r in runs]


@dataclass(frozen=True)
class RunsResult:
    """One-shot accuracy: per run (in run order), its mean over the runs, and mean error = 1 - mean accuracy.

    Fractions in [0, 1]; Lake et al. report the error in percent (100 * mean_error).
    """

    per_run_accuracy: tuple[float, ...]
    mean_accuracy: float
    mean_error: float
    n_runs: int


def predict_run(embed: Callable[[np.ndarray], np.ndarray], run: OneShotRun, *,
                distance: str = "cosine") -> np.ndarray:
    """int64 (Q,): for each test image, the index of the nearest training image in embedding space.

    ``embed`` maps a uint8 batch (N, 105, 105) as stored to (N, D) embeddings. Ties go to the first training image
    in file order (``np.argmin``), so a constant embedding predicts class01 for every test image.
    """
    dist = get_distance(distance)
    train = _embedding(embed, run.training, run.name, "training")
    test = _embedding(embed, run.test, run.name, "test")
    if train.shape[1] != test.shape[1]:
        raise InvalidInput(
            f"{run.name}: training and test embeddings differ in size ({train.shape[1]} vs {test.shape[1]})"
        )
    return np.argmin(dist.pairwise(test, train), axis=1).astype(np.int64)


def score_runs(embed: Callable[[np.ndarray], np.ndarray], runs: Sequence[OneShotRun], *,
               distance: str = "cosine") -> RunsResult:
    """Lake's one-shot score with embeddings: each test image takes the class of its nearest training image."""
    if not runs:
        raise InvalidInput("score_runs needs at least one run")
    per_run = tuple(float(np.mean(predict_run(embed, r, distance=distance) == r.answers)) for r in runs)
    mean = float(np.mean(per_run))
    return RunsResult(per_run, mean, 1.0 - mean, len(runs))


def _embedding(embed: Callable[[np.ndarray], np.ndarray], batch: np.ndarray, run: str, part: str) -> np.ndarray:
    out = np.asarray(embed(batch))
    if out.ndim != 2 or out.shape[0] != batch.shape[0]:
        raise InvalidInput(f"{run}: embed must return ({batch.shape[0]}, D) for the {part} images, got {out.shape}")
    if not np.issubdtype(out.dtype, np.number) or not np.isfinite(out).all():
        raise InvalidInput(f"{run}: the {part} embeddings contain NaN, infinite or non-numeric values")
    return out


# --- encoder input -------------------------------------------------------------------------------


def omniglot_preprocess(img: np.ndarray, *, size: int | None = None) -> np.ndarray:
    """uint8 (H, W) or (N, H, W), black strokes on white -> float32 of the same layout, ink 1.0 on 0.0.

    ``size`` resizes each image to (size, size) by area averaging (values stay in [0, 1]); None keeps 105x105.
    """
    arr = np.asarray(img)
    if arr.dtype != np.uint8 or arr.ndim not in (2, 3) or 0 in arr.shape:
        raise InvalidInput(f"omniglot_preprocess needs uint8 (H, W) or (N, H, W), got {arr.dtype} {arr.shape}")
    ink = 1.0 - arr.astype(np.float32) / 255.0
    if size is None:
        return ink
    if size < 1:
        raise InvalidInput(f"size must be a positive number of pixels, got {size}")
    if ink.ndim == 2:
        return cv2.resize(ink, (size, size), interpolation=cv2.INTER_AREA)
    return np.stack([cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA) for im in ink])


def pixel_embedding(batch: np.ndarray, *, size: int | None = None) -> np.ndarray:
    """The raw-pixel baseline: uint8 (N, H, W) -> float32 (N, H*W) preprocessed ink, flattened."""
    arr = np.asarray(batch)
    if arr.ndim != 3:
        raise InvalidInput(f"pixel_embedding needs a batch (N, H, W), got shape {arr.shape}")
    pre = omniglot_preprocess(arr, size=size)
    return pre.reshape(pre.shape[0], -1)
