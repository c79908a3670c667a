"""What decides, fixed by the database: the models it trusts (the sha256 of each card) and its decision policy
(thresholds, the Refer band, the pen comparator), changed by an admin only."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from biometrix.core.det import card_det, threshold_at_fmr
from biometrix.core.errors import (
    BiometrixError,
    InvalidInput,
    ModelNotTrusted,
    NotEnrolled,
    TamperDetected,
)
from biometrix.core.matcher import Matcher
from biometrix.core.policy import DecisionPolicy
from biometrix.core.roles import Action, Role
from biometrix.core.types import Modality, Threshold
from biometrix.runtime.model_card import PREFERRED_MODELS, ModelCard, load_card_for, sha256_file
from biometrix.runtime.paths import bundled_models_dir
from biometrix.runtime.pen_comparator import (
    PEN_CARD_FILE,
    PEN_MODEL_ID,
    PenComparatorCard,
)

log = logging.getLogger("biometrix.service")

#: The protected settings (store.setting) this service keeps: the decision policy and the pinned models.
POLICY_KEY = "policy"
PIN_SLOTS = ("signature", "face", "pen")
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



def _check_pinned(pin: ModelPin, digest: str, path: Path) -> None:
    if digest != pin.card_sha256:
        raise ModelNotTrusted(f"the {pin.slot} model card {path} is not the one this database trusts (sha256 "
                              f"{digest[:12]}…, trusted {pin.card_sha256[:12]}…): refusing to decide with it")



class TrustMixin:
    """The models and the decision policy of ``Biometrix`` (which provides ``_db``, ``_require``, ``models_dir``)."""

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
        if self._store is None and not self.location.exists():
            return None  # no database yet (so that reading a card never creates one): pinned when it is made
        raw = self._db.setting(_pin_key(slot))
        return None if raw is None else ModelPin.from_dict(slot, raw)

    def _pin_first_use(self, pin: ModelPin) -> ModelPin:
        """A model for a slot that has none: checked now (where the database exists) and pinned by
        ``_flush_pins`` just before the first write it decides (an enrollment, a decision's audit row), so that a
        command that fails changes nothing."""
        if self._store is not None or self.location.exists():
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
            log.info("database %s now trusts %s model %s (card sha256 %s)", self.location.shown, pin.slot,
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

    def _zones(self, modality: Modality, slot: str, policy: DecisionPolicy,
               capture: str | None = None) -> tuple[Threshold, Threshold] | None:
        """The deciding card's accept and reject thresholds when the three-zone policy applies to this decision:
        the policy asks for it, the card names both, and (for an image model) the probe is a scan, which is what
        the card's pair was set on, and the policy keeps the card's own threshold (an admin's named threshold or
        target FMR means one threshold)."""
        if not policy.three_zone:
            return None
        if slot == "pen":
            pen = self.pen_card()
            if pen is None or pen.accept_threshold is None or pen.reject_threshold is None:
                return None
            return pen.accept_threshold, pen.reject_threshold
        if policy.threshold_name(modality) != "default" or policy.target_fmr(modality) is not None:
            return None
        if modality is Modality.SIGNATURE and capture != "scan":
            return None
        card = self.card(modality)
        names = {t.name for t in card.thresholds}
        if not {"accept", "reject"} <= names:
            return None
        return card.threshold("accept"), card.threshold("reject")

    def _matcher(self, modality: Modality, capture: str | None, policy: DecisionPolicy) -> Matcher:
        return Matcher(self.threshold(modality, capture=capture, policy=policy),
                       aggregate=self.card(modality).aggregate)
