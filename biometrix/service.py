"""The use cases: enroll, verify and identify subjects. Wires capture, runtime, store and core.matcher."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from biometrix.capture.files import encode_png, load_gray
from biometrix.capture.pen import Stroke, load_strokes, rasterize, strokes_to_json
from biometrix.core.errors import InvalidInput
from biometrix.core.matcher import Matcher
from biometrix.core.types import Candidate, Decision, Modality, SubjectId, Template, Threshold
from biometrix.runtime.encoder import OnnxEncoder
from biometrix.runtime.model_card import ModelCard, load_card_for
from biometrix.runtime.paths import models_dir as default_models_dir
from biometrix.runtime.pipelines import SignaturePipeline
from biometrix.store import EnrollmentStore, SampleIn, StoreInfo, open_store
from biometrix.store.location import DbLocation, resolve_db_path

log = logging.getLogger(__name__)

#: A signature: an image file, an SVC2004 ``.txt`` / stroke ``.json`` pen file, an image array, or strokes.
SignatureInput = str | os.PathLike | np.ndarray | Sequence[Stroke]

PEN_SUFFIXES = (".txt", ".json")
STROKES_MEDIA_TYPE = "application/vnd.biometrix.strokes+json"


def load_signature(sample: SignatureInput) -> tuple[np.ndarray, SampleIn]:
    """A signature in any accepted form -> (grey image, the raw sample to keep in the store)."""
    if isinstance(sample, np.ndarray):
        gray = np.asarray(sample)
        return gray, SampleIn(data=encode_png(gray), media_type="image/png", meta={"source": "array"})
    if isinstance(sample, (str, os.PathLike)):
        path = Path(sample)
        if path.suffix.lower() in PEN_SUFFIXES:
            strokes = load_strokes(path)
            raw = strokes_to_json(strokes).encode("utf-8")
            meta = {"source": "pen-file", "filename": path.name}
            return rasterize(strokes), SampleIn(data=raw, media_type=STROKES_MEDIA_TYPE, meta=meta)
        gray = load_gray(path)
        return gray, SampleIn(data=encode_png(gray), media_type="image/png",
                              meta={"source": "image-file", "filename": path.name})
    if isinstance(sample, Sequence) and sample and all(isinstance(s, Stroke) for s in sample):
        strokes = list(sample)
        return rasterize(strokes), SampleIn(data=strokes_to_json(strokes).encode("utf-8"),
                                            media_type=STROKES_MEDIA_TYPE, meta={"source": "pen"})
    raise InvalidInput(f"a signature must be a file path, an image array or pen strokes, got {type(sample).__name__}")


class Biometrix:
    """Enroll, verify and identify against one enrollment database.

    Models load lazily on first use. ``create=False`` refuses to create a missing database (for the
    read-mostly commands, so that a typo in a path never leaves an empty database behind).

    >>> bx = Biometrix("bank.db")                                           # doctest: +SKIP
    >>> bx.enroll("alice", signatures=["ref1.png", "ref2.png", "ref3.png"])  # doctest: +SKIP
    >>> bx.verify("alice", signature="probe.png").accepted                   # doctest: +SKIP
    """

    def __init__(self, db_path: str | os.PathLike[str] | None = None, *, models_dir: str | Path | None = None,
                 prefer_gpu: bool = True, create: bool = True, signature_model: str | None = None,
                 threshold: Threshold | None = None) -> None:
        self.location: DbLocation = resolve_db_path(db_path)
        self.models_dir = Path(models_dir) if models_dir is not None else default_models_dir()
        self.prefer_gpu = prefer_gpu
        self._signature_model = signature_model
        self._threshold_override = threshold
        self._pipelines: dict[Modality, SignaturePipeline] = {}
        self._card: ModelCard | None = None
        self._create = create
        self._store: EnrollmentStore | None = None

    @property
    def store(self) -> EnrollmentStore:
        """The enrollment store, opened on first use (so a failed enroll never leaves an empty file)."""
        if self._store is None:
            log.info("enrollment database: %s (%s)", self.location.path, self.location.reason)
            self._store = open_store(self.location.path, create=self._create)
        return self._store

    # --- lifecycle ---------------------------------------------------------------------------------

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Biometrix:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- models ------------------------------------------------------------------------------------

    def signature_card(self) -> ModelCard:
        """The card of the signature model in use, read once (without loading the model)."""
        if self._card is None:
            self._card = load_card_for(self.models_dir, model_id=self._signature_model, modality=Modality.SIGNATURE)
        return self._card

    def _signature_pipeline(self) -> SignaturePipeline:
        if Modality.SIGNATURE not in self._pipelines:
            card = self.signature_card()
            encoder = OnnxEncoder(card, card.onnx_path(self.models_dir), prefer_gpu=self.prefer_gpu)
            self._pipelines[Modality.SIGNATURE] = SignaturePipeline(encoder)
        return self._pipelines[Modality.SIGNATURE]

    def threshold(self) -> Threshold:
        """The signature threshold in force: the override given at construction, else the card's default."""
        if self._threshold_override is not None:
            return self._threshold_override
        return self.signature_card().default_threshold()

    def _matcher(self) -> Matcher:
        return Matcher(self.threshold(), aggregate=self.signature_card().aggregate)

    # --- use cases ---------------------------------------------------------------------------------

    def enroll(self, subject_id: str, *, signatures: Sequence[SignatureInput], display_name: str | None = None,
               replace: bool = False) -> Template:
        """Enroll ``signatures`` (at least one; five is the protocol's choice) as the subject's references.

        Every sample is read and encoded before anything is written; the write is one transaction.
        """
        subject_id = _check_subject_id(subject_id)
        if isinstance(signatures, (str, os.PathLike, np.ndarray)) or not signatures:
            raise InvalidInput("enroll needs a list of one or more signatures")
        loaded = [load_signature(s) for s in signatures]
        pipe = self._signature_pipeline()
        emb = pipe.embed_many([img for img, _ in loaded])
        return self.store.enroll(subject_id, modality=Modality.SIGNATURE, model_id=pipe.model_id,
                                 samples=[raw for _, raw in loaded], embeddings=emb, display_name=display_name,
                                 replace=replace)

    def verify(self, subject_id: str, *, signature: SignatureInput) -> Decision:
        """1:1: compare the probe with every reference of the subject; the decision is audited."""
        subject_id = _check_subject_id(subject_id)
        card = self.signature_card()
        template = self.store.template(subject_id, modality=Modality.SIGNATURE, model_id=card.model_id)
        img, raw = load_signature(signature)
        probe = self._signature_pipeline().embed(img)
        decision = self._matcher().verify(probe, template)
        self.store.record("verify", subject_id=subject_id, modality=Modality.SIGNATURE.value,
                          model_id=decision.model_id, distance=decision.distance,
                          threshold=decision.threshold.value, decision=decision.label.lower(),
                          details={"reference_distances": list(decision.reference_distances),
                                   "aggregate": card.aggregate, "probe_sha256": hashlib.sha256(raw.data).hexdigest()})
        return decision

    def identify(self, *, signature: SignatureInput, top_k: int = 5) -> list[Candidate]:
        """1:N: the top_k enrolled subjects closest to the probe, best first; the search is audited."""
        if top_k < 1:
            raise InvalidInput(f"top_k must be at least 1, got {top_k}")
        card = self.signature_card()
        img, raw = load_signature(signature)
        probe = self._signature_pipeline().embed(img)
        gallery = self.store.gallery(modality=Modality.SIGNATURE, model_id=card.model_id)
        candidates = self._matcher().identify(probe, gallery, top_k=top_k)
        best = candidates[0] if candidates else None
        self.store.record("identify", subject_id=best.subject_id if best else None,
                          modality=Modality.SIGNATURE.value, model_id=card.model_id,
                          distance=best.distance if best else None, threshold=self.threshold().value,
                          decision="match" if best and best.below_threshold else "no-match",
                          details={"candidates": [[c.subject_id, c.distance] for c in candidates],
                                   "gallery_size": len(gallery),
                                   "probe_sha256": hashlib.sha256(raw.data).hexdigest()})
        return candidates

    def info(self) -> StoreInfo:
        return self.store.info()


def _check_subject_id(subject_id: str) -> SubjectId:
    if not isinstance(subject_id, str) or not subject_id.strip():
        raise InvalidInput("a subject id must be a non-empty string")
    if len(subject_id) > 128 or any(ord(c) < 32 for c in subject_id):
        raise InvalidInput("a subject id must be at most 128 printable characters")
    return SubjectId(subject_id.strip())
