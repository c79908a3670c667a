"""Signature data sets read in place from ../shared/data: CEDAR and SigComp2011 Dutch scans, SVC2004 pen recordings.

The fixed subject-disjoint protocols of ../shared/design/EVALUATION.md live here, so training,
``biometrix evaluate`` and the bench scripts all use the same splits.
"""

from __future__ import annotations

import re
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
DUTCH_ZIP = "sigcomp2011_dutch/sigcomp2011_dutch_half.zip"
DUTCH = "sigcomp2011_dutch"

CEDAR_TRAIN = tuple(range(1, 36))
CEDAR_VALIDATION = tuple(range(36, 46))
CEDAR_HELDOUT = tuple(range(46, 56))
SVC_TRAIN = tuple(range(1, 26))
SVC_VALIDATION = tuple(range(26, 31))
SVC_HELDOUT = tuple(range(31, 41))
#: SigComp2011 Dutch writer ids run 001-069 without 005, 007, 008, 010 and 011. Writers 001-048 (43) are the
#: train / validation side; no shipped model was trained on any Dutch writer, so all 43 serve as validation.
DUTCH_ABSENT = frozenset({5, 7, 8, 10, 11})
DUTCH_DEVELOPMENT = tuple(w for w in range(1, 49) if w not in DUTCH_ABSENT)
DUTCH_HELDOUT = tuple(range(49, 70))

HELDOUT = {"cedar": CEDAR_HELDOUT, DUTCH: DUTCH_HELDOUT, "svc2004": SVC_HELDOUT}
VALIDATION = {"cedar": CEDAR_VALIDATION, DUTCH: DUTCH_DEVELOPMENT, "svc2004": SVC_VALIDATION}
#: Every subject of each data set: training, validation and held out.
SUBJECTS = {"cedar": CEDAR_TRAIN + CEDAR_VALIDATION + CEDAR_HELDOUT,
            DUTCH: DUTCH_DEVELOPMENT + DUTCH_HELDOUT,
            "svc2004": SVC_TRAIN + SVC_VALIDATION + SVC_HELDOUT}
#: The data sets of scanned (offline) signatures, pooled for the offline figures (EVALUATION.md).
OFFLINE = ("cedar", DUTCH)
#: How each data set's signatures were captured (the capture thresholds of a signature card are named so).
CAPTURE = {"cedar": "scan", DUTCH: "scan", "svc2004": "pen"}


@dataclass(frozen=True)
class SignatureRecord:
    """Which signature a sample is: source data set, subject (whose signature it shows), index, genuine."""

    source: str  # "cedar" | "sigcomp2011_dutch" | "svc2004"
    subject: int
    #: CEDAR: 1..24 within genuine or within forgeries; SVC2004: 1..40 (21..40 forgeries); SigComp2011 Dutch: the
    #: file's number for a genuine signature (01..24), for a forgery its rank among the writer's forgeries ordered
    #: by (forger, number), from 1 (two forgers both have a forgery 01)
    index: int
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
        gaps = sorted(set(range(known[0], known[-1] + 1)) - set(known))
        raise InvalidInput(f"{source} has no subject{'s' if len(outside) > 1 else ''} {shown}: its subjects are "
                           f"{known[0]}-{known[-1]}" + (f" without {', '.join(map(str, gaps))}" if gaps else ""))
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


#: The two ways SigComp2011 Dutch names a file (``stem`` without ``.png``), for writer W, forger FFFF, number NN:
#: writers 001-016 ``W_NN`` and ``FFFFW_NN``; writers 013 and 017-069 ``NN_W`` and ``NN_FFFFW``.
_DUTCH_NAMES = (re.compile(r"(?P<forger>\d{4})?(?P<w>\d{3})_(?P<n>\d{2})"),
                re.compile(r"(?P<n>\d{2})_(?P<forger>\d{4})?(?P<w>\d{3})"))


def dutch_entry(name: str) -> tuple[int, bool, str, int] | None:
    """A SigComp2011 Dutch archive entry -> (writer, genuine, forger or "", number); None for what is not a
    signature image; InvalidInput for an image whose name fits neither naming of the set."""
    parts = name.split("/")
    if len(parts) != 4 or parts[1] not in ("genuine", "forged") or not parts[3].endswith(".png"):
        return None
    folder, stem = parts[2], parts[3][: -len(".png")]
    for pattern in _DUTCH_NAMES:
        m = pattern.fullmatch(stem)
        if m and m["w"] == folder and (m["forger"] is None) == (parts[1] == "genuine"):
            return int(folder), parts[1] == "genuine", m["forger"] or "", int(m["n"])
    raise InvalidInput(f"{name}: not a SigComp2011 Dutch signature name (W_NN, FFFFW_NN, NN_W or NN_FFFFW of "
                       f"writer {folder})")


def iter_sigcomp2011_dutch(root: Path, writers: Sequence[int]) -> Iterator[tuple[SignatureRecord, np.ndarray]]:
    """SigComp2011 Dutch genuine signatures (``genuine/W/``) and skilled forgeries (``forged/W/``) of the given
    writers, as grey images, writer by writer: genuine ones by number, then forgeries by (forger, number)."""
    wanted = set(writers)
    with zipfile.ZipFile(_archive(root, DUTCH_ZIP)) as zf:
        entries = [(e, n) for n in zf.namelist() if (e := dutch_entry(n)) is not None and e[0] in wanted]
        entries.sort(key=lambda en: (en[0][0], not en[0][1], en[0][2], en[0][3]))
        rank: dict[int, int] = {}
        for (writer, genuine, _, number), name in entries:
            if not genuine:
                rank[writer] = rank.get(writer, 0) + 1
            img = cv2.imdecode(np.frombuffer(zf.read(name), np.uint8), cv2.IMREAD_GRAYSCALE)
            yield SignatureRecord(DUTCH, writer, number if genuine else rank[writer], genuine), img


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
    if source == DUTCH:
        return iter_sigcomp2011_dutch(root, subjects)
    raise InvalidInput(f"unknown signature data set {source!r}; known: {', '.join(SUBJECTS)}")
