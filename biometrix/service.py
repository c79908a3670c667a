"""The use cases: enroll, verify and identify subjects. Wires capture, runtime, store and core.matcher."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

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
from biometrix.core.det import card_det, threshold_at_fmr
from biometrix.core.errors import (
    AccessDenied,
    AlreadyEnrolled,
    BiometrixError,
    CameraUnavailable,
    InvalidInput,
    ModelNotTrusted,
    NotEnrolled,
    TamperDetected,
)
from biometrix.core.matcher import Matcher
from biometrix.core.policy import DecisionPolicy
from biometrix.core.roles import Action, Operator, Role, lowest_role_for
from biometrix.core.roles import role as parse_role
from biometrix.core.types import Candidate, Decision, Modality, SubjectId, Template, Threshold
from biometrix.preprocess.face_detect import to_rgb
from biometrix.preprocess.pen_dynamics import pen_comparable
from biometrix.runtime.encoder import OnnxEncoder
from biometrix.runtime.model_card import PREFERRED_MODELS, ModelCard, load_card_for, sha256_file
from biometrix.runtime.paths import bundled_models_dir
from biometrix.runtime.paths import models_dir as default_models_dir
from biometrix.runtime.pen_comparator import (
    PEN_AGGREGATE,
    PEN_CARD_FILE,
    PEN_MODEL_ID,
    PenComparatorCard,
    pen_verify,
)
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
    read_anchor_file,
    restore_database,
)
from biometrix.store.base import EnrollmentPart
from biometrix.store.files import discard_unused
from biometrix.store.integrity import ANCHOR_KEY
from biometrix.store.location import DbLocation, resolve_db_path

log = logging.getLogger(__name__)

#: A signature: an image file, an SVC2004 ``.txt`` / stroke ``.json`` pen file, an image array, or strokes.
SignatureInput = str | os.PathLike | np.ndarray | Sequence[Stroke]

#: A face: an image file (any format and depth the loader reads: grey, 16-bit, alpha) or an image array.
FaceInput = str | os.PathLike | np.ndarray

Pipeline = SignaturePipeline | FacePipeline

PEN_SUFFIXES = (".txt", ".json")
STROKES_MEDIA_TYPE = "application/vnd.biometrix.strokes+json"

#: The protected settings (store.setting) this service keeps: the decision policy and the pinned models.
POLICY_KEY = "policy"
PIN_SLOTS = ("signature", "face", "pen")
#: How long a session token (``Biometrix.session_token``) stays valid without being renewed.
SESSION_TTL_S = 15 * 60


def _pin_key(slot: str) -> str:
    return f"model.{slot}"


@dataclass(frozen=True)
class ModelPin:
    """A model a database trusts for one slot ("signature", "face", "pen"): its id, the sha256 of its card
    file and of its model file (None for the pen comparator, which has none)."""

    slot: str
    model_id: str
    card_sha256: str
    model_sha256: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"model_id": self.model_id, "card_sha256": self.card_sha256, "model_sha256": self.model_sha256}

    @classmethod
    def from_dict(cls, slot: str, raw: object) -> ModelPin:
        if not isinstance(raw, dict) or not isinstance(raw.get("model_id"), str) \
                or not isinstance(raw.get("card_sha256"), str):
            raise TamperDetected(f"the {slot} model pin of this database is damaged")
        model_sha = raw.get("model_sha256")
        return cls(slot, raw["model_id"], raw["card_sha256"], model_sha if isinstance(model_sha, str) else None)


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
                 face_model: str | None = None, face_detector: str = "mtcnn", key: KeySource | None = None) -> None:
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

    @property
    def _db(self) -> EnrollmentStore:
        """The enrollment store (internal: every use case goes through this class), opened on first use (so a
        failed enroll never leaves an empty file)."""
        if self._store is None:
            log.info("enrollment database: %s (%s)", self.location.path, self.location.reason)
            self._store = open_store(self.location.path, create=self._create, key=self._key)
            self._store.actor = None if self._operator is None else self._operator.name
        return self._store

    def open(self) -> None:
        """Open the database now (it opens on first use otherwise): a wrong or missing key, a damaged or
        tampered database is reported here."""
        self._db  # noqa: B018

    # --- operators ---------------------------------------------------------------------------------

    @property
    def operator(self) -> Operator | None:
        """The logged-in operator (None: nobody)."""
        return self._operator

    def access_control(self) -> bool:
        """Whether the database has operators, so that every use case needs a login."""
        return self._db.has_operators()

    def login(self, name: str, password: str) -> Operator:
        """Log an operator in (argon2id check; 5 failures in a row lock a teller's or supervisor's account for 15
        minutes, and make an admin wait, longer after each further failure). Audited."""
        self._operator = None
        self._db.actor = None
        who = self._db.login(name, password)
        self._operator = who
        self._db.actor = who.name
        return who

    def session_token(self) -> str:
        """A token that lets another Biometrix on this database act as the logged-in operator without the
        password (``resume``), for SESSION_TTL_S seconds; signed with the database's integrity key, which only
        whoever opens its data key has. The desktop app renews it with each action."""
        if self._operator is None:
            raise AccessDenied("log in first: a session token is issued to a logged-in operator")
        body = json.dumps({"op": self._operator.name, "exp": int(time.time()) + SESSION_TTL_S,
                           "nonce": secrets.token_hex(8)}, separators=(",", ":")).encode("utf-8")
        text = base64.urlsafe_b64encode(body).decode("ascii").rstrip("=")
        return f"{text}.{self._db.sign('session', text.encode('ascii'))}"

    def resume(self, token: str) -> Operator:
        """Act as the operator a ``session_token`` of this database names, while it is valid; the account is
        re-read (a disabled account or a changed role takes effect at once). AccessDenied otherwise."""
        self._operator = None
        self._db.actor = None
        text, _, tag = token.partition(".") if isinstance(token, str) else ("", "", "")
        if not text or not self._db.signed("session", text.encode("ascii", "replace"), tag):
            raise AccessDenied("that session token was not issued by this database: log in")
        try:
            payload = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            name, expires = str(payload["op"]), int(payload["exp"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise AccessDenied("that session token is damaged: log in") from None
        if expires < time.time():
            raise AccessDenied("your session has expired: log in again")
        account = self._db.operator(name)
        if account is None or account.disabled:
            raise AccessDenied("your operator account was disabled or removed; log in again")
        self._operator = Operator(account.name, Role(account.role))
        self._db.actor = account.name
        return self._operator

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
            if self._db.has_operators():
                raise AccessDenied(f"log in first: this database has operators, and to {action.value} needs "
                                   f"{_a(lowest_role_for(action))} or above (--operator NAME)")
            return
        account = self._db.operator(self._operator.name)
        if account is None or account.disabled:
            self._operator = None
            self._db.actor = None
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
        if not self._db.has_operators():
            if who is not Role.ADMIN:
                raise AccessDenied("the first operator of a database must be an admin (--role admin)")
            self._db.add_operator(name, who, password, first=True)
            return
        self._require(Action.MANAGE_OPERATORS)
        self._db.add_operator(name, who, password)

    def update_operator(self, name: str, *, role: Role | str | None = None, password: str | None = None,
                        disabled: bool | None = None, unlock: bool = False) -> None:
        """An admin changes an operator's role, password, disabled flag, or unlocks it. Audited."""
        self._require(Action.MANAGE_OPERATORS)
        self._db.update_operator(name, role=None if role is None else parse_role(role), password=password,
                                   disabled=disabled, unlock=unlock)

    def change_password(self, old: str, new: str) -> None:
        """The logged-in operator changes their own password (the old one is checked again)."""
        if self._operator is None:
            raise AccessDenied("log in first to change your password")
        name = self._operator.name
        self._db.login(name, old)
        self._db.update_operator(name, password=new)

    def operators(self) -> list[OperatorInfo]:
        self._require(Action.MANAGE_OPERATORS)
        return self._db.operators()

    # --- keys --------------------------------------------------------------------------------------

    def rotate_key(self, new: KeySource | None = None) -> dict[str, int]:
        """Re-encrypt the database under a fresh data key (wrapped by ``new``: default a key file). Admin."""
        self._require(Action.MANAGE_KEYS)
        return self._db.rotate_key(new if new is not None else KeySource())

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
        """The card of the model in use for ``modality``: the one the database trusts (read once, without loading
        the model). ModelNotTrusted when the folder holds another card under its name, or another model was asked
        for; with no model trusted yet for ``modality``, the one chosen here is pinned when that is allowed."""
        if modality not in self._cards:
            slot = modality.value
            pin = self._pin(slot)
            wanted = self._model_ids[modality]
            if pin is not None and wanted is not None and wanted != pin.model_id:
                raise ModelNotTrusted(f"this database decides {slot}s with model {pin.model_id!r}, pinned by an "
                                      f"admin; {wanted!r} is not trusted (an admin runs 'biometrix models trust "
                                      f"--{'model' if slot == 'signature' else 'face-model'} {wanted}')")
            model_id = pin.model_id if pin is not None else wanted
            if model_id is not None:
                card, digest = ModelCard.load_with_digest(self._card_path(model_id))
                if card.model_id != model_id or card.modality is not modality:
                    raise ModelNotTrusted(f"{self._card_path(model_id)} is not the {slot} model {model_id!r}")
            else:
                card = load_card_for(self.models_dir, modality=modality, prefer=PREFERRED_MODELS.get(modality))
                card, digest = ModelCard.load_with_digest(self._card_path(card.model_id))
            if pin is None:
                pin = self._pin_first_use(ModelPin(slot, card.model_id, digest, card.sha256))
            _check_pinned(pin, digest, self._card_path(card.model_id))
            self._cards[modality], self._card_sha256[slot] = card, digest
        return self._cards[modality]

    def _card_path(self, model_id: str) -> Path:
        return self.models_dir / f"{model_id}.json"

    def _pin(self, slot: str) -> ModelPin | None:
        if self._store is None and not self.location.path.exists():
            return None  # no database yet (so that reading a card never creates one): pinned when it is made
        raw = self._db.setting(_pin_key(slot))
        return None if raw is None else ModelPin.from_dict(slot, raw)

    def _pin_first_use(self, pin: ModelPin) -> ModelPin:
        """A model for a slot that has none: checked now (where the database exists) and pinned by
        ``_flush_pins`` just before the first write it decides (an enrollment, a decision's audit row), so that a
        command that fails changes nothing."""
        if self._store is not None or self.location.path.exists():
            self._check_may_pin(pin)
        self._pending_pins[pin.slot] = pin
        return pin

    def _check_may_pin(self, pin: ModelPin) -> None:
        """Pinning on first use is allowed while the database has no operators (it is being set up), for an
        admin, or for the installation's default model of the slot in the installation's models folder."""
        default = {"pen": PEN_MODEL_ID, **{m.value: i for m, i in PREFERRED_MODELS.items()}}.get(pin.slot)
        shipped = self.models_dir.resolve() == bundled_models_dir().resolve() and pin.model_id == default
        admin = self._operator is not None and self._operator.role is Role.ADMIN
        if self._db.has_operators() and not (admin or shipped):
            raise ModelNotTrusted(f"this database trusts no {pin.slot} model yet, and {pin.model_id} in "
                                  f"{self.models_dir} is not the installation's default: an admin runs "
                                  "'biometrix models trust'")
        if self._db.has_operators() and not admin:
            self._require(Action.VERIFY)

    def _flush_pins(self) -> None:
        """Pin the models chosen on first use (audited), or refuse them when another session pinned others."""
        pending, self._pending_pins = self._pending_pins, {}
        for pin in pending.values():
            current = self._pin(pin.slot)
            if current is not None:
                _check_pinned(current, pin.card_sha256, self._card_path(pin.model_id))
                continue
            self._check_may_pin(pin)
            self._db.set_setting(_pin_key(pin.slot), pin.to_dict(), details={"reason": "first use",
                                                                               "models_dir": str(self.models_dir)})
            log.info("database %s now trusts %s model %s (card sha256 %s)", self.location.path, pin.slot,
                     pin.model_id, pin.card_sha256[:12])

    def trusted_models(self) -> list[ModelPin]:
        """The models this database trusts, one per slot that has one."""
        self._require(Action.VERIFY)
        return [pin for slot in PIN_SLOTS if (pin := self._pin(slot)) is not None]

    def trust_models(self, *, signature_model: str | None = None, face_model: str | None = None,
                     pen: bool = True) -> list[ModelPin]:
        """An admin makes the database trust the models of ``models_dir`` (the given model ids, else the folder's
        default of each modality present; the pen comparator with ``pen`` when installed). Each change is audited
        with the old and new pin; templates of an earlier model are then made by ``retemplate``. Returns the
        pins that changed."""
        self._require(Action.MANAGE_MODELS)
        wanted = {Modality.SIGNATURE: signature_model, Modality.FACE: face_model}
        chosen: list[ModelPin] = []
        for modality, model_id in wanted.items():
            try:
                card = load_card_for(self.models_dir, model_id=model_id, modality=modality,
                                     prefer=PREFERRED_MODELS.get(modality))
            except BiometrixError:
                if model_id is not None:
                    raise
                continue  # no model of this modality in the folder: its pin (if any) stays
            _, digest = ModelCard.load_with_digest(self._card_path(card.model_id))
            chosen.append(ModelPin(modality.value, card.model_id, digest, card.sha256))
        pen_path = self.models_dir / PEN_MODEL_ID / PEN_CARD_FILE
        if pen and pen_path.is_file():
            card = PenComparatorCard.load(pen_path)
            chosen.append(ModelPin("pen", card.model_id, sha256_file(pen_path), None))
        if not chosen:
            raise NotEnrolled(f"no model in {self.models_dir} to trust")
        changed = [pin for pin in chosen if self._pin(pin.slot) != pin]
        for pin in changed:
            self._db.set_setting(_pin_key(pin.slot), pin.to_dict(), details={"reason": "trusted by an admin",
                                                                               "models_dir": str(self.models_dir)})
        self._cards.clear()
        self._pipelines.clear()
        self._card_sha256.clear()
        self._pending_pins.clear()
        self._pen_card, self._pen_card_read = None, False
        return changed

    def signature_card(self) -> ModelCard:
        return self.card(Modality.SIGNATURE)

    def pen_card(self) -> PenComparatorCard | None:
        """The pen comparator's card (read once), or None where the policy switches it off or none is installed
        and trusted. ModelNotTrusted when the database trusts one that is missing here or was changed."""
        if not self._pen_card_read:
            self._pen_card, self._pen_card_read = self._trusted_pen_card(), True
        return self._pen_card

    def _trusted_pen_card(self) -> PenComparatorCard | None:
        if not self.policy().pen_comparator:
            return None
        pin = self._pin("pen")
        path = self.models_dir / (pin.model_id if pin is not None else PEN_MODEL_ID) / PEN_CARD_FILE
        if not path.is_file():
            if pin is not None:
                raise ModelNotTrusted(f"the pen comparator this database trusts ({pin.model_id}) is not in "
                                      f"{self.models_dir}; refusing to decide pen signatures without it")
            return None
        digest = sha256_file(path)
        card = PenComparatorCard.load(path)
        if pin is None:
            pin = self._pin_first_use(ModelPin("pen", card.model_id, digest, None))
        _check_pinned(pin, digest, path)
        if sha256_file(path) != digest:
            raise ModelNotTrusted(f"the pen comparator card {path} changed while it was read")
        self._card_sha256["pen"] = digest
        return card

    def _pen_decision(self, subject_id: SubjectId, template: Template, raw: SampleIn) -> Decision | None:
        """The pen comparator's decision for a pen probe when every reference of the template was drawn with a
        pen too; None (the image encoder decides) otherwise."""
        if raw.media_type != STROKES_MEDIA_TYPE:
            return None
        card = self.pen_card()
        if card is None:
            return None
        refs = self._db.template_samples(subject_id, modality=Modality.SIGNATURE, model_id=template.model_id)
        if len(refs) < 2 or any(r.media_type != STROKES_MEDIA_TYPE for r in refs):
            return None
        probe, references = _stroke_arrays(raw.data), [_stroke_arrays(r.data) for r in refs]
        if not all(pen_comparable(s) for s in (probe, *references)):
            return None  # pen data without its time, or far longer than a signature: only its ink is compared
        return pen_verify(probe, references, subject_id=subject_id, threshold=card.threshold, model=card.model)

    # --- the decision policy ------------------------------------------------------------------------

    def policy(self) -> DecisionPolicy:
        """The decision policy in force (the defaults until an admin changes it)."""
        raw = self._db.setting(POLICY_KEY)
        return DecisionPolicy() if raw is None else DecisionPolicy.from_dict(raw)

    def set_policy(self, **changes: Any) -> DecisionPolicy:
        """An admin changes the decision policy (``DecisionPolicy`` fields); checked against the cards in use,
        audited ("settings") with each old and new value before it takes effect. Returns the new policy."""
        self._require(Action.SET_THRESHOLDS)
        old = self.policy()
        new = old.changed(**changes)
        for modality in (Modality.SIGNATURE, Modality.FACE):
            if new.threshold_name(modality) != old.threshold_name(modality):
                self.card(modality).threshold(new.threshold_name(modality))  # NotEnrolled-like error when unknown
            target = new.target_fmr(modality)
            if target is not None and target != old.target_fmr(modality) and card_det(
                    self.card(modality).evaluation) is None:
                raise InvalidInput(f"the {modality.value} model {self.card(modality).model_id} has no validation "
                                   "DET curve on its card: choose a named threshold instead of a target FMR")
        diff = {k: [v, new.to_dict()[k]] for k, v in old.to_dict().items() if new.to_dict()[k] != v}
        if diff:
            self._db.set_setting(POLICY_KEY, new.to_dict(), details={"changes": diff})
            self._pen_card, self._pen_card_read = None, False
        return new

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

    def threshold(self, modality: Modality = Modality.SIGNATURE, *, capture: str | None = None,
                  policy: DecisionPolicy | None = None) -> Threshold:
        """The threshold in force for ``modality`` under the decision policy: the one at its target FMR on the
        card's validation DET curve, else the card's threshold it names, else (the "default") the card's
        threshold for the probe's ``capture`` ("scan" or "pen", see ``capture_of``) where it is stricter than the
        card's default, else that default (``ModelCard.capture_threshold``)."""
        policy = self.policy() if policy is None else policy
        card = self.card(modality)
        target = policy.target_fmr(modality)
        if target is not None:
            det = card_det(card.evaluation)
            if det is None:
                raise ModelNotTrusted(f"the policy sets the {modality.value} threshold at FMR {target:g}, but model "
                                      f"{card.model_id}'s card has no validation DET curve")
            return threshold_at_fmr(det, target, model_id=card.model_id, distance=card.distance)
        name = policy.threshold_name(modality)
        return card.capture_threshold(capture) if name == "default" else card.threshold(name)

    def _matcher(self, modality: Modality, capture: str | None, policy: DecisionPolicy) -> Matcher:
        return Matcher(self.threshold(modality, capture=capture, policy=policy),
                       aggregate=self.card(modality).aggregate)

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
        self._flush_pins()
        return self._db.enroll_many(subject_id, parts, display_name=display_name, replace=replace)

    def verify(self, subject_id: str, *, signature: SignatureInput | None = None,
               face: FaceInput | None = None) -> Decision:
        """1:1: compare the probe (a signature or a face) with every reference of the subject; audited.

        A pen probe against a subject whose references were all drawn with a pen, both carrying their time, is
        decided by the pen comparator (``pen_card()``, ``runtime.pen_comparator``) when it is installed, trusted
        and not switched off by the policy; every other probe by the modality's image model.

        The threshold and the supervisor band come from the database's decision policy (``policy()``): a
        distance within ``threshold x (1 ± refer_band)`` gives ``Decision.refer`` (label "Refer", not accepted)
        and the audit row's decision "refer". The row records the band, the threshold's source and the sha256
        of the card that decided.
        """
        subject_id = _check_subject_id(subject_id)
        self._require(Action.VERIFY)
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
        band = abs(decision.threshold.value) * fraction
        if band > 0:
            refer = band_label(decision.distance, decision.threshold, band) == "Refer"
            decision = replace(decision, band=band, refer=refer, accepted=decision.accepted and not refer)
        self._flush_pins()
        self._db.record("verify", subject_id=subject_id, modality=modality.value,
                        model_id=decision.model_id, distance=decision.distance,
                        threshold=decision.threshold.value, decision=decision.label.lower(),
                        details={"reference_distances": list(decision.reference_distances),
                                 "reference_scale": decision.reference_scale,
                                 "aggregate": aggregate, "refer_band": fraction, "band": band,
                                 "capture": capture, "threshold_source": decision.threshold.source,
                                 "card_sha256": self._card_sha256[slot],
                                 "probe_sha256": hashlib.sha256(raw.data).hexdigest()})
        return decision

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
        """1:N: the top_k enrolled subjects closest to the probe, best first; the search is audited."""
        if top_k < 1:
            raise InvalidInput(f"top_k must be at least 1, got {top_k}")
        self._require(Action.VERIFY)
        modality, probe, raw = self._probe(signature, face)
        card = self.card(modality)
        gallery = self._db.gallery(modality=modality, model_id=card.model_id)
        capture = capture_of(modality, raw)
        threshold = self.threshold(modality, capture=capture)
        candidates = Matcher(threshold, aggregate=card.aggregate).identify(probe, gallery, top_k=top_k)
        best = candidates[0] if candidates else None
        self._flush_pins()
        self._db.record("identify", subject_id=best.subject_id if best else None,
                        modality=modality.value, model_id=card.model_id,
                        distance=best.distance if best else None, threshold=threshold.value,
                        decision="match" if best and best.below_threshold else "no-match",
                        details={"candidates": [[c.subject_id, c.distance] for c in candidates],
                                 "gallery_size": len(gallery), "capture": capture,
                                 "threshold_source": threshold.source,
                                 "card_sha256": self._card_sha256[modality.value],
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
            reports.append(RetemplateReport(modality=mod, model_id=card.model_id, made=tuple(made),
                                            failed=tuple(failed), up_to_date=current))
        return reports

    def _retemplate_one(self, subject_id: SubjectId, modality: Modality, card: ModelCard, source: str) -> None:
        stored = self._db.template_samples(subject_id, modality=modality, model_id=source)
        if card.aggregate == "normalized" and len(stored) < 2:
            raise InvalidInput(f"its {source} template has {len(stored)} reference; the {modality.value} model "
                               f"{card.model_id} needs at least 2: enroll the subject again")
        emb = self.pipeline(modality).embed_many([stored_sample_input(s) for s in stored])
        samples = tuple(SampleIn(data=s.data, media_type=s.media_type, meta=s.meta) for s in stored)
        part = EnrollmentPart(modality=modality, model_id=card.model_id, samples=samples, embeddings=emb,
                              details={"retemplated_from": source, "sample_ids": [s.sample_id for s in stored]})
        self._flush_pins()
        self._db.enroll_many(subject_id, [part])

    def info(self) -> StoreInfo:
        self._require(Action.VERIFY)
        return self._db.info()

    def erase(self, subject_id: str) -> str:
        """Right to erasure: remove the subject's samples, templates and record; returns the audit pseudonym."""
        subject_id = _check_subject_id(subject_id)
        self._require(Action.DELETE_SUBJECT)
        return self._db.erase_subject(subject_id)

    def verify_audit(self, *, expect_head: str | None = None,
                     anchor_file: str | os.PathLike[str] | None = None) -> AuditCheck:
        """Re-compute the audit log's hash chain, each row's MAC and the protected head; ``expect_head``
        ("EVENT_ID:HASH" exported earlier) and every head recorded in ``anchor_file`` must be in the chain."""
        self._require(Action.READ_AUDIT)
        anchors = None if anchor_file is None else read_anchor_file(anchor_file)
        return self._db.verify_audit(expect_head=expect_head, anchors=anchors)

    def set_audit_anchor(self, path: str | os.PathLike[str] | None) -> None:
        """An admin names the file every new audit head is appended to (one JSON line each; make it
        append-only, e.g. ``chattr +a``, or have a log shipper collect it), or None to stop. Audited."""
        self._require(Action.MANAGE_KEYS)
        if path is None:
            self._db.set_setting(ANCHOR_KEY, None)
            return
        target = Path(path).expanduser().resolve()
        if target.is_dir() or not target.parent.is_dir():
            raise InvalidInput(f"the audit anchor must be a file in an existing folder, got {path}")
        if target == self.location.path.resolve():
            raise InvalidInput("the audit anchor must be outside the database")
        self._db.set_setting(ANCHOR_KEY, {"file": str(target)})

    def audit_anchor(self) -> str | None:
        """The anchor file in force (None: none)."""
        self._require(Action.READ_AUDIT)
        value = self._db.setting(ANCHOR_KEY)
        return str(value["file"]) if isinstance(value, dict) and value.get("file") else None

    def audit(self, *, subject_id: str | None = None, event: str | None = None,
              limit: int | None = None) -> list[AuditEntry]:
        """Audit rows, oldest first (``limit``: the most recent ones); ``subject_id`` is compared in NFC."""
        self._require(Action.READ_AUDIT)
        if subject_id is not None:
            subject_id = identifiers.normalized(subject_id)
        return self._db.audit(subject_id=subject_id, event=event, limit=limit)

    def backup(self, destination: str | os.PathLike[str]) -> AuditCheck:
        """A checked online backup of the database to the new file ``destination``."""
        self._require(Action.BACKUP)
        check = self._db.backup(Path(destination))
        self._db.record("backup", subject_id=None, modality=None, model_id=None, decision="ok",
                          details={"to": str(Path(destination).resolve()), "audit_rows": check.n_rows,
                                   "audit_head": check.head})
        return check

    def restore(self, source: str | os.PathLike[str], *, expect_head: str | None = None,
                force: bool = False) -> RestoreReport:
        """Replace this database with the backup ``source`` (admin; stop other users first).

        The backup must pass a full integrity check and open with this database's key, and its audit log must
        verify (chain, MACs, protected head; and contain ``expect_head`` when given): otherwise it is refused
        (TamperDetected) unless ``force``, which restores it anyway and says so in its audit row."""
        self._require(Action.MANAGE_MODELS)
        actor = None if self._operator is None else self._operator.name
        self.close()
        return _restore(self.location.path, Path(source), key=self._key, actor=actor, expect_head=expect_head,
                        force=force)

    def resolve(self, event_id: int, *, accept: bool, note: str = "") -> int:
        """A supervisor settles a Refer decision (the audit row ``event_id``) as accepted or rejected.

        The settlement is a new audit row ("resolve") naming the referred row; a row is settled once.
        Returns the new row's id.
        """
        self._require(Action.RESOLVE_REFER)
        if not isinstance(note, str) or len(note) > 500:
            raise InvalidInput("a resolution note is text of at most 500 characters")
        refer = self._db.audit_entry(event_id)
        if refer is None or refer.event != "verify" or refer.decision != "refer":
            raise NotEnrolled(f"audit row {event_id} is not a referred verification")
        if self._db.resolution_of(event_id) is not None:
            raise InvalidInput(f"the referred verification {event_id} is already resolved")
        return self._db.record("resolve", subject_id=refer.subject_id, modality=refer.modality,
                                 model_id=refer.model_id, distance=refer.distance, threshold=refer.threshold,
                                 decision="accept" if accept else "reject",
                                 details={"refers_to": event_id, "note": note})

    def subjects(self, query: str | None = None) -> list[SubjectInfo]:
        """Enrolled subjects (whose id or display name contains ``query``), sorted by id."""
        self._require(Action.VERIFY)
        return self._db.find_subjects(identifiers.normalized(query)) if query else self._db.subjects()

    def samples(self, subject_id: str, *, modality: Modality) -> list[StoredSample]:
        """The subject's enrolled raw samples (to show the references beside a decision)."""
        self._require(Action.VERIFY)
        return self._db.samples(_check_subject_id(subject_id), modality=modality)


def _check_pinned(pin: ModelPin, digest: str, path: Path) -> None:
    if digest != pin.card_sha256:
        raise ModelNotTrusted(f"the {pin.slot} model card {path} is not the one this database trusts (sha256 "
                              f"{digest[:12]}…, trusted {pin.card_sha256[:12]}…): refusing to decide with it")


def check_audit_unattended(db_path: str | os.PathLike[str] | None, *, key: KeySource | None = None,
                           expect_head: str | None = None,
                           anchor_file: str | os.PathLike[str] | None = None) -> AuditCheck:
    """The audit check of a database that refuses every write (its audit log was altered, so not even a login
    can be recorded): run with the database's key, no login, nothing written. Whoever holds the key and the file
    can read the log anyway; this only spares them the sqlite3 shell."""
    location = resolve_db_path(db_path)
    anchors = None if anchor_file is None else read_anchor_file(anchor_file)
    with open_store(location.path, create=False, key=key) as store:
        return store.verify_audit(expect_head=expect_head, anchors=anchors)


def restore_db(db_path: str | os.PathLike[str] | None, source: str | os.PathLike[str], *, operator: str,
               password: str, key: KeySource | None = None, expect_head: str | None = None,
               force: bool = False) -> RestoreReport:
    """Replace a database that cannot be opened (missing or damaged; located as Biometrix does) with the backup
    ``source``. Nobody can log in to the damaged database, so ``operator`` must be an admin of the backup (its
    password checked against the backup's accounts, the login audited there). Checked as ``Biometrix.restore``."""
    location = resolve_db_path(db_path)
    return _restore(location.path, Path(source), key=key, actor=operator, expect_head=expect_head, force=force,
                    password=password)


def _restore(target: Path, source: Path, *, key: KeySource | None, actor: str | None, expect_head: str | None,
             force: bool, password: str | None = None) -> RestoreReport:
    """Restore ``source`` over ``target`` once its copy has opened with the key, passed its audit check (or been
    forced) and recorded the restore in its own audit log."""
    def check(copy: Path) -> None:
        with open_store(copy, create=False, key=key) as restored:
            if password is not None:
                who = restored.login(actor or "", password)
                if who.role is not Role.ADMIN:
                    raise AccessDenied(f"operator {who.name!r} is {_a(who.role)}: restoring needs an admin")
            restored.actor = actor
            audit = restored.verify_audit(expect_head=expect_head)
            if not audit.ok and not force:
                first = audit.problems[0].message
                raise TamperDetected(f"the backup {source} fails its audit check ({len(audit.problems)} problem(s); "
                                     f"first: {first}); not restored (an admin may force it: --force)")
            restored.record("restore", subject_id=None, modality=None, model_id=None,
                            decision="forced" if not audit.ok else "ok",
                            details={"from": str(source.resolve()), "audit_ok": audit.ok,
                                     "audit_problems": [p.message for p in audit.problems][:20],
                                     "expected_head": expect_head})

    return restore_database(target, source, check=check)


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


def _check_subject_id(subject_id: str) -> SubjectId:
    """Every subject id that comes in, in the one form it is stored in (``identifiers.subject_id``: NFC, no
    invisible or bidi-control characters, no cross-script look-alikes)."""
    return identifiers.subject_id(subject_id)
