"""Frozen value types shared by every layer: ids, modalities, templates, decisions, candidates."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import NewType

import numpy as np

from biometrix.core.errors import InvalidInput

SubjectId = NewType("SubjectId", str)

#: How a signature reached the app: scanned from paper (an image) or drawn on a pen pad (strokes). A signature
#: model card may carry a threshold set on each (named after it); a probe is judged by its capture's.
CAPTURES = ("scan", "pen")


class Modality(enum.Enum):
    """What kind of sample an embedding came from."""

    SIGNATURE = "signature"
    FACE = "face"


@dataclass(frozen=True)
class Threshold:
    """A decision threshold on a distance, bound to the model whose embeddings it applies to.

    ``value`` is a distance: a comparison is accepted when its distance is <= value.
    ``target_fmr`` is the false match rate it was calibrated at (None when set by hand),
    ``source`` says on what data it was set.
    """

    value: float
    model_id: str
    distance: str = "cosine"
    target_fmr: float | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if not np.isfinite(self.value):
            raise InvalidInput(f"threshold must be a finite number, got {self.value!r}")


@dataclass(frozen=True, eq=False)
class Template:
    """A subject's enrolled references for one modality and model.

    ``references`` is (K, D) float32, one L2-normalised embedding per enrollment sample;
    ``centroid`` is (D,), the re-normalised mean of the references (see ``core.templates``).
    """

    subject_id: SubjectId
    modality: Modality
    model_id: str
    references: np.ndarray
    centroid: np.ndarray

    @property
    def dim(self) -> int:
        return int(self.references.shape[1])

    @property
    def n_references(self) -> int:
        return int(self.references.shape[0])


@dataclass(frozen=True)
class Decision:
    """The answer of a 1:1 verification.

    ``distance`` is the aggregate distance the threshold was applied to; ``reference_distances``
    holds the probe's distance to each enrolled reference, in enrollment order. ``reference_scale`` is
    what those are divided by to sit on the threshold's scale: the references' mean pairwise distance
    under the ``normalized`` aggregate (whose distance is the mean of ``reference_scores``), 1 otherwise.

    ``band`` is the supervisor band in force (a distance, 0 = none: see ``core.decision_band``) and
    ``refer`` says the distance fell inside it: the label is then "Refer" and ``accepted`` is False, so
    a caller that only reads ``accepted`` treats a referral like a reject (nobody is let through
    without the supervisor). Under the three-zone policy ``threshold`` is the accept threshold and
    ``reject_threshold`` the reject one (``core.decision_band.three_zone``); the band is then 0.
    """

    subject_id: SubjectId
    modality: Modality
    accepted: bool
    distance: float
    threshold: Threshold
    reference_distances: tuple[float, ...] = field(default_factory=tuple)
    band: float = 0.0
    refer: bool = False
    reference_scale: float = 1.0
    reject_threshold: float | None = None

    def __post_init__(self) -> None:
        if self.refer and self.accepted:
            raise InvalidInput("a referred decision cannot be accepted")
        if not (self.reference_scale > 0 and math.isfinite(self.reference_scale)):
            raise InvalidInput(f"reference_scale must be a positive number, got {self.reference_scale!r}")

    @property
    def model_id(self) -> str:
        return self.threshold.model_id

    @property
    def reference_scores(self) -> tuple[float, ...]:
        """Each reference's distance on the threshold's scale (``reference_distances`` / ``reference_scale``)."""
        return tuple(d / self.reference_scale for d in self.reference_distances)

    @property
    def label(self) -> str:
        """"Accept", "Reject", or "Refer" (to a supervisor) when the distance fell inside the band."""
        if self.refer:
            return "Refer"
        return "Accept" if self.accepted else "Reject"


@dataclass(frozen=True)
class Candidate:
    """One row of a 1:N identification answer, best (smallest distance) first."""

    subject_id: SubjectId
    distance: float
    rank: int
    below_threshold: bool = False
