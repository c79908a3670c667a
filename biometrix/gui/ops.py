"""What the pages ask of the service, as plain functions run on the worker thread (no Qt here)."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from biometrix.core.consistency import ReferenceCheck
from biometrix.core.det import DetCurve, card_det
from biometrix.core.distances import format_distance
from biometrix.core.errors import LowQuality
from biometrix.core.policy import DecisionPolicy
from biometrix.core.roles import Action
from biometrix.core.types import Candidate, Decision, Modality, Threshold
from biometrix.gui.i18n import QT_TRANSLATE_NOOP, translate

if TYPE_CHECKING:
    from biometrix.capture.pen import Stroke
    from biometrix.service import Biometrix

AUDIT_COLUMNS = ("event_id", "at", "event", "operator", "subject_id", "modality", "model_id", "distance",
                 "threshold", "decision", "details")
#: The decision policy's settings the Settings page edits; only an admin may change them, in the database
#: (``Biometrix.set_policy``), which audits each change with its old and new value.
GUARDED_SETTINGS = ("signature_threshold", "face_threshold", "signature_target_fmr", "face_target_fmr", "refer_band",
                    "three_zone")


@dataclass(frozen=True)
class FaceHint:
    """What the detector said about one frame: the face box (x0, y0, x1, y1) when one acceptable face is
    there, else None and the reason to show (come closer, more light...)."""

    bbox: tuple[float, float, float, float] | None
    ok: bool
    message: str


@dataclass(frozen=True)
class VerifyOutcome:
    """A verification with what the page shows beside it: the probe and the enrolled references as images."""

    decision: Decision
    probe: np.ndarray
    references: tuple[np.ndarray, ...]
    capture: str | None = None  # how a signature probe was taken: "scan" or "pen" (None: a face)


@dataclass(frozen=True)
class IdentifyRow:
    candidate: Candidate
    display_name: str | None
    thumbnail: np.ndarray | None
    threshold: float  # the modality's threshold in force, whose scale the distance is shown on


def face_hint(bx: Biometrix, rgb: np.ndarray) -> FaceHint:
    """Detect the one face of a preview frame and say whether it is good enough (loads the detector once). A client
    of a server has no detector: the server checks the face it is sent."""
    if not hasattr(bx, "pipeline"):  # RemoteBiometrix: NotOnServer is an AttributeError
        return FaceHint(None, True, "Ready to capture: the server checks the face")
    pipe: Any = bx.pipeline(Modality.FACE)
    try:
        det = pipe.detect(rgb)
    except LowQuality as err:
        return FaceHint(None, False, str(err))
    return FaceHint(tuple(float(v) for v in det.bbox), True, QT_TRANSLATE_NOOP("ops", "Face found: ready to capture"))  # type: ignore[arg-type]


def check_signatures(bx: Biometrix, signatures: Sequence[Sequence[Stroke] | np.ndarray]) -> list[ReferenceCheck]:
    """Flag an outlying one of N >= 3 reference signatures (``Biometrix.check_references``: run where the models
    are, in-process or on the server; nothing is written)."""
    return bx.check_references(signatures=list(signatures))


def check_face(bx: Biometrix, rgb: np.ndarray) -> FaceHint:
    """A captured face must pass detection and the quality checks before it can be enrolled."""
    return face_hint(bx, rgb)


def sample_images(bx: Biometrix, subject_id: str, modality: Modality) -> tuple[np.ndarray, ...]:
    """The subject's stored raw samples of ``modality`` as images (stroke JSON drawn by capture.pen.rasterize)."""
    from biometrix.service import stored_sample_input

    return tuple(stored_sample_input(s) for s in bx.samples(subject_id, modality=modality))


def verify(bx: Biometrix, subject_id: str, modality: Modality, probe: Any, *, liveness: Any = None) -> VerifyOutcome:
    """1:1 verification decided and audited by the service under the database's policy (its threshold and
    supervisor band: Accept / Refer / Reject), with the probe and references as images for display; a face's
    ``liveness`` outcome (``Biometrix.start_liveness``) is audited with it, and a failed one decides nothing."""
    from biometrix.service import load_face, load_signature, signature_capture

    capture = None
    if modality is Modality.SIGNATURE:
        decision = bx.verify(subject_id, signature=probe)
        image = load_signature(probe)[0]
        capture = signature_capture(probe)
    else:
        decision = bx.verify(subject_id, face=probe, **({"liveness": liveness} if liveness is not None else {}))
        image = load_face(probe)[0]
    return VerifyOutcome(decision, image, sample_images(bx, subject_id, modality), capture)


def enrolled_id(bx: Biometrix, typed: str) -> str:
    """The enrolled subject id a customer typed at the kiosk: ``typed`` itself when enrolled, else the one enrolled
    id equal to it ignoring case (the kiosk keyboard has capitals only), else ``typed`` (verify says NotEnrolled)."""
    ids = [s.subject_id for s in bx.subjects(typed)] if typed.strip() else []
    if typed in ids:
        return typed
    folded = [i for i in ids if i.casefold() == typed.casefold()]
    return folded[0] if len(folded) == 1 else typed


def identify(bx: Biometrix, modality: Modality, probe: Any, top_k: int) -> list[IdentifyRow]:
    """1:N search (audited by the service), each candidate with its name and first enrolled sample."""
    from biometrix.service import signature_capture, stored_sample_input

    kw = {"signature": probe} if modality is Modality.SIGNATURE else {"face": probe}
    candidates = bx.identify(top_k=top_k, **kw)
    names = {s.subject_id: s.display_name for s in bx.subjects()}
    capture = signature_capture(probe) if modality is Modality.SIGNATURE else None
    threshold = bx.threshold(modality, capture=capture).value
    rows = []
    for c in candidates:
        samples = bx.samples(c.subject_id, modality=modality)
        thumb = stored_sample_input(samples[0]) if samples else None
        rows.append(IdentifyRow(c, names.get(c.subject_id), thumb, threshold))
    return rows


def audit_rows(entries: Sequence[Any]) -> list[tuple[str, ...]]:
    """Audit entries as display/CSV rows in ``AUDIT_COLUMNS`` order."""
    def num(v: float | None) -> str:
        return "" if v is None else f"{v:.6g}"

    return [(str(e.event_id), e.at.isoformat(timespec="seconds"), e.event, e.operator or "", e.subject_id or "",
             e.modality.value if e.modality else "", e.model_id or "", num(e.distance), num(e.threshold),
             e.decision or "", json.dumps(e.details, ensure_ascii=False, sort_keys=True)) for e in entries]


def policy_changes(old: DecisionPolicy, wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The GUARDED_SETTINGS of ``wanted`` that differ from the policy ``old`` (what ``set_policy`` is given)."""
    return {k: wanted[k] for k in GUARDED_SETTINGS if k in wanted and wanted[k] != getattr(old, k)}


@dataclass(frozen=True)
class DecisionChange:
    """What an Apply on the Settings page changed in the database: the policy in force after it, and the model
    pins that changed (the service audits both)."""

    policy: DecisionPolicy
    trusted: tuple[Any, ...] = ()


def change_decisions(bx: Biometrix, *, policy: Mapping[str, Any], models: Mapping[str, str | None]) -> DecisionChange:
    """Apply the Settings page's decision changes through the service, which checks that the operator is an admin
    (AccessDenied otherwise, nothing changed) and audits them: the policy changes (``set_policy``), then, when
    ``models`` names a model per modality ("signature", "face"), the models the database trusts
    (``trust_models``; the pen comparator of the folder with them)."""
    new = bx.set_policy(**policy) if policy else bx.policy()
    trusted: list[Any] = []
    if models:
        trusted = bx.trust_models(signature_model=models.get("signature"), face_model=models.get("face"))
    return DecisionChange(new, tuple(trusted))


def export_csv(entries: Sequence[Any], path: str | os.PathLike[str]) -> Path:
    """Write audit entries as CSV (header ``AUDIT_COLUMNS``); returns the path."""
    p = Path(path)
    with p.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(AUDIT_COLUMNS)
        writer.writerows(audit_rows(entries))
    return p


def available_models(bx: Biometrix) -> dict[str, list[str]]:
    """model_ids by modality ("signature", "face") among the model cards of the service's models folder."""
    found: dict[str, list[str]] = {"signature": [], "face": []}
    for path in sorted(Path(bx.models_dir).glob("*.json")):
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue  # not a model card (e.g. a README in JSON): the card loader reports real card errors
        if isinstance(raw, dict) and raw.get("modality") in found and isinstance(raw.get("model_id"), str):
            found[raw["modality"]].append(raw["model_id"])
    return found


@dataclass(frozen=True)
class CardThresholdInfo:
    name: str
    value: float
    target_fmr: float | None
    source: str


@dataclass(frozen=True)
class ModalityInfo:
    """The model in use for one modality, the thresholds its card offers, the one in force under the database's
    policy, and the model the database trusts for it (None: none pinned yet)."""

    modality: Modality
    model_id: str | None
    thresholds: tuple[CardThresholdInfo, ...]
    in_force: Threshold | None
    has_det: bool
    error: str = ""
    det: DetCurve | None = None
    trusted: str | None = None


@dataclass(frozen=True)
class SettingsInfo:
    """What the Settings page shows of the service: the database in use, the models of the folder, each modality,
    the decision policy in force, and whether the operator may change the policy and the trusted models."""

    db_path: str
    db_reason: str
    models_dir: str
    models: dict[str, list[str]]
    modalities: tuple[ModalityInfo, ...]
    pen: str = ""  # the pen comparator: what decides a pen probe against pen references, and its threshold
    policy: DecisionPolicy = DecisionPolicy()
    may_set_policy: bool = False
    may_trust_models: bool = False
    in_force: tuple[str, ...] = ()  # how each kind of probe is decided (``Biometrix.decision_rules``), one line each
    operators: tuple[Any, ...] | None = None  # the operator accounts, for an admin (None: not theirs to see)


#: The kinds of probe ``Biometrix.decision_rules`` names, for the catalogue (shown through ``translate``).
PROBE_KINDS = (QT_TRANSLATE_NOOP("settings_page", "signature scan"),
               QT_TRANSLATE_NOOP("settings_page", "signature pen"),
               QT_TRANSLATE_NOOP("settings_page", "pen against pen references"),
               QT_TRANSLATE_NOOP("settings_page", "face"))


def rule_text(rule: Any) -> str:
    """One line in the teller's language for a ``DecisionRule``: what is accepted, referred and rejected."""
    probe = translate("settings_page", rule.probe)
    if rule.reject is not None:
        return translate("settings_page", "{probe}: {model}, three zones: Accept at or below {accept}, Reject above "
                                          "{reject}, Refer between").format(
            probe=probe, model=rule.model_id, accept=f"{rule.accept:.6g}", reject=f"{rule.reject:.6g}")
    text = (translate("settings_page", "{probe}: {model}, one threshold: Accept at or below {accept}, Refer within "
                                       "±{band}") if rule.band else
            translate("settings_page", "{probe}: {model}, one threshold: Accept at or below {accept}"))
    return text.format(probe=probe, model=rule.model_id, accept=f"{rule.accept:.6g}", band=f"{rule.band:.6g}")


def settings_info(bx: Biometrix) -> SettingsInfo:
    """Where the database is, which models exist and which the database trusts, each modality's card thresholds,
    the decision policy, and what the operator may change (reads cards and the database; loads no model)."""
    from biometrix.core.errors import BiometrixError

    pins = {pin.slot: pin.model_id for pin in bx.trusted_models()}  # checks the login (and re-reads the role)
    policy = bx.policy()
    infos = []
    for modality in (Modality.SIGNATURE, Modality.FACE):
        trusted = pins.get(modality.value)
        try:
            card = bx.card(modality)
        except BiometrixError as err:
            infos.append(ModalityInfo(modality, None, (), None, False, str(err), trusted=trusted))
            continue
        det = card_det(card.evaluation)
        try:
            in_force, error = bx.threshold(modality, policy=policy), ""
        except BiometrixError as err:  # e.g. a target FMR the card has no DET curve for
            in_force, error = None, str(err)
        infos.append(ModalityInfo(
            modality, card.model_id,
            tuple(CardThresholdInfo(t.name, t.value, t.target_fmr, t.source) for t in card.thresholds),
            in_force, det is not None, error, det=det, trusted=pins.get(modality.value, card.model_id)))
    try:
        in_force = tuple(rule_text(rule) for rule in bx.decision_rules())
    except BiometrixError as err:
        in_force = (translate("settings_page", "not available: {error}").format(error=err),)
    return SettingsInfo(bx.location.shown, bx.location.reason, str(bx.models_dir), available_models(bx),
                        tuple(infos), pen_info(bx), policy, may(bx, Action.SET_THRESHOLDS),
                        may(bx, Action.MANAGE_MODELS), in_force,
                        tuple(bx.operators()) if may(bx, Action.MANAGE_OPERATORS) else None)


def may(bx: Biometrix, action: Action) -> bool:
    """Whether the service would let its operator ``action`` (anyone while the database has no operators); for
    enabling controls only: the service checks again when asked."""
    who = bx.operator
    return who.may(action) if who is not None else not bx.access_control()


def pen_info(bx: Biometrix) -> str:
    """One line on the pen comparator: its model id and threshold with where it was set, or why there is none."""
    from biometrix.core.errors import BiometrixError

    try:
        card = bx.pen_card()
    except BiometrixError as err:
        return translate("ops", "not available: {err}").format(err=err)
    if card is None:
        return translate("ops", "none: pen signatures are verified by the signature model above")
    t = card.threshold
    return translate("ops", "{model} decides a pen probe against references drawn with a pen: threshold {threshold} "
                            "({source}); set by its card, not here").format(model=card.model_id,
                                                                           threshold=format_distance(t.value),
                                                                           source=t.source)
