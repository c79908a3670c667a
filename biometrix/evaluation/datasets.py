"""Signature data sets read in place from ../shared/data: CEDAR scans and SVC2004 pen recordings.

The fixed subject-disjoint protocols of ../shared/design/EVALUATION.md live here, so training,
``biometrix evaluate`` and the bench scripts all use the same splits.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from biometrix.capture.pen import Stroke, rasterize, read_svc2004
from biometrix.core.errors import InvalidInput

CEDAR_ZIP = "cedar/cedar_signatures_half.zip"
SVC_ZIP = "svc2004_task2/svc2004_task2.zip"

CEDAR_TRAIN = tuple(range(1, 36))
CEDAR_VALIDATION = tuple(range(36, 46))
CEDAR_HELDOUT = tuple(range(46, 56))
SVC_TRAIN = tuple(range(1, 26))
SVC_VALIDATION = tuple(range(26, 31))
SVC_HELDOUT = tuple(range(31, 41))

HELDOUT = {"cedar": CEDAR_HELDOUT, "svc2004": SVC_HELDOUT}
VALIDATION = {"cedar": CEDAR_VALIDATION, "svc2004": SVC_VALIDATION}
#: Every subject of each data set: training, validation and held out.
SUBJECTS = {"cedar": CEDAR_TRAIN + CEDAR_VALIDATION + CEDAR_HELDOUT,
            "svc2004": SVC_TRAIN + SVC_VALIDATION + SVC_HELDOUT}


@dataclass(frozen=True)
class SignatureRecord:
    """Which signature a sample is: source data set, subject (whose signature it shows), index, genuine."""

    source: str  # "cedar" | "svc2004"
    subject: int
    index: int  # CEDAR: 1..24 within genuine or within forgeries; SVC2004: 1..40 (21..40 forgeries)
    genuine: bool

    @property
    def key(self) -> str:
        """A subject id unique across sources."""
        return f"{self.source}:{self.subject}"

    @property
    def sample_id(self) -> str:
        return f"{self.source}:{self.subject}:{'g' if self.genuine else 'f'}{self.index}"


def default_data_root() -> Path:
    """``../shared/data`` beside the repository."""
    return Path(__file__).resolve().parents[3] / "shared" / "data"


def _archive(root: Path, rel: str) -> Path:
    path = Path(root) / rel
    if not path.is_file():
        raise InvalidInput(f"data set file {path} not found (expected ../shared/data beside the repository)")
    return path


def parse_subjects(spec: str) -> tuple[int, ...]:
    """'46-55' or '1,3,5-7' -> subject numbers."""
    out: list[int] = []
    try:
        for part in spec.split(","):
            if "-" in part:
                a, b = part.split("-", 1)
                out.extend(range(int(a), int(b) + 1))
            elif part.strip():
                out.append(int(part))
    except ValueError:
        raise InvalidInput(f"bad subject list {spec!r}: use e.g. 46-55 or 1,3,5-7") from None
    if not out:
        raise InvalidInput(f"bad subject list {spec!r}: it names no subject")
    return tuple(out)


def check_subjects(source: str, subjects: Sequence[int]) -> tuple[int, ...]:
    """``subjects`` when every one is a subject of ``source``; else InvalidInput naming those that are not."""
    known = SUBJECTS[source]
    outside = sorted(set(subjects) - set(known))
    if outside:
        shown = ", ".join(str(s) for s in outside[:5]) + (f" and {len(outside) - 5} more" if len(outside) > 5 else "")
        raise InvalidInput(f"{source} has no subject{'s' if len(outside) > 1 else ''} {shown}: its subjects are "
                           f"{known[0]}-{known[-1]}")
    return tuple(subjects)


def iter_cedar(root: Path, subjects: Sequence[int]) -> Iterator[tuple[SignatureRecord, np.ndarray]]:
    """CEDAR genuine ``original_S_N`` and skilled ``forgeries_S_N`` of the given signers, as grey images."""
    wanted = set(subjects)
    with zipfile.ZipFile(_archive(root, CEDAR_ZIP)) as zf:
        for name in sorted(n for n in zf.namelist() if n.endswith(".png")):
            kind, s, i = Path(name).stem.split("_")
            if int(s) in wanted:
                img = cv2.imdecode(np.frombuffer(zf.read(name), np.uint8), cv2.IMREAD_GRAYSCALE)
                yield SignatureRecord("cedar", int(s), int(i), kind == "original"), img


def iter_svc2004_strokes(root: Path, users: Sequence[int]) -> Iterator[tuple[SignatureRecord, list[Stroke]]]:
    """SVC2004 task-2 recordings of the given users as pen strokes (samples 1-20 genuine, 21-40 forgeries)."""
    with zipfile.ZipFile(_archive(root, SVC_ZIP)) as zf:
        for u in users:
            for s in range(1, 41):
                name = f"U{u}S{s}"
                yield SignatureRecord("svc2004", u, s, s <= 20), read_svc2004(
                    zf.read(f"Task2/{name}.TXT").decode("ascii"), name=name)


def iter_svc2004(root: Path, users: Sequence[int]) -> Iterator[tuple[SignatureRecord, np.ndarray]]:
    """SVC2004 task-2 recordings of the given users, rendered by the app's own pen renderer."""
    for record, strokes in iter_svc2004_strokes(root, users):
        yield record, rasterize(strokes)


def iter_source(source: str, root: Path, subjects: Sequence[int]) -> Iterator[tuple[SignatureRecord, np.ndarray]]:
    """Dispatch on the data set name."""
    if source == "cedar":
        return iter_cedar(root, subjects)
    if source == "svc2004":
        return iter_svc2004(root, subjects)
    raise InvalidInput(f"unknown signature data set {source!r}; known: cedar, svc2004")
