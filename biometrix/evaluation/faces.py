"""Face data sets and their fixed protocols (EVALUATION.md): AT&T and Extended Yale B, read from their zips.

AT&T: references are images 1-5 of a subject, probes images 6-10; trained models train on s1-s30 and are
measured on s31-s40 (a pretrained model may be measured on all 40). Extended Yale B (cropped): yaleB01-28
train and validate, yaleB29-39 are held out; the references are the 5 images lit nearest to the front
(A+000 E+00 and the closest light directions), every other image is a probe. Impostor comparisons: each
probe against every other subject of the set. Identification: each probe against the whole set, rank-1.

A sample the pipeline refuses (no face, low quality) is a failure to acquire: a genuine comparison with it
counts as a rejection and an impostor comparison as a (correct) rejection; a probe that fails is a miss in
identification; a subject whose five references all fail has no template and each of its probes is a miss.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from biometrix.capture.files import decode_gray
from biometrix.core.errors import InvalidInput
from biometrix.core.matcher import Matcher
from biometrix.core.metrics import eer, fnmr_at_fmr
from biometrix.core.templates import make_template
from biometrix.core.types import Modality, Threshold

ATT_ZIP = "att_faces/att_faces.zip"
YALE_ZIP = "extended_yaleb_cropped/extended_yaleb_cropped.zip"

ATT_TRAIN = tuple(range(1, 26))
ATT_VALIDATION = tuple(range(26, 31))
ATT_HELDOUT = tuple(range(31, 41))
YALE_TRAIN = tuple(s for s in range(1, 24) if s != 14)  # there is no yaleB14
YALE_VALIDATION = tuple(range(24, 29))
YALE_HELDOUT = tuple(range(29, 40))

SPLITS: dict[str, dict[str, tuple[int, ...]]] = {
    "att": {"train": ATT_TRAIN, "validation": ATT_VALIDATION, "heldout": ATT_HELDOUT,
            "all": ATT_TRAIN + ATT_VALIDATION + ATT_HELDOUT},
    "yaleb": {"train": YALE_TRAIN, "validation": YALE_VALIDATION, "heldout": YALE_HELDOUT,
              "all": YALE_TRAIN + YALE_VALIDATION + YALE_HELDOUT},
}
_YALE_NAME = re.compile(r"yaleB(\d\d)_P00A([+-]\d{3})E([+-]\d{2})\.pgm$")


def light_angle(member: str) -> float:
    """The angle in degrees between a Yale B photo's light and the camera axis, from its name
    (``arccos(cos A cos E)``); 0 for a photo without light angles in its name (AT&T)."""
    m = _YALE_NAME.search(member)
    if m is None:
        return 0.0
    az, el = math.radians(int(m.group(2))), math.radians(int(m.group(3)))
    return math.degrees(math.acos(max(-1.0, min(1.0, math.cos(az) * math.cos(el)))))


@dataclass(frozen=True)
class FaceRecord:
    """One image of a face protocol: where it is in the zip, whose it is, and its role."""

    source: str
    subject: str
    member: str
    is_reference: bool


class FaceSet:
    """The images of some subjects of one face data set, under that set's protocol; ``load(i)`` -> grey uint8."""

    def __init__(self, source: str, root: Path, subjects: Sequence[int]) -> None:
        if source not in SPLITS:
            raise InvalidInput(f"unknown face data set {source!r}; known: {', '.join(SPLITS)}")
        self.source = source
        self.zip_path = Path(root) / (ATT_ZIP if source == "att" else YALE_ZIP)
        if not self.zip_path.is_file():
            raise InvalidInput(f"{self.zip_path} not found (is ../shared/data there?)")
        with zipfile.ZipFile(self.zip_path) as zf:
            names = zf.namelist()
        wanted = set(subjects)
        self.records = _att_records(names, wanted) if source == "att" else _yale_records(names, wanted)
        self.subjects = tuple(sorted({r.subject for r in self.records}, key=_natural))

    def __len__(self) -> int:
        return len(self.records)

    def load_all(self) -> list[np.ndarray]:
        with zipfile.ZipFile(self.zip_path) as zf:
            return [decode_gray(zf.read(r.member), name=r.member) for r in self.records]


def _natural(name: str) -> tuple[str, int]:
    m = re.search(r"\d+", name)
    return (name[: m.start()], int(m.group())) if m else (name, 0)


def _att_records(names: list[str], subjects: set[int]) -> list[FaceRecord]:
    out = []
    for s in sorted(subjects):
        for n in range(1, 11):
            member = f"att_faces/s{s}/{n}.pgm"
            if member in names:
                out.append(FaceRecord("att", f"s{s}", member, is_reference=n <= 5))
    return out


def _yale_records(names: list[str], subjects: set[int]) -> list[FaceRecord]:
    by_subject: dict[int, list[tuple[float, str]]] = {}
    for member in names:
        m = _YALE_NAME.search(member)
        if m and int(m.group(1)) in subjects:
            az, el = int(m.group(2)), int(m.group(3))
            by_subject.setdefault(int(m.group(1)), []).append((float(np.hypot(az, el)), member))
    out = []
    for s in sorted(by_subject):
        ranked = sorted(by_subject[s])  # nearest to frontal light first; the name breaks ties
        out += [FaceRecord("yaleb", f"yaleB{s:02d}", member, is_reference=i < 5) for i, (_, member) in
                enumerate(ranked)]
    return out


@dataclass(frozen=True)
class FaceScores:
    """Comparison scores of one face protocol run: genuine (G,) and impostor (I,) distances (inf = a failed
    probe), and for identification the rank-1 hits over all probes."""

    genuine: np.ndarray
    impostor: np.ndarray
    rank1_hits: int
    n_probes: int
    fta: int
    n_samples: int
    n_subjects: int

    def summary(self) -> dict[str, float]:
        finite_g = np.where(np.isfinite(self.genuine), self.genuine, 1e9)
        finite_i = np.where(np.isfinite(self.impostor), self.impostor, 1e9)
        e = eer(genuine=finite_g, impostor=finite_i)
        out = {"eer": e.eer, "eer_threshold": e.threshold, "rank1": self.rank1_hits / max(self.n_probes, 1),
               "n_genuine": len(self.genuine), "n_impostor": len(self.impostor), "n_probes": self.n_probes,
               "fta": self.fta, "n_samples": self.n_samples, "n_subjects": self.n_subjects}
        out["fnmr_at_fmr1"] = fnmr_at_fmr(genuine=finite_g, impostor=finite_i, target_fmr=0.01)[1]
        # the encoder alone: the comparisons where both sides were acquired (the figure above includes FTA)
        g, i = self.genuine[np.isfinite(self.genuine)], self.impostor[np.isfinite(self.impostor)]
        if len(g) and len(i):
            out.update(eer_acquired=eer(genuine=g, impostor=i).eer, n_genuine_acquired=len(g),
                       n_impostor_acquired=len(i))
        if len(self.impostor) >= 3000:
            out["fnmr_at_fmr01"] = fnmr_at_fmr(genuine=finite_g, impostor=finite_i, target_fmr=0.001)[1]
        return out


def score_faces(records: Sequence[FaceRecord], embeddings: Sequence[np.ndarray | None], *,
                distance: str = "cosine", aggregate: str = "mean",
                pairwise: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> FaceScores:
    """Protocol scores from one embedding per record (None where the sample failed to be acquired).

    ``pairwise`` replaces the core distance (e.g. face_recognition's own Euclidean distance on its raw
    vectors); the aggregate over a subject's references is then always the mean.
    """
    if len(records) != len(embeddings):
        raise InvalidInput(f"{len(records)} records but {len(embeddings)} embeddings")
    model = "evaluation"
    matcher = Matcher(Threshold(value=0.5, distance=distance, model_id=model), aggregate=aggregate)
    subjects = sorted({r.subject for r in records}, key=_natural)
    refs: dict[str, list[np.ndarray]] = {s: [] for s in subjects}
    for r, e in zip(records, embeddings, strict=True):
        if r.is_reference and e is not None:
            refs[r.subject].append(np.asarray(e, dtype=np.float32))
    templates = {s: np.stack(v) for s, v in refs.items() if v}
    made = {s: make_template(v, subject_id=s, modality=Modality.FACE, model_id=model) for s, v in templates.items()}
    genuine, impostor, hits, n_probes = [], [], 0, 0
    for r, e in zip(records, embeddings, strict=True):
        if r.is_reference:
            continue
        n_probes += 1
        row = {}
        for s in subjects:
            if e is None or s not in templates:
                d = float("inf")
            elif pairwise is not None:
                d = float(pairwise(np.asarray(e)[None], templates[s]).mean())
            else:
                d = matcher.score(np.asarray(e, dtype=np.float32), made[s])[0]
            row[s] = d
            (genuine if s == r.subject else impostor).append(d)
        finite = {s: d for s, d in row.items() if np.isfinite(d)}
        if finite and min(finite, key=finite.__getitem__) == r.subject:
            hits += 1
    return FaceScores(genuine=np.asarray(genuine), impostor=np.asarray(impostor), rank1_hits=hits,
                      n_probes=n_probes, fta=sum(e is None for e in embeddings), n_samples=len(records),
                      n_subjects=len(subjects))
