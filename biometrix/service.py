"""The use cases: enroll, verify and identify subjects. Wires capture, runtime, store and core.matcher."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import cast

import numpy as np

from biometrix import identifiers
from biometrix.capture.files import decode_gray, decode_rgb, encode_png, load_gray, load_rgb
from biometrix.capture.pen import (
    Stroke,
    load_strokes,
    rasterize,
    stroke_arrays,
    strokes_from_json,
    strokes_to_json,
)
from biometrix.core.decision_band import refer_band as band_label
from biometrix.core.errors import (
    AccessDenied,
    AlreadyEnrolled,
    BiometrixError,
    CameraUnavailable,
    InvalidInput,
    NotEnrolled,
)
from biometrix.core.matcher import Matcher
from biometrix.core.roles import Action, Operator, Role, lowest_role_for
from biometrix.core.roles import role as parse_role
from biometrix.core.types import Candidate, Decision, Modality, SubjectId, Template, Threshold
from biometrix.preprocess.face_detect import to_rgb
from biometrix.preprocess.pen_dynamics import pen_comparable
from biometrix.runtime.encoder import OnnxEncoder
from biometrix.runtime.model_card import PREFERRED_MODELS, ModelCard, load_card_for
from biometrix.runtime.paths import models_dir as default_models_dir
from biometrix.runtime.pen_comparator import PEN_AGGREGATE, PenComparatorCard, load_pen_card, pen_verify
from biometrix.runtime.pipelines import FacePipeline, SignaturePipeline, each_named
from biometrix.store import (
    AuditCheck,
    AuditEntry,
    EnrollmentStore,
    KeySource,
    OperatorInfo,
    RestoreReport,
    SampleIn,
    StoredSample,
    StoreInfo,
    SubjectInfo,
    open_store,
    restore_database,
)
from biometrix.store.base import EnrollmentPart
from biometrix.store.files import discard_unused
from biometrix.store.location import DbLocation, resolve_db_path

log = logging.getLogger(__name__)

#: A signature: an image file, an SVC2004 ``.txt`` / stroke ``.json`` pen file, an image array, or strokes.
SignatureInput = str | os.PathLike | np.ndarray | Sequence[Stroke]

#: A face: an image file (any format and depth the loader reads: grey, 16-bit, alpha) or an image array.
FaceInput = str | os.PathLike | np.ndarray

Pipeline = SignaturePipeline | FacePipeline

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


def load_face(sample: FaceInput) -> tuple[np.ndarray, SampleIn]:
    """A face photo in any accepted form -> (RGB uint8 image, the raw sample to keep in the store)."""
    if isinstance(sample, np.ndarray):
        img = np.asarray(sample)
        if img.dtype != np.uint8 or img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (1, 3, 4)):
            raise InvalidInput(f"a face image array must be uint8 (H, W) or (H, W, 3), got {img.dtype} {img.shape}")
        rgb = to_rgb(img)
        return rgb, SampleIn(data=encode_png(rgb), media_type="image/png", meta={"source": "array"})
    if isinstance(sample, (str, os.PathLike)):
        path = Path(sample)
        rgb = load_rgb(path)
        return rgb, SampleIn(data=encode_png(rgb), media_type="image/png",
                             meta={"source": "image-file", "filename": path.name})
    raise InvalidInput(f"a face must be an image file path or an image array, got {type(sample).__name__}")


def signature_capture(sample: SignatureInput) -> str:
    """How a signature given to ``load_signature`` was captured: "pen" for a pen file or strokes, else "scan"
    (what ``capture_of`` says of the sample it loads, known before loading it)."""
    if isinstance(sample, (str, os.PathLike)):
        return "pen" if Path(sample).suffix.lower() in PEN_SUFFIXES else "scan"
    return "scan" if isinstance(sample, np.ndarray) else "pen"


def capture_of(modality: Modality, raw: SampleIn) -> str | None:
    """How a probe was captured, which picks its threshold (``ModelCard.capture_threshold``): "pen" for pen
    strokes, "scan" for a signature image (a scan or a photo of paper); None for a face."""
    if modality is not Modality.SIGNATURE:
        return None
    return "pen" if raw.media_type == STROKES_MEDIA_TYPE else "scan"


def _stroke_arrays(data: bytes) -> list[np.ndarray]:
    """A stored or probe pen sample (stroke JSON) as the pen comparator's stroke arrays."""
    return stroke_arrays(strokes_from_json(data.decode("utf-8")))


def stored_sample_input(sample: StoredSample) -> np.ndarray:
    """A raw sample kept in the store as its pipeline's input: pen strokes drawn as the signature pad draws
    them, images decoded (grey for signatures, RGB for faces) as the loaders decode files."""
    if sample.media_type == STROKES_MEDIA_TYPE:
        return rasterize(strokes_from_json(sample.data.decode("utf-8")))
    if sample.modality is Modality.FACE:
        return decode_rgb(sample.data)
    return decode_gray(sample.data)


@dataclass(frozen=True)
class RetemplateReport:
    """What ``Biometrix.retemplate`` did for one modality: templates made for ``model_id``, subjects whose
    kept samples were refused (with the reason; nothing written for them), and subjects already on it."""

    modality: Modality
    model_id: str
    made: tuple[SubjectId, ...]
    failed: tuple[tuple[SubjectId, str], ...]
    up_to_date: int


class Biometrix:
    """Enroll, verify and identify subjects by signature and by face against one enrollment database.

    Models load lazily on first use. ``create=False`` refuses to create a missing database (for the
    read-mostly commands, so that a typo in a path never leaves an empty database behind). A threshold
    given here (``threshold`` for signatures, ``face_threshold`` for faces) replaces the model card's default.
    ``refer_band`` is the supervisor band of ``verify`` as a fraction of the threshold (0.1: a distance within
    threshold x (1 ± 0.1) is referred to a supervisor; 0, the default, turns it off).

    **Operators.** Access control starts when the database's first operator, an admin, is created
    (``add_operator`` with nobody logged in; the desktop app insists on it at first start). From then on
    every use case needs ``login`` first and is allowed by the operator's role (core/roles.py: teller enrolls
    and verifies; supervisor also resolves Refer decisions, erases subjects, reads the audit log, backs up;
    admin also sets thresholds, restores, manages operators and keys), and every audit row names the
    operator. Before the first admin exists, use cases run unattributed.

    **Encryption at rest.** ``key`` says where the database's key-encryption key comes from
    (store/crypto.py; default: what the database records, a key file for a new one).

    >>> bx = Biometrix("bank.db")                                            # doctest: +SKIP
    >>> bx.enroll("alice", signatures=["ref1.png", "ref2.png", "ref3.png"], faces=["alice.jpg"])  # doctest: +SKIP
    >>> bx.verify("alice", signature="probe.png").accepted                    # doctest: +SKIP
    >>> bx.verify("alice", face="kiosk.jpg").accepted                         # doctest: +SKIP
    >>> bx.identify(face="kiosk.jpg")[0].subject_id                           # doctest: +SKIP
    """

    def __init__(self, db_path: str | os.PathLike[str] | None = None, *, models_dir: str | Path | None = None,
                 prefer_gpu: bool = True, create: bool = True, signature_model: str | None = None,
                 face_model: str | None = None, face_detector: str = "mtcnn", threshold: Threshold | None = None,
                 face_threshold: Threshold | None = None, refer_band: float = 0.0,
                 key: KeySource | None = None, pen_comparator: bool = True) -> None:
        self.refer_band = _check_band(refer_band)
        self.pen_comparator = pen_comparator
        self._pen_card: PenComparatorCard | None = None
        self._pen_card_read = False
        self.location: DbLocation = resolve_db_path(db_path)
        self.models_dir = Path(models_dir) if models_dir is not None else default_models_dir()
        self.prefer_gpu = prefer_gpu
        self._model_ids = {Modality.SIGNATURE: signature_model, Modality.FACE: face_model}
        self._thresholds = {Modality.SIGNATURE: threshold, Modality.FACE: face_threshold}
        self._face_detector = face_detector
        self._pipelines: dict[Modality, Pipeline] = {}
        self._cards: dict[Modality, ModelCard] = {}
        self._create = create
        self._key = key
        self._store: EnrollmentStore | None = None
        self._operator: Operator | None = None

    @property
    def store(self) -> EnrollmentStore:
        """The enrollment store, opened on first use (so a failed enroll never leaves an empty file)."""
        if self._store is None:
            log.info("enrollment database: %s (%s)", self.location.path, self.location.reason)
            self._store = open_store(self.location.path, create=self._create, key=self._key)
            self._store.actor = None if self._operator is None else self._operator.name
        return self._store

    # --- operators ---------------------------------------------------------------------------------

    @property
    def operator(self) -> Operator | None:
        """The logged-in operator (None: nobody)."""
        return self._operator

    def access_control(self) -> bool:
        """Whether the database has operators, so that every use case needs a login."""
        return self.store.has_operators()

    def login(self, name: str, password: str) -> Operator:
        """Log an operator in (argon2id check; 5 failures in a row lock a teller's or supervisor's account for 15
        minutes, and make an admin wait, longer after each further failure). Audited."""
        self._operator = None
        self.store.actor = None
        who = self.store.login(name, password)
        self._operator = who
        self.store.actor = who.name
        return who

    def logout(self) -> None:
        if self._operator is not None and self._store is not None:
            self._store.record("logout", subject_id=None, modality=None, model_id=None, decision="ok")
        self._operator = None
        if self._store is not None:
            self._store.actor = None

    def _require(self, action: Action) -> None:
        """AccessDenied unless the logged-in operator's role may ``action`` (open until the first admin exists).

        The account is re-read each time, so a disabled account or a changed role takes effect at once.
        """
        if self._operator is None:
            if self.store.has_operators():
                raise AccessDenied(f"log in first: this database has operators, and to {action.value} needs "
                                   f"{_a(lowest_role_for(action))} or above (--operator NAME)")
            return
        account = next((o for o in self.store.operators() if o.name == self._operator.name), None)
        if account is None or account.disabled:
            self._operator = None
            self.store.actor = None
            raise AccessDenied("your operator account was disabled or removed; log in again")
        current = Operator(account.name, Role(account.role))
        self._operator = current
        if not current.may(action):
            raise AccessDenied(f"operator {current.name!r} is {_a(current.role)}: to {action.value} needs "
                               f"{_a(lowest_role_for(action))} or above")

    def add_operator(self, name: str, role: Role | str, password: str) -> None:
        """Create an operator. With none in the database yet, this creates the first admin (no login needed,
        and the role must be admin); afterwards an admin must be logged in."""
        who = parse_role(role)
        if not self.store.has_operators():
            if who is not Role.ADMIN:
                raise AccessDenied("the first operator of a database must be an admin (--role admin)")
            self.store.add_operator(name, who, password, first=True)
            return
        self._require(Action.MANAGE_OPERATORS)
        self.store.add_operator(name, who, password)

    def update_operator(self, name: str, *, role: Role | str | None = None, password: str | None = None,
                        disabled: bool | None = None, unlock: bool = False) -> None:
        """An admin changes an operator's role, password, disabled flag, or unlocks it. Audited."""
        self._require(Action.MANAGE_OPERATORS)
        self.store.update_operator(name, role=None if role is None else parse_role(role), password=password,
                                   disabled=disabled, unlock=unlock)

    def change_password(self, old: str, new: str) -> None:
        """The logged-in operator changes their own password (the old one is checked again)."""
        if self._operator is None:
            raise AccessDenied("log in first to change your password")
        name = self._operator.name
        self.store.login(name, old)
        self.store.update_operator(name, password=new)

    def operators(self) -> list[OperatorInfo]:
        self._require(Action.MANAGE_OPERATORS)
        return self.store.operators()

    # --- keys --------------------------------------------------------------------------------------

    def rotate_key(self, new: KeySource | None = None) -> dict[str, int]:
        """Re-encrypt the database under a fresh data key (wrapped by ``new``: default a key file). Admin."""
        self._require(Action.MANAGE_KEYS)
        return self.store.rotate_key(new if new is not None else KeySource())

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

    def card(self, modality: Modality = Modality.SIGNATURE) -> ModelCard:
        """The card of the model in use for ``modality``, read once (without loading the model)."""
        if modality not in self._cards:
            self._cards[modality] = load_card_for(self.models_dir, model_id=self._model_ids[modality],
                                                  modality=modality, prefer=PREFERRED_MODELS.get(modality))
        return self._cards[modality]

    def signature_card(self) -> ModelCard:
        return self.card(Modality.SIGNATURE)

    def pen_card(self) -> PenComparatorCard | None:
        """The pen comparator's card (read once), or None where it is switched off or not installed."""
        if not self.pen_comparator:
            return None
        if not self._pen_card_read:
            self._pen_card, self._pen_card_read = load_pen_card(self.models_dir), True
        return self._pen_card

    def _pen_decision(self, subject_id: SubjectId, template: Template, raw: SampleIn) -> Decision | None:
        """The pen comparator's decision for a pen probe when every reference of the template was drawn with a
        pen too; None (the image encoder decides) otherwise."""
        card = self.pen_card()
        if card is None or raw.media_type != STROKES_MEDIA_TYPE:
            return None
        refs = self.store.template_samples(subject_id, modality=Modality.SIGNATURE, model_id=template.model_id)
        if len(refs) < 2 or any(r.media_type != STROKES_MEDIA_TYPE for r in refs):
            return None
        probe, references = _stroke_arrays(raw.data), [_stroke_arrays(r.data) for r in refs]
        if not all(pen_comparable(s) for s in (probe, *references)):
            return None  # pen data without its time, or far longer than a signature: only its ink is compared
        override = self._thresholds[Modality.SIGNATURE]
        threshold = override if override is not None and override.model_id == card.model_id else card.threshold
        return pen_verify(probe, references, subject_id=subject_id, threshold=threshold)

    def pipeline(self, modality: Modality) -> Pipeline:
        """The loaded pipeline of ``modality`` (loads the model, and the face detector, on first use)."""
        if modality not in self._pipelines:
            card = self.card(modality)
            encoder = OnnxEncoder(card, card.onnx_path(self.models_dir), prefer_gpu=self.prefer_gpu)
            if modality is Modality.FACE:
                from biometrix.runtime.face_detector import make_detector

                self._pipelines[modality] = FacePipeline(encoder, make_detector(self._face_detector))
            else:
                self._pipelines[modality] = SignaturePipeline(encoder)
        return self._pipelines[modality]

    def threshold(self, modality: Modality = Modality.SIGNATURE, *, capture: str | None = None) -> Threshold:
        """The threshold in force for ``modality``: the one given at construction, else the card's threshold for
        the probe's ``capture`` ("scan" or "pen", see ``capture_of``) where it is stricter than the card's
        default, else that default (``ModelCard.capture_threshold``)."""
        override = self._thresholds[modality]
        return override if override is not None else self.card(modality).capture_threshold(capture)

    def _matcher(self, modality: Modality, capture: str | None) -> Matcher:
        return Matcher(self.threshold(modality, capture=capture), aggregate=self.card(modality).aggregate)

    def _load_probe(self, signature: SignatureInput | None, face: FaceInput | None
                    ) -> tuple[Modality, np.ndarray, SampleIn]:
        """Exactly one probe -> (its modality, its pipeline input, its raw sample); nothing is embedded yet."""
        if (signature is None) == (face is None):
            raise InvalidInput("give exactly one probe: a signature or a face")
        if signature is not None:
            return Modality.SIGNATURE, *load_signature(signature)
        return Modality.FACE, *load_face(face)

    def _probe(self, signature: SignatureInput | None, face: FaceInput | None
               ) -> tuple[Modality, np.ndarray, SampleIn]:
        """Exactly one probe -> (its modality, its embedding, its raw sample)."""
        modality, x, raw = self._load_probe(signature, face)
        return modality, self.pipeline(modality).embed(x), raw

    # --- use cases ---------------------------------------------------------------------------------

    def enroll(self, subject_id: str, *, signatures: Sequence[SignatureInput] | None = None,
               faces: Sequence[FaceInput] | None = None, display_name: str | None = None,
               replace: bool = False) -> list[Template]:
        """Enroll reference ``signatures`` (five is the protocol's choice) and/or ``faces`` of one subject.

        Every sample of every modality is read, checked and encoded before anything is written; the write
        is one transaction, so a subject is enrolled with all the given modalities or not at all.
        Returns the templates, signature first.
        """
        subject_id = _check_subject_id(subject_id)
        display_name = identifiers.display_name(display_name)
        self._require(Action.ENROLL)
        wanted = [(Modality.SIGNATURE, signatures, load_signature), (Modality.FACE, faces, load_face)]
        if all(samples is None for _, samples, _ in wanted):
            raise InvalidInput("enroll needs signatures or faces (or both)")
        parts = []
        for modality, samples, load in wanted:
            if samples is None:
                continue
            if isinstance(samples, (str, os.PathLike, np.ndarray)) or not samples:
                raise InvalidInput(f"enroll needs a list of one or more {modality.value}s")
            if self.card(modality).aggregate == "normalized" and len(samples) < 2:
                raise InvalidInput(f"the {modality.value} model {self.card(modality).model_id} scores a probe against "
                                   "the spread of the references: enroll at least 2 (5 is the protocol's choice)")
            names = [_sample_name(s, modality, i, len(samples)) for i, s in enumerate(samples)]
            loaded = each_named(load, samples, names)
            pipe = self.pipeline(modality)
            emb = pipe.embed_many([img for img, _ in loaded], names=names)
            parts.append(EnrollmentPart(modality=modality, model_id=pipe.model_id,
                                        samples=tuple(raw for _, raw in loaded), embeddings=emb))
        return self.store.enroll_many(subject_id, parts, display_name=display_name, replace=replace)

    def verify(self, subject_id: str, *, signature: SignatureInput | None = None,
               face: FaceInput | None = None, refer_band: float | None = None) -> Decision:
        """1:1: compare the probe (a signature or a face) with every reference of the subject; audited.

        A pen probe against a subject whose references were all drawn with a pen, both carrying their time, is
        decided by the pen comparator (``pen_card()``, ``runtime.pen_comparator``) when it is installed and not
        switched off; every other probe by the modality's image model.

        ``refer_band`` (a fraction of the threshold; None: the one given at construction) sets the
        supervisor band: a distance within ``threshold x (1 ± refer_band)`` gives ``Decision.refer``
        (label "Refer", not accepted) and the audit row's decision "refer". The band is recorded in the
        row's details either way.
        """
        fraction = self.refer_band if refer_band is None else _check_band(refer_band)
        subject_id = _check_subject_id(subject_id)
        self._require(Action.VERIFY)
        modality = Modality.SIGNATURE if face is None else Modality.FACE
        card = self.card(modality)
        template = self._template(subject_id, modality, card.model_id)
        modality, x, raw = self._load_probe(signature, face)
        capture = capture_of(modality, raw)
        # the pen comparator decides without the image model, which is then neither loaded nor run
        decision = self._pen_decision(subject_id, template, raw) if capture == "pen" else None
        aggregate = card.aggregate if decision is None else PEN_AGGREGATE
        if decision is None:
            decision = self._matcher(modality, capture).verify(self.pipeline(modality).embed(x), template)
        band = abs(decision.threshold.value) * fraction
        if band > 0:
            refer = band_label(decision.distance, decision.threshold, band) == "Refer"
            decision = replace(decision, band=band, refer=refer, accepted=decision.accepted and not refer)
        self.store.record("verify", subject_id=subject_id, modality=modality.value,
                          model_id=decision.model_id, distance=decision.distance,
                          threshold=decision.threshold.value, decision=decision.label.lower(),
                          details={"reference_distances": list(decision.reference_distances),
                                   "reference_scale": decision.reference_scale,
                                   "aggregate": aggregate, "refer_band": fraction, "band": band,
                                   "capture": capture, "threshold_source": decision.threshold.source,
                                   "probe_sha256": hashlib.sha256(raw.data).hexdigest()})
        return decision

    def _template(self, subject_id: SubjectId, modality: Modality, model_id: str) -> Template:
        """The subject's template of ``model_id``; when it has only other models' templates, the error says how
        to make one from the kept samples."""
        try:
            return self.store.template(subject_id, modality=modality, model_id=model_id)
        except NotEnrolled as err:
            others = self.store.template_models(modality=modality).get(subject_id)
            if not others:
                raise
            raise NotEnrolled(f"{err} (it has one for {', '.join(others)}): an admin runs 'biometrix db retemplate' "
                              "to make it from the samples kept in the database") from None

    def identify(self, *, signature: SignatureInput | None = None, face: FaceInput | None = None,
                 top_k: int = 5) -> list[Candidate]:
        """1:N: the top_k enrolled subjects closest to the probe, best first; the search is audited."""
        if top_k < 1:
            raise InvalidInput(f"top_k must be at least 1, got {top_k}")
        self._require(Action.VERIFY)
        modality, probe, raw = self._probe(signature, face)
        card = self.card(modality)
        gallery = self.store.gallery(modality=modality, model_id=card.model_id)
        capture = capture_of(modality, raw)
        threshold = self.threshold(modality, capture=capture)
        candidates = Matcher(threshold, aggregate=card.aggregate).identify(probe, gallery, top_k=top_k)
        best = candidates[0] if candidates else None
        self.store.record("identify", subject_id=best.subject_id if best else None,
                          modality=modality.value, model_id=card.model_id,
                          distance=best.distance if best else None, threshold=threshold.value,
                          decision="match" if best and best.below_threshold else "no-match",
                          details={"candidates": [[c.subject_id, c.distance] for c in candidates],
                                   "gallery_size": len(gallery), "capture": capture,
                                   "threshold_source": threshold.source,
                                   "probe_sha256": hashlib.sha256(raw.data).hexdigest()})
        return candidates

    def capture_face(self, camera: int | str | os.PathLike[str], *, max_frames: int = 60) -> np.ndarray:
        """The first of up to ``max_frames`` frames of ``camera`` (an index or a video file) that shows one
        face passing the quality checks; otherwise the last frame's reason (NoFaceFound, LowQuality...)."""
        from biometrix.capture.camera import OpenCVCamera

        pipe = cast(FacePipeline, self.pipeline(Modality.FACE))
        last: InvalidInput | None = None
        with OpenCVCamera(camera) as cam:
            for _ in range(max_frames):
                frame = cam.read()
                if frame is None:
                    break
                try:
                    pipe.detect(frame)
                except InvalidInput as err:  # NoFaceFound, MultipleFaces, LowQuality: try the next frame
                    last = err
                    continue
                return frame
        if last is not None:
            raise last
        raise CameraUnavailable(f"{cam.description} delivered no frame")

    def retemplate(self, modality: Modality | None = None, *,
                   progress: Callable[[int, int], None] | None = None) -> list[RetemplateReport]:
        """Make templates for the models in use from the raw samples kept in the database.

        For each modality (``None``: both), every subject that has templates of other models but none of the
        model in use gets one, made from the samples of its newest template, re-read and encoded by the
        model in use. Each subject is written in its own transaction and audited as an ``enroll`` row with
        ``retemplated_from`` in its details; the old templates are kept (going back to the old model needs
        nothing). A subject whose kept samples the new pipeline refuses (no face found by its detector,
        say) is reported with the reason, and nothing is written for it. ``progress(done, total)`` is called
        after each subject.
        """
        self._require(Action.MANAGE_MODELS)
        reports = []
        for mod in (Modality.SIGNATURE, Modality.FACE) if modality is None else (Modality(modality),):
            index = self.store.template_models(modality=mod)
            if not index:
                continue  # nobody enrolled by this modality: its model need not even be installed
            card = self.card(mod)
            todo = sorted((sid, models[0]) for sid, models in index.items() if card.model_id not in models)
            made: list[SubjectId] = []
            failed: list[tuple[SubjectId, str]] = []
            current = len(index) - len(todo)
            for n, (subject_id, source) in enumerate(todo):
                try:
                    self._retemplate_one(subject_id, mod, card, source)
                    made.append(subject_id)
                except AlreadyEnrolled:  # enrolled under the model in use meanwhile, by another session
                    current += 1
                except InvalidInput as err:  # a kept sample the new pipeline refuses: report it, write nothing
                    failed.append((subject_id, str(err)))
                    log.warning("retemplate %s (%s, from %s): %s", subject_id, mod.value, source, err)
                if progress is not None:
                    progress(n + 1, len(todo))
            reports.append(RetemplateReport(modality=mod, model_id=card.model_id, made=tuple(made),
                                            failed=tuple(failed), up_to_date=current))
        return reports

    def _retemplate_one(self, subject_id: SubjectId, modality: Modality, card: ModelCard, source: str) -> None:
        stored = self.store.template_samples(subject_id, modality=modality, model_id=source)
        if card.aggregate == "normalized" and len(stored) < 2:
            raise InvalidInput(f"its {source} template has {len(stored)} reference; the {modality.value} model "
                               f"{card.model_id} needs at least 2: enroll the subject again")
        emb = self.pipeline(modality).embed_many([stored_sample_input(s) for s in stored])
        samples = tuple(SampleIn(data=s.data, media_type=s.media_type, meta=s.meta) for s in stored)
        part = EnrollmentPart(modality=modality, model_id=card.model_id, samples=samples, embeddings=emb,
                              details={"retemplated_from": source, "sample_ids": [s.sample_id for s in stored]})
        self.store.enroll_many(subject_id, [part])

    def info(self) -> StoreInfo:
        self._require(Action.VERIFY)
        return self.store.info()

    def erase(self, subject_id: str) -> str:
        """Right to erasure: remove the subject's samples, templates and record; returns the audit pseudonym."""
        subject_id = _check_subject_id(subject_id)
        self._require(Action.DELETE_SUBJECT)
        return self.store.erase_subject(subject_id)

    def verify_audit(self) -> AuditCheck:
        """Re-compute the audit log's hash chain."""
        self._require(Action.READ_AUDIT)
        return self.store.verify_audit()

    def audit(self, *, subject_id: str | None = None, event: str | None = None,
              limit: int | None = None) -> list[AuditEntry]:
        """Audit rows, oldest first (``limit``: the most recent ones); ``subject_id`` is compared in NFC."""
        self._require(Action.READ_AUDIT)
        if subject_id is not None:
            subject_id = identifiers.normalized(subject_id)
        return self.store.audit(subject_id=subject_id, event=event, limit=limit)

    def backup(self, destination: str | os.PathLike[str]) -> AuditCheck:
        """A checked online backup of the database to the new file ``destination``."""
        self._require(Action.BACKUP)
        check = self.store.backup(Path(destination))
        self.store.record("backup", subject_id=None, modality=None, model_id=None, decision="ok",
                          details={"to": str(Path(destination).resolve()), "audit_rows": check.n_rows,
                                   "audit_head": check.head})
        return check

    def restore(self, source: str | os.PathLike[str]) -> RestoreReport:
        """Replace this database with the checked backup ``source`` (admin; stop other users first)."""
        self._require(Action.MANAGE_MODELS)
        self.close()
        report = restore_database(self.location.path, Path(source))
        try:  # the restored database records who restored it (when this key opens it)
            self.store.record("restore", subject_id=None, modality=None, model_id=None, decision="ok",
                              details={"from": str(Path(source).resolve()),
                                       "kept": None if report.kept is None else str(report.kept)})
        except BiometrixError as err:
            log.warning("restored, but the restore could not be audited in the restored database: %s", err)
            self.close()
        return report

    def resolve(self, event_id: int, *, accept: bool, note: str = "") -> int:
        """A supervisor settles a Refer decision (the audit row ``event_id``) as accepted or rejected.

        The settlement is a new audit row ("resolve") naming the referred row; a row is settled once.
        Returns the new row's id.
        """
        self._require(Action.RESOLVE_REFER)
        if not isinstance(note, str) or len(note) > 500:
            raise InvalidInput("a resolution note is text of at most 500 characters")
        refer = self.store.audit_entry(event_id)
        if refer is None or refer.event != "verify" or refer.decision != "refer":
            raise NotEnrolled(f"audit row {event_id} is not a referred verification")
        if self.store.resolution_of(event_id) is not None:
            raise InvalidInput(f"the referred verification {event_id} is already resolved")
        return self.store.record("resolve", subject_id=refer.subject_id, modality=refer.modality,
                                 model_id=refer.model_id, distance=refer.distance, threshold=refer.threshold,
                                 decision="accept" if accept else "reject",
                                 details={"refers_to": event_id, "note": note})

    def record_settings(self, changes: dict[str, object]) -> int:
        """An admin changes thresholds, models or the refer band (kept by the app's settings): the change is
        audited ("settings") with the operator before the app adopts it. Returns the audit row id."""
        self._require(Action.SET_THRESHOLDS)
        if not isinstance(changes, dict) or not changes:
            raise InvalidInput("record_settings needs a non-empty dict of changes")
        return self.store.record("settings", subject_id=None, modality=None, model_id=None, decision="changed",
                                 details={"changes": changes})

    def subjects(self, query: str | None = None) -> list[SubjectInfo]:
        """Enrolled subjects (whose id or display name contains ``query``), sorted by id."""
        self._require(Action.VERIFY)
        return self.store.find_subjects(identifiers.normalized(query)) if query else self.store.subjects()

    def samples(self, subject_id: str, *, modality: Modality) -> list[StoredSample]:
        """The subject's enrolled raw samples (to show the references beside a decision)."""
        self._require(Action.VERIFY)
        return self.store.samples(_check_subject_id(subject_id), modality=modality)

    def resume(self, operator: Operator | None) -> None:
        """Carry a login already checked in this process over to this instance (the desktop app re-creates its
        service when settings change). The account is re-read on every action, as after ``login``."""
        self._operator = operator
        if self._store is not None:
            self._store.actor = None if operator is None else operator.name


def restore_db(db_path: str | os.PathLike[str] | None, source: str | os.PathLike[str]) -> RestoreReport:
    """Replace the database (located as Biometrix does) with the checked backup ``source``; stop other users first."""
    location = resolve_db_path(db_path)
    return restore_database(location.path, Path(source))


def discard_unused_database(path: str | os.PathLike[str]) -> bool:
    """Delete the database file at ``path`` (with its -wal/-shm and its key) when nothing is enrolled in it: what a
    failed command leaves where no database was before it. Returns whether it was deleted."""
    return discard_unused(Path(path))


def _sample_name(sample: object, modality: Modality, index: int, count: int) -> str:
    """How an error names one sample of an enrollment: its file, else its place ("signature 2 of 5")."""
    if isinstance(sample, (str, os.PathLike)):
        return os.fspath(sample)
    return f"{modality.value} {index + 1} of {count}"


def _a(role: Role) -> str:
    return ("an " if role.value[0] in "aeiou" else "a ") + role.value


def _check_band(fraction: float) -> float:
    """A supervisor band as a fraction of the threshold: a finite number in [0, 1)."""
    try:
        value = float(fraction)
    except (TypeError, ValueError):
        raise InvalidInput(f"the refer band must be a number, got {fraction!r}") from None
    if not 0.0 <= value < 1.0:  # also refuses NaN
        raise InvalidInput(f"the refer band is a fraction of the threshold in [0, 1), got {fraction!r}")
    return value


def _check_subject_id(subject_id: str) -> SubjectId:
    """Every subject id that comes in, in the one form it is stored in (``identifiers.subject_id``: NFC, no
    invisible or bidi-control characters, no cross-script look-alikes)."""
    return identifiers.subject_id(subject_id)
