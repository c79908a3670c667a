"""Tests for biometrix.evaluation.folder_dataset on a real folder tree of image files and a zip of it."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from biometrix.core.errors import InvalidInput
from biometrix.evaluation.folder_dataset import ArrayDataset, FolderDataset, pick_validation_classes

CLASSES = ("cat", "dog", "emu")
PER_CLASS = 3


def pixel_value(c: int, k: int) -> int:
    return 20 + 60 * c + 10 * k  # a distinct grey per image, so each loaded image says which file it is


def image(c: int, k: int) -> np.ndarray:
    img = np.full((12, 10), pixel_value(c, k), dtype=np.uint8)
    img[2:4, 3:7] = 255 - pixel_value(c, k)
    return img


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    exts = (".png", ".pgm", ".bmp")  # lossless formats: pixels are compared exactly
    for c, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True)
        for k in range(PER_CLASS):
            assert cv2.imwrite(str(root / name / f"img{k}{exts[k]}"), image(c, k))
        (root / name / "notes.txt").write_text("not an image")
        (root / name / ".hidden.png").write_bytes(b"not read")
    (root / ".git").mkdir()
    (root / ".git" / "x.png").write_bytes(b"not read")
    (root / "README.md").write_text("a folder-per-class tree")
    return root


def zip_tree(root: Path, out: Path, prefix: str = "top/") -> Path:
    with zipfile.ZipFile(out, "w") as zf:
        for p in sorted(root.rglob("*")):
            if p.is_file():
                zf.write(p, prefix + p.relative_to(root).as_posix())
        zf.writestr(f"__MACOSX/{prefix}cat/._img0.png", b"resource fork")
        zf.writestr(f"{prefix}dog/", b"")  # a directory entry
    return out


def expected(ds: FolderDataset) -> list[tuple[str, int]]:
    return [(ds.classes[int(lab)], int(Path(r.name).stem[-1])) for lab, r in zip(ds.labels, ds.refs, strict=True)]


def test_folder_tree_classes_labels_and_pixels(tree: Path) -> None:
    ds = FolderDataset(tree)
    assert ds.classes == CLASSES
    assert len(ds) == len(CLASSES) * PER_CLASS
    assert ds.labels.dtype == np.int64 and ds.labels.shape == (9,)
    assert ds.labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert expected(ds) == [(c, k) for c in CLASSES for k in range(PER_CLASS)]
    for i in range(len(ds)):
        c, k = expected(ds)[i]
        img = ds.load(i)
        assert img.dtype == np.uint8 and img.shape == (12, 10)
        np.testing.assert_array_equal(img, image(CLASSES.index(c), k))
    with pytest.raises(ValueError):
        ds.labels[0] = 5  # read-only


def test_zip_reads_the_same_images_in_place(tree: Path, tmp_path: Path) -> None:
    folder = FolderDataset(tree)
    with FolderDataset(zip_tree(tree, tmp_path / "tree.zip")) as zds:
        assert zds.classes == folder.classes
        np.testing.assert_array_equal(zds.labels, folder.labels)
        for i in range(len(folder)):
            np.testing.assert_array_equal(zds.load(i), folder.load(i))
        clone = pickle.loads(pickle.dumps(zds))  # open zip handles are not pickled; the clone reopens its own
        np.testing.assert_array_equal(clone.load(-1), folder.load(8))


def test_order_is_deterministic_whatever_the_zip_order(tree: Path, tmp_path: Path) -> None:
    files = sorted(p for p in tree.rglob("*.png") if not p.name.startswith("."))
    out = tmp_path / "reversed.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for p in reversed(files):
            zf.write(p, p.relative_to(tree).as_posix())
    ds = FolderDataset(out)
    assert [r.name for r in ds.refs] == ["cat/img0.png", "dog/img0.png", "emu/img0.png"]
    assert ds.labels.tolist() == [0, 1, 2]


def test_colour_and_jpeg_are_read_as_grey(tmp_path: Path) -> None:
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 100, 50
    (tmp_path / "a").mkdir()
    assert cv2.imwrite(str(tmp_path / "a" / "c.png"), rgb[..., ::-1])  # cv2 writes BGR
    assert cv2.imwrite(str(tmp_path / "a" / "j.JPG"), np.full((16, 16), 128, np.uint8))
    ds = FolderDataset(tmp_path)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    assert ds.load(0).ndim == 2
    np.testing.assert_allclose(ds.load(0), grey, atol=1)
    assert abs(int(ds.load(1).mean()) - 128) <= 2


def test_class_depth_names_nested_classes_and_catches_collisions(tmp_path: Path) -> None:
    for alphabet in ("Greek", "Latin"):
        (tmp_path / alphabet / "character01").mkdir(parents=True)
        cv2.imwrite(str(tmp_path / alphabet / "character01" / "1.png"), np.zeros((8, 8), np.uint8))
    with pytest.raises(InvalidInput, match="class_depth"):
        FolderDataset(tmp_path)
    ds = FolderDataset(tmp_path, class_depth=2)
    assert ds.classes == ("Greek/character01", "Latin/character01")


@pytest.mark.parametrize("problem", ["loose image", "no images", "missing", "not a zip"])
def test_bad_roots_are_clear_errors(tmp_path: Path, problem: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    if problem == "loose image":
        cv2.imwrite(str(root / "x.png"), np.zeros((8, 8), np.uint8))
    elif problem == "missing":
        root = tmp_path / "absent"
    elif problem == "not a zip":
        root = tmp_path / "fake.zip"
        root.write_text("hello")
    with pytest.raises(InvalidInput):
        FolderDataset(root)


def test_index_errors(tree: Path) -> None:
    ds = FolderDataset(tree)
    for bad in (9, -10, "a"):
        with pytest.raises(InvalidInput):
            ds.load(bad)  # type: ignore[arg-type]
    np.testing.assert_array_equal(ds.load(np.int64(-1)), ds.load(8))


def test_unreadable_image_is_a_clear_error(tree: Path) -> None:
    (tree / "cat" / "img0.png").write_bytes(b"garbage")
    with pytest.raises(InvalidInput):
        FolderDataset(tree).load(0)


def test_split_classes_by_fraction_is_disjoint_complete_and_seeded(tmp_path: Path) -> None:
    names = [f"c{k:02d}" for k in range(10)]
    for k, n in enumerate(names):
        (tmp_path / n).mkdir()
        for j in range(k % 3 + 1):
            cv2.imwrite(str(tmp_path / n / f"{j}.png"), np.full((8, 8), k, np.uint8))
    ds = FolderDataset(tmp_path)
    train, val = ds.split_classes(0.3, seed=1)
    assert len(val.classes) == 3 and len(train.classes) == 7
    assert set(train.classes).isdisjoint(val.classes)
    assert set(train.classes) | set(val.classes) == set(names)
    assert len(train) + len(val) == len(ds)
    again = ds.split_classes(0.3, seed=1)
    assert again.validation.classes == val.classes
    others = {ds.split_classes(0.3, seed=s).validation.classes for s in range(8)}
    assert len(others) > 1  # the seed matters
    for sub in (train, val):  # renumbered labels still point at the right images
        for i in range(len(sub)):
            assert int(sub.load(i)[0, 0]) == names.index(sub.classes[int(sub.labels[i])])


def test_split_classes_by_explicit_list(tree: Path) -> None:
    split = FolderDataset(tree).split_classes(["emu"])
    assert split.train.classes == ("cat", "dog") and split.validation.classes == ("emu",)
    assert split.validation.labels.tolist() == [0, 0, 0]


@pytest.mark.parametrize("validation", [0.0, 1.0, 0.05, -0.2, ["zebra"], ["cat", "dog", "emu"], [], "cat",
                                        ["cat", "cat"]])
def test_split_classes_rejects_bad_requests(tree: Path, validation: object) -> None:
    with pytest.raises(InvalidInput):
        FolderDataset(tree).split_classes(validation)  # type: ignore[arg-type]


def test_pick_validation_classes_count() -> None:
    classes = [str(k) for k in range(242)]
    picked = pick_validation_classes(classes, 0.2, seed=0)
    assert len(picked) == round(0.2 * 242) and list(picked) == sorted(picked)


def test_array_dataset_subset_and_split() -> None:
    images = np.arange(6 * 4, dtype=np.uint8).reshape(6, 2, 2)
    ds = ArrayDataset(images, np.array([2, 0, 1, 2, 0, 1]), ("a", "b", "c"))
    train, val = ds.split_classes(["b"])
    assert train.classes == ("a", "c") and train.labels.tolist() == [1, 0, 1, 0]
    np.testing.assert_array_equal(train.load(0), images[0])
    assert val.classes == ("b",) and len(val) == 2
    np.testing.assert_array_equal(val.load(1), images[5])
    with pytest.raises(InvalidInput):
        ArrayDataset(images, np.array([0, 0, 0, 0, 0, 3]), ("a", "b", "c"))
    with pytest.raises(InvalidInput):
        ArrayDataset(images.astype(np.float32), np.zeros(6, int), ("a",))
