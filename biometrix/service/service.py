"""The use cases: enroll, verify and identify subjects. Wires capture, runtime, store and core.matcher; the
operators, the models and policy that decide, and administration are its mixins (access, trust, admin)."""

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
from biometrix.core.consistency import CONSISTENCY_THRESHOLD, ReferenceCheck, check_references
from biometrix.core.decision_band import refer_band as band_label
from biometrix.core.decision_band import three_zone
from biometrix.core.errors import (
    AlreadyEnrolled,
    CameraUnavailable,
    InvalidInput,
    NotEnrolled,
    PresentationRefused,
)
from biometrix.core.roles import Action, Operator
from biometrix.core.types import Candidate, Decision, Modality, SubjectId, Template, Threshold
from biometrix.index import IndexOptions
from biometrix.preprocess.liveness import Challenge, LivenessConfig, LivenessResult
from biometrix.preprocess.pen_dynamics import pen_comparable
from biometrix.runtime.encoder import OnnxEncoder
from biometrix.runtime.model_card import ModelCard
from biometrix.runtime.paths import models_dir as default_models_dir
from biometrix.runtime.pen_comparator import (
    PEN_AGGREGATE,
    PenComparatorCard,
    pen_verify,
)
from biometrix.runtime.pipelines import FacePipeline, SignaturePipeline, each_named
from biometrix.service.access import AccessMixin
from biometrix.service.admin import AdminMixin
from biometrix.service.indexes import IdentifyIndexes
from biometrix.service.inputs import (
    FaceInput,
    Pipeline,
    SignatureInput,
    _check_subject_id,
    _stroke_arrays,
    capture_of,
    is_strokes,
    kept_sample,
    load_face,
    load_signature,
    stored_model_input,
)
from biometrix.service.liveness import LivenessCheck
from biometrix.service.trust import ModelPin, TrustMixin
from biometrix.store import (
    EnrollmentStore,
    KeySource,
    SampleIn,
    StoredSample,
    SubjectInfo,
    open_store,
)
from biometrix.store.base import EnrollmentPart
from biometrix.store.files import discard_unused
from biometrix.store.location import DbLocation, resolve_db_path

log = logging.getLogger("biometrix.service")

@dataclass(frozen=True)
class RetemplateReport:
    """What ``Biometrix.retemplate`` did for one modality: templates made for ``model_id``, subjects whose
    kept samples were refused (with the reason; nothing written for them), and subjects already on it."""

    modality: Modality
    model_id: str
    made: tuple[SubjectId, ...]
    failed: tuple[tuple[SubjectId, str], ...]
    up_to_date: int


class Biometrix(AccessMixin, TrustMixin, AdminMixin):
    """Enroll, verify and identify subjects by signature and by face against one enrollment database.

    Models load lazily on first use. ``create=False`` refuses to create a missing database (for the
    read-mostly commands, so that a typo in a path never leaves an empty database behind).

    **What decides is fixed by the database.** The models (their card and model files, by sha256), the
    thresholds (a named threshold of the card or a target FMR on its validation DET curve), the supervisor
    band and the pen comparator switch are kept in the database, MACed with its integrity key, and changed by
    an admin only (``trust_models``, ``set_policy``; audited with the old and new values). ``models_dir`` only
    says where the files are: a card or model that is not the one the database trusts is refused
    (ModelNotTrusted), and every verify and identify audit row records the sha256 of the card that decided.
    A new database trusts the models it is first used with; an existing one trusts new models when an admin
    says so, or, with nobody to say so, the models shipped with this installation.

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
                 face_model: str | None = None, face_detector: str = "mtcnn", key: KeySource | None = None,
                 index: IndexOptions | None = None) -> None:
        self._pen_card: PenComparatorCard | None = None
        self._pen_card_read = False
        self.location: DbLocation = resolve_db_path(db_path)
        self.models_dir = Path(models_dir) if models_dir is not None else default_models_dir()
        self.prefer_gpu = prefer_gpu
        self._model_ids = {Modality.SIGNATURE: signature_model, Modality.FACE: face_model}
        self._face_detector = face_detector
        self._pipelines: dict[Modality, Pipeline] = {}
        self._cards: dict[Modality, ModelCard] = {}
        self._card_sha256: dict[str, str] = {}
        self._pending_pins: dict[str, ModelPin] = {}
        self._create = create
        self._key = key
        self._store: EnrollmentStore | None = None
        self._operator: Operator | None = None
        self._test_mode: str | None = None  # the admin who unlocked a kiosk's test mode (``start_test_mode``)
        self._indexes = IdentifyIndexes(index)

    @property
    def _db(self) -> EnrollmentStore:
        """The enrollment store (internal: every use case goes through this class), opened on first use (so a
        failed enroll never leaves an empty file)."""
        if self._store is None:
            log.info("enrollment database: %s (%s)", self.location.shown, self.location.reason)
            self._store = open_store(self.location.target, create=self._create, key=self._key)
            self._store.actor = None if self._operator is None else self._operator.name
        return self._store

    def open(self) -> None:
        """Open the database now (it opens on first use otherwise): a wrong or missing key, a damaged or
        tampered database is reported here."""
        self._db  # noqa: B018

    # --- lifecycle ---------------------------------------------------------------------------------

    def close(self) -> None:
        self._indexes.clear()
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Biometrix:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _pen_decision(self, subject_id: SubjectId, template: Template, raw: SampleIn) -> Decision | None:
        """The pen comparator's decision for a pen probe when every reference of the template was drawn with a
        pen too; None (the image encoder decides) otherwise."""
        if not is_strokes(raw.media_type):
            return None
        card = self.pen_card()
        if card is None:
            return None
        refs = self._db.template_samples(subject_id, modality=Modality.SIGNATURE, model_id=template.model_id)
        if len(refs) < 2 or not all(is_strokes(r.media_type) for r in refs):
            return None
        probe = _stroke_arrays(raw.data, raw.media_type)
        references = [_stroke_arrays(r.data, r.media_type) for r in refs]
        if not all(pen_comparable(s) for s in (probe, *references)):
            return None  # pen data without its time, or far longer than a signature: only its ink is compared
        return pen_verify(probe, references, subject_id=subject_id, threshold=card.threshold, model=card.model)

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
            loaded, emb = self._embed_references(modality, samples, load)
            kept = tuple(kept_sample(modality, img, raw) for img, raw in loaded)
            parts.append(EnrollmentPart(modality=modality, model_id=self.pipeline(modality).model_id, samples=kept,
                                        embeddings=emb))
        self._flush_pins()
        templates = self._db.enroll_many(subject_id, parts, display_name=display_name, replace=replace)
        self._indexes.refresh(self._db)
        return templates

    def _embed_references(self, modality: Modality, samples: Sequence[object], load: Callable[..., tuple]
                          ) -> tuple[list[tuple[np.ndarray, SampleIn]], np.ndarray]:
        """Read every sample (an error names the one at fault) and embed them all: (loaded, (N, D) embeddings)."""
        names = [_sample_name(s, modality, i, len(samples)) for i, s in enumerate(samples)]
        loaded = each_named(load, samples, names)
        return loaded, self.pipeline(modality).embed_many([img for img, _ in loaded], names=names)

    def check_references(self, *, signatures: Sequence[SignatureInput] | None = None,
                         faces: Sequence[FaceInput] | None = None) -> list[ReferenceCheck]:
        """Before enrolling: which of N >= 3 candidate references of one modality does not look like the others
        (``core.consistency``), one ReferenceCheck per reference, in order. Each is embedded by the modality's model
        and scored against the template of the others with the card's aggregate; the threshold is the card's
        ``CONSISTENCY_THRESHOLD`` (random forgeries, FMR 1 %) when it has one, else the one in force. A check
        decides nothing: nothing is written or audited. Whoever may enroll may check."""
        self._require(Action.ENROLL)
        if (signatures is None) == (faces is None):
            raise InvalidInput("check the references of one modality: give signatures or faces, not both")
        modality, samples, load = ((Modality.SIGNATURE, signatures, load_signature) if signatures is not None
                                   else (Modality.FACE, faces, load_face))
        if isinstance(samples, (str, os.PathLike, np.ndarray)) or len(samples) < 3:
            raise InvalidInput(f"the consistency check needs a list of 3 or more {modality.value}s")
        _, emb = self._embed_references(modality, samples, load)
        card = self.card(modality)
        return check_references(emb, threshold=self.consistency_threshold(modality), aggregate=card.aggregate,
                                modality=modality)

    def consistency_threshold(self, modality: Modality) -> Threshold:
        """The threshold ``check_references`` compares with: the card's ``CONSISTENCY_THRESHOLD``, else the one in
        force."""
        card = self.card(modality)
        names = {t.name for t in card.thresholds}
        return card.threshold(CONSISTENCY_THRESHOLD) if CONSISTENCY_THRESHOLD in names else self.threshold(modality)

    def verify(self, subject_id: str, *, signature: SignatureInput | None = None,
               face: FaceInput | None = None, liveness: LivenessResult | None = None) -> Decision:
        """1:1: compare the probe (a signature or a face) with every reference of the subject; audited.

        A pen probe against a subject whose references were all drawn with a pen, both carrying their time, is
        decided by the pen comparator (``pen_card()``, ``runtime.pen_comparator``) when it is installed, trusted
        and not switched off by the policy; every other probe by the modality's image model.

        How it decides is the database's decision policy (``policy()``). Three zones (the default) where the
        deciding card names an ``accept`` and a ``reject`` threshold and the policy keeps the card's default
        threshold: Accept at or below the first, Reject above the second, Refer between
        (``core.decision_band.three_zone``). Otherwise one threshold with the supervisor band: a distance within
        ``threshold x (1 ± refer_band)`` is referred. A referral is never accepted (``Decision.refer``, audited as
        "refer"). The row records the thresholds and their sources, the band and the sha256 of the card that
        decided.

        ``liveness``: the outcome of the face's liveness challenge (``start_liveness``), recorded in the row. A
        failed one decides nothing: it is audited as a "verify" row with decision "reject" and the liveness
        outcome, and raises PresentationRefused with its reason; the probe is never compared.
        """
        subject_id = _check_subject_id(subject_id)
        self._require(Action.VERIFY)
        if liveness is not None and (face is None or signature is not None):
            raise InvalidInput("a liveness outcome goes with a face probe only")
        if liveness is not None and not liveness.passed:
            self._db.record("verify", subject_id=subject_id, modality=Modality.FACE.value, model_id=None,
                            decision="reject", details={"liveness": liveness.summary(), "stage": "liveness"})
            raise PresentationRefused(f"liveness check failed: {liveness.message}", (liveness.reason,))
        policy = self.policy()
        fraction = policy.refer_band
        modality = Modality.SIGNATURE if face is None else Modality.FACE
        card = self.card(modality)
        template = self._template(subject_id, modality, card.model_id)
        modality, x, raw = self._load_probe(signature, face)
        capture = capture_of(modality, raw)
        # the pen comparator decides without the image model, which is then neither loaded nor run
        decision = self._pen_decision(subject_id, template, raw) if capture == "pen" else None
        aggregate = card.aggregate if decision is None else PEN_AGGREGATE
        slot = modality.value if decision is None else "pen"
        if decision is None:
            decision = self._matcher(modality, capture, policy).verify(self.pipeline(modality).embed(x), template)
        zones = self._zones(modality, slot, policy, capture)
        band = 0.0 if zones is not None else abs(decision.threshold.value) * fraction
        if zones is not None:
            accept, reject = zones
            label = three_zone(decision.distance, accept=accept.value, reject=reject.value)
            decision = replace(decision, threshold=accept, reject_threshold=reject.value, accepted=label == "Accept",
                               refer=label == "Refer")
        elif band > 0:
            refer = band_label(decision.distance, decision.threshold, band) == "Refer"
            decision = replace(decision, band=band, refer=refer, accepted=decision.accepted and not refer)
        how = {"policy": "three-zone", "accept": zones[0].value, "reject": zones[1].value,
               "accept_source": zones[0].source, "reject_source": zones[1].source} if zones else {"policy": "threshold"}
        self._flush_pins()
        self._db.record("verify", subject_id=subject_id, modality=modality.value,
                        model_id=decision.model_id, distance=decision.distance,
                        threshold=decision.threshold.value, decision=decision.label.lower(),
                        details={"reference_distances": list(decision.reference_distances),
                                 "reference_scale": decision.reference_scale,
                                 "aggregate": aggregate, "refer_band": fraction, "band": band,
                                 "capture": capture, "threshold_source": decision.threshold.source,
                                 "decision_policy": how, "card_sha256": self._card_sha256[slot],
                                 "probe_sha256": hashlib.sha256(raw.data).hexdigest(), **self._test_details(),
                                 **({"liveness": liveness.summary()} if liveness is not None else {})})
        return decision

    def start_liveness(self, *, challenge: Challenge | None = None,
                       config: LivenessConfig | None = None) -> LivenessCheck:
        """A liveness attempt (head turns in a freshly drawn order) to feed camera frames to; its result goes to
        ``verify(..., face=check.frontal, liveness=check.result)``."""
        self._require(Action.VERIFY)
        return LivenessCheck(cast(FacePipeline, self.pipeline(Modality.FACE)), challenge=challenge, config=config)

    def _template(self, subject_id: SubjectId, modality: Modality, model_id: str) -> Template:
        """The subject's template of ``model_id``; when it has only other models' templates, the error says how
        to make one from the kept samples."""
        try:
            return self._db.template(subject_id, modality=modality, model_id=model_id)
        except NotEnrolled as err:
            others = self._db.template_models(modality=modality).get(subject_id)
            if not others:
                raise
            raise NotEnrolled(f"{err} (it has one for {', '.join(others)}): an admin runs 'biometrix db retemplate' "
                              "to make it from the samples kept in the database") from None

    def identify(self, *, signature: SignatureInput | None = None, face: FaceInput | None = None,
                 top_k: int = 5) -> list[Candidate]:
        """1:N: the top_k enrolled subjects closest to the probe, best first; the search is audited.

        The answer is ``core.matcher.Matcher.identify`` over every template of the model in use, searched in
        this service's identification index (``biometrix.index``; ``index=`` options of the constructor): built
        in memory from the decrypted templates on first use (``prepare_identify``), caught up with the
        database's changes, by this process or another, before each search. A candidate is ``below_threshold``
        at or below the threshold verify would accept at: under three zones (a scanned signature, see ``verify``)
        the card's ``accept`` threshold."""
        if top_k < 1:
            raise InvalidInput(f"top_k must be at least 1, got {top_k}")
        self._require(Action.VERIFY)
        modality, probe, raw = self._probe(signature, face)
        card = self.card(modality)
        capture = capture_of(modality, raw)
        policy = self.policy()
        zones = self._zones(modality, modality.value, policy, capture)
        threshold = self.identify_threshold(modality, capture=capture, policy=policy)
        candidates, gallery_size = self._indexes.identify(self._db, card, probe, threshold, top_k=top_k)
        best = candidates[0] if candidates else None
        self._flush_pins()
        self._db.record("identify", subject_id=best.subject_id if best else None,
                        modality=modality.value, model_id=card.model_id,
                        distance=best.distance if best else None, threshold=threshold.value,
                        decision="match" if best and best.below_threshold else "no-match",
                        details={"candidates": [[c.subject_id, c.distance] for c in candidates],
                                 "gallery_size": gallery_size, "capture": capture,
                                 "threshold_source": threshold.source,
                                 "decision_policy": {"policy": "three-zone", "accept": zones[0].value,
                                                     "reject": zones[1].value} if zones else {"policy": "threshold"},
                                 "card_sha256": self._card_sha256[modality.value],
                                 "probe_sha256": hashlib.sha256(raw.data).hexdigest(), **self._test_details()})
        return candidates

    def prepare_identify(self, modality: Modality | None = None) -> dict[Modality, int]:
        """Build the identification index of each modality (``None``: both) now, not at the first identify (a
        server or the desktop app at start); returns the gallery size of each. A modality nobody is enrolled by
        is skipped (its model need not be installed)."""
        self._require(Action.VERIFY)
        sizes = {}
        for mod in (Modality.SIGNATURE, Modality.FACE) if modality is None else (Modality(modality),):
            if self._db.template_models(modality=mod):
                sizes[mod] = len(self._indexes.prepare(self._db, self.card(mod)))
        return sizes

    def warm_up(self) -> dict[Modality, int]:
        """Load the model of each modality the database trusts and build its identification index now (a server at
        start, before its requests share this service); nothing is returned to anyone nor written. A modality with
        no trusted model yet is left to its first use. Returns the gallery size of each modality warmed."""
        sizes = {}
        for mod in (Modality.SIGNATURE, Modality.FACE):
            if self._pin(mod.value) is None:
                continue
            card = self.card(mod)
            self.pipeline(mod)
            sizes[mod] = len(self._indexes.prepare(self._db, card))
        return sizes

    def readiness(self) -> dict[str, bool]:
        """A server's readiness probe, no login needed: the store answers one read (StoreError otherwise), and
        which modalities have their model loaded."""
        self._db.has_operators()
        return {mod.value: mod in self._pipelines for mod in (Modality.SIGNATURE, Modality.FACE)}

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
            index = self._db.template_models(modality=mod)
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
            self._indexes.refresh(self._db)
            reports.append(RetemplateReport(modality=mod, model_id=card.model_id, made=tuple(made),
                                            failed=tuple(failed), up_to_date=current))
        return reports

    def _retemplate_one(self, subject_id: SubjectId, modality: Modality, card: ModelCard, source: str) -> None:
        stored = self._db.template_samples(subject_id, modality=modality, model_id=source)
        if card.aggregate == "normalized" and len(stored) < 2:
            raise InvalidInput(f"its {source} template has {len(stored)} reference; the {modality.value} model "
                               f"{card.model_id} needs at least 2: enroll the subject again")
        emb = self.pipeline(modality).embed_many([stored_model_input(s) for s in stored])
        samples = tuple(SampleIn(data=s.data, media_type=s.media_type, meta=s.meta) for s in stored)
        part = EnrollmentPart(modality=modality, model_id=card.model_id, samples=samples, embeddings=emb,
                              details={"retemplated_from": source, "sample_ids": [s.sample_id for s in stored]})
        self._flush_pins()
        self._db.enroll_many(subject_id, [part])

    def subjects(self, query: str | None = None) -> list[SubjectInfo]:
        """Enrolled subjects (whose id or display name contains ``query``), sorted by id."""
        self._require(Action.VERIFY)
        return self._db.find_subjects(identifiers.normalized(query)) if query else self._db.subjects()

    def samples(self, subject_id: str, *, modality: Modality) -> list[StoredSample]:
        """The subject's enrolled raw samples (to show the references beside a decision)."""
        self._require(Action.VERIFY)
        return self._db.samples(_check_subject_id(subject_id), modality=modality)

def discard_unused_database(path: str | os.PathLike[str]) -> bool:
    """Delete the database file at ``path`` (with its -wal/-shm and its key) when nothing is enrolled in it: what a
    failed command leaves where no database was before it. Returns whether it was deleted."""
    return discard_unused(Path(path))


def _sample_name(sample: object, modality: Modality, index: int, count: int) -> str:
    """How an error names one sample of an enrollment: its file, else its place ("signature 2 of 5")."""
    if isinstance(sample, (str, os.PathLike)):
        return os.fspath(sample)
    return f"{modality.value} {index + 1} of {count}"
