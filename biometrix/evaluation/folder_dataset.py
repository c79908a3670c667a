"""Folder-per-class image data sets (a directory tree or a zip read in place) and class-disjoint splits."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from biometrix.capture.files import decode_gray
from biometrix.core.errors import InvalidInput, UnreadableImage

#: File suffixes read as images (compared case-insensitively).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".pgm", ".bmp")


@dataclass(frozen=True)
class ImageRef:
    """Where one image lives: ``source`` (a folder or a .zip), ``name`` inside it (POSIX), its class name."""

    source: Path
    name: str
    label: str


class ClassImageDataset(Protocol):
    """What the training and evaluation code needs from a class-labelled image data set."""

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names; a label is an index into this tuple."""
        ...

    @property
    def labels(self) -> np.ndarray:
        """int64 (N,) class index of each image."""
        ...

    def __len__(self) -> int: ...

    def load(self, i: int) -> np.ndarray:
        """uint8 (H, W) grey image number ``i``."""
        ...


D = TypeVar("D")


@dataclass(frozen=True)
class ClassSplit(Generic[D]):
    """A class-disjoint split into data sets of the type that was split; unpacks as ``train, val = split``."""

    train: D
    validation: D

    def __iter__(self) -> Iterator[D]:
        return iter((self.train, self.validation))


def pick_validation_classes(classes: Sequence[str], validation: float | Sequence[str], *,
                            seed: int = 0) -> tuple[str, ...]:
    """The validation class names: a random ``validation`` fraction of ``classes`` (seeded), or an explicit list.

    A fraction gives ``round(fraction * n_classes)`` classes, at least 1 and at most n_classes - 1.
    """
    known = tuple(classes)
    if isinstance(validation, (str, bool)):
        raise InvalidInput(f"validation must be a fraction or a list of class names, got {validation!r}")
    if isinstance(validation, (int, float, np.integer, np.floating)):
        frac = float(validation)
        if not 0.0 < frac < 1.0:
            raise InvalidInput(f"the validation fraction must be strictly between 0 and 1, got {frac}")
        n_val = int(round(frac * len(known)))
        if not 1 <= n_val <= len(known) - 1:
            raise InvalidInput(f"a validation fraction of {frac} of {len(known)} classes leaves one side empty")
        order = np.random.default_rng(seed).permutation(len(known))
        return tuple(sorted(known[k] for k in order[:n_val]))
    chosen = tuple(validation)
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise InvalidInput(f"unknown validation classes: {', '.join(map(str, unknown[:5]))}")
    if len(set(chosen)) != len(chosen):
        raise InvalidInput("the validation class list names a class twice")
    if not 1 <= len(chosen) <= len(known) - 1:
        raise InvalidInput(f"the validation list must name 1..{len(known) - 1} of the {len(known)} classes")
    return tuple(sorted(chosen))


def _is_hidden(parts: Sequence[str]) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def _class_of(parts: Sequence[str], class_depth: int, where: str) -> str:
    """parts = folders + file name below the root -> the class name (the last ``class_depth`` folders)."""
    if len(parts) - 1 < class_depth:
        raise InvalidInput(
            f"{where}: image {'/'.join(parts)!r} is not inside a class folder "
            f"(expected <class>/<file> with {class_depth} class folder level(s))"
        )
    return "/".join(parts[-1 - class_depth : -1])


def scan_images(root: Path | str, *, class_depth: int = 1) -> list[ImageRef]:
    """Every image below ``root`` (a folder or a .zip), its class = the last ``class_depth`` parent folders.

    Hidden files and folders (".name", ``__MACOSX``) and files of other types are skipped. Two different folders
    that give the same class name (e.g. ``a/x/1.png`` and ``b/x/2.png`` with ``class_depth=1``) are an error.
    """
    root = Path(root)
    if class_depth < 1:
        raise InvalidInput(f"class_depth must be at least 1, got {class_depth}")
    if root.is_dir():
        names: list[str] = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if not _is_hidden([d])]
            rel = Path(dirpath).relative_to(root)
            names.extend((rel / f).as_posix() for f in filenames)
    elif root.is_file() and zipfile.is_zipfile(root):
        with zipfile.ZipFile(root) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
    elif root.exists():
        raise InvalidInput(f"{root} is neither a folder nor a zip archive")
    else:
        raise InvalidInput(f"image data set {root} not found")
    refs: list[ImageRef] = []
    folder_of: dict[str, str] = {}
    for name in names:
        parts = PurePosixPath(name).parts
        if _is_hidden(parts) or PurePosixPath(name).suffix.lower() not in IMAGE_SUFFIXES:
            continue
        label = _class_of(parts, class_depth, str(root))
        folder = "/".join(parts[:-1])
        if folder_of.setdefault(label, folder) != folder:
            raise InvalidInput(
                f"{root}: class name {label!r} comes from two folders ({folder_of[label]!r} and {folder!r}); "
                f"raise class_depth so that class names are unique"
            )
        refs.append(ImageRef(root, name, label))
    if not refs:
        raise InvalidInput(f"{root} contains no {'/'.join(IMAGE_SUFFIXES)} image inside a class folder")
    return refs


class FolderDataset:
    """A class-per-folder image data set: ``root/<class>/<image>`` or a zip of ``<...>/<class>/<image>``.

    Images are sorted by (class name, file name); ``classes`` is sorted, so the class index of a name is the same
    on every machine. Zips are read in place: ``load`` keeps one open handle per process (safe under fork).
    """

    def __init__(self, root: Path | str, *, class_depth: int = 1) -> None:
        self._init_refs(scan_images(root, class_depth=class_depth))

    @classmethod
    def from_refs(cls, refs: Sequence[ImageRef]) -> FolderDataset:
        """A data set from explicit image references (e.g. several zips merged)."""
        if not refs:
            raise InvalidInput("a data set needs at least one image")
        ds = cls.__new__(cls)
        ds._init_refs(list(refs))
        return ds

    def _init_refs(self, refs: list[ImageRef]) -> None:
        keys = [(r.label, r.name, str(r.source)) for r in refs]
        if len(set(keys)) != len(keys):
            raise InvalidInput("the same image is listed twice")
        order = sorted(range(len(refs)), key=keys.__getitem__)
        self._refs: tuple[ImageRef, ...] = tuple(refs[k] for k in order)
        self._classes: tuple[str, ...] = tuple(sorted({r.label for r in self._refs}))
        index = {c: k for k, c in enumerate(self._classes)}
        labels = np.array([index[r.label] for r in self._refs], dtype=np.int64)
        labels.setflags(write=False)
        self._labels = labels
        self._zips: dict[tuple[int, Path], zipfile.ZipFile] = {}

    # --- the ClassImageDataset protocol ----------------------------------------------------------

    @property
    def classes(self) -> tuple[str, ...]:
        """Sorted class names; ``labels`` index into it."""
        return self._classes

    @property
    def labels(self) -> np.ndarray:
        """int64 (N,) class index of each image (read-only)."""
        return self._labels

    @property
    def refs(self) -> tuple[ImageRef, ...]:
        """Where each image lives, in data set order."""
        return self._refs

    def __len__(self) -> int:
        return len(self._refs)

    def __repr__(self) -> str:
        sources = sorted({str(r.source) for r in self._refs})
        return f"FolderDataset({len(self)} images, {len(self._classes)} classes, from {', '.join(sources)})"

    def read_bytes(self, i: int) -> bytes:
        """The encoded bytes of image ``i``."""
        ref = self._refs[self._index(i)]
        if ref.source.is_dir():
            path = ref.source / ref.name
            try:
                return path.read_bytes()
            except OSError as exc:
                raise UnreadableImage(f"{path} cannot be read ({exc.strerror or exc})") from exc
        try:
            return self._zip(ref.source).read(ref.name)
        except (KeyError, OSError, zipfile.BadZipFile) as exc:
            raise UnreadableImage(f"{ref.name} cannot be read from {ref.source} ({exc})") from exc

    def load(self, i: int) -> np.ndarray:
        """uint8 (H, W) grey image number ``i`` (colour is converted, transparency composited over white)."""
        ref = self._refs[self._index(i)]
        return decode_gray(self.read_bytes(i), name=f"{ref.source}:{ref.name}")

    def load_many(self, indices: Sequence[int] | np.ndarray | None = None) -> list[np.ndarray]:
        """uint8 (H, W) images ``indices`` (all of them by default), in that order."""
        idx = range(len(self)) if indices is None else [int(k) for k in np.asarray(indices).ravel()]
        return [self.load(k) for k in idx]

    # --- subsets ---------------------------------------------------------------------------------

    def subset(self, classes: Sequence[str]) -> FolderDataset:
        """The images of the named classes only (class indices are renumbered within the subset)."""
        wanted = set(classes)
        unknown = sorted(wanted - set(self._classes))
        if unknown:
            raise InvalidInput(f"unknown classes: {', '.join(unknown[:5])}")
        return FolderDataset.from_refs([r for r in self._refs if r.label in wanted])

    def split_classes(self, validation: float | Sequence[str], *, seed: int = 0) -> ClassSplit[FolderDataset]:
        """Class-disjoint (train, validation): a seeded ``validation`` fraction of the classes, or named classes."""
        val = pick_validation_classes(self._classes, validation, seed=seed)
        chosen = set(val)
        train = tuple(c for c in self._classes if c not in chosen)
        return ClassSplit(self.subset(train), self.subset(val))

    # --- zip handles -----------------------------------------------------------------------------

    def _index(self, i: int) -> int:
        try:
            k = int(i)
        except (TypeError, ValueError):
            raise InvalidInput(f"an image index must be an integer, got {i!r}") from None
        if not -len(self) <= k < len(self):
            raise InvalidInput(f"image index {k} out of range for {len(self)} images")
        return k % len(self)

    def _zip(self, path: Path) -> zipfile.ZipFile:
        key = (os.getpid(), path)
        zf = self._zips.get(key)
        if zf is None:
            zf = self._zips[key] = zipfile.ZipFile(path)
        return zf

    def close(self) -> None:
        """Close the zip handles this process opened (``load`` reopens them when needed)."""
        for (pid, _), zf in list(self._zips.items()):
            if pid == os.getpid():
                zf.close()
        self._zips.clear()

    def __enter__(self) -> FolderDataset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_zips"] = {}  # open files do not pickle; each worker opens its own
        return state


@dataclass(frozen=True, eq=False)
class ArrayDataset:
    """An in-memory class-labelled image data set: uint8 ``images`` (N, H, W), ``labels`` (N,) into ``classes``."""

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]

    def __post_init__(self) -> None:
        images, labels = np.asarray(self.images), np.asarray(self.labels)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise InvalidInput(f"images must be uint8 (N, H, W), got {images.dtype} {images.shape}")
        if labels.shape != (images.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
            raise InvalidInput(
                f"labels must be integers (N,) = ({images.shape[0]},), got {labels.dtype} {labels.shape}"
            )
        if len(labels) and (labels.min() < 0 or labels.max() >= len(self.classes)):
            raise InvalidInput(f"labels must index the {len(self.classes)} classes")
        if len(set(self.classes)) != len(self.classes):
            raise InvalidInput("class names must be unique")
        labels = labels.astype(np.int64)
        images, labels = images.copy(), labels.copy()
        images.setflags(write=False)
        labels.setflags(write=False)
        object.__setattr__(self, "images", images)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "classes", tuple(self.classes))

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def load(self, i: int) -> np.ndarray:
        """uint8 (H, W) image number ``i`` (a read-only view)."""
        k = int(i)
        if not -len(self) <= k < len(self):
            raise InvalidInput(f"image index {k} out of range for {len(self)} images")
        return self.images[k]

    def subset(self, classes: Sequence[str]) -> ArrayDataset:
        """The images of the named classes only (class indices are renumbered, class order kept)."""
        wanted = set(classes)
        unknown = sorted(wanted - set(self.classes))
        if unknown:
            raise InvalidInput(f"unknown classes: {', '.join(unknown[:5])}")
        kept = tuple(c for c in self.classes if c in wanted)
        old = np.array([self.classes.index(c) for c in kept], dtype=np.int64)
        remap = np.full(len(self.classes), -1, dtype=np.int64)
        remap[old] = np.arange(len(kept))
        mask = np.isin(self.labels, old)
        return ArrayDataset(self.images[mask], remap[self.labels[mask]], kept)

    def split_classes(self, validation: float | Sequence[str], *, seed: int = 0) -> ClassSplit[ArrayDataset]:
        """Class-disjoint (train, validation): a seeded ``validation`` fraction of the classes, or named classes."""
        val = set(pick_validation_classes(self.classes, validation, seed=seed))
        return ClassSplit(self.subset([c for c in self.classes if c not in val]), self.subset(sorted(val)))
