"""The command line's model and decision administration: which models the database trusts (``models``), its
decision policy (``policy``), and where audit heads are anchored (``audit anchor``). Admins change them; every
change is audited with its old and new value."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from biometrix.core.errors import BiometrixError, InvalidInput

if TYPE_CHECKING:
    from biometrix.service import Biometrix

Opener = Callable[..., "Biometrix"]


def _fraction_or_none(text: str) -> float | None:
    if text.strip().lower() in ("none", "off", "default"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction in (0, 1) or 'none', got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction in (0, 1) or 'none', got {text}")
    return value


def _band(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction of the threshold in [0, 1), got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction of the threshold in [0, 1), got {text}")
    return value


def _on_off(text: str) -> bool:
    if text.lower() in ("on", "yes", "true", "1"):
        return True
    if text.lower() in ("off", "no", "false", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected on or off, got {text!r}")


def add_commands(commands: Any, parents: dict[str, argparse.ArgumentParser], opener: Opener) -> None:
    """Register ``models list|trust``, ``policy show|set`` and ``audit anchor``."""
    verbose, db, out, model = parents["verbose"], parents["db"], parents["out"], parents["model"]

    p = commands.add_parser("models", parents=[verbose], help="the models this database trusts",
                            description="The models that decide are fixed per database: the sha256 of each card "
                                        "(and so of its model file) is kept in the database. A card or model that "
                                        "does not match is refused. An admin trusts new ones with 'models trust'.")
    p.set_defaults(group_parser=p)
    group = p.add_subparsers(title="models commands", metavar="COMMAND")
    q = group.add_parser("list", parents=[verbose, db, out], help="the trusted model of each slot")
    q.set_defaults(handler=lambda a: _models_list(a, opener))
    q = group.add_parser("trust", parents=[verbose, db, model, out],
                         help="trust the models of a folder (admin); then run 'db retemplate'",
                         description="Pin the models of --models-dir (the given --model / --face-model, else the "
                                     "folder's default of each modality, and the pen comparator) as the ones this "
                                     "database decides with. Audited with the old and new sha256.")
    q.add_argument("--no-pen", action="store_true", help="leave the pen comparator's pin as it is")
    q.set_defaults(handler=lambda a: _models_trust(a, opener))

    p = commands.add_parser("policy", parents=[verbose], help="thresholds and the Refer band (admin)",
                            description="The decision policy kept in the database: the threshold of each modality "
                                        "(a named threshold of the model card, or a target FMR on its validation "
                                        "DET curve), the supervisor Refer band, and the pen comparator.")
    p.set_defaults(group_parser=p)
    group = p.add_subparsers(title="policy commands", metavar="COMMAND")
    q = group.add_parser("show", parents=[verbose, db, out], help="the policy in force")
    q.set_defaults(handler=lambda a: _policy_show(a, opener))
    q = group.add_parser("set", parents=[verbose, db, out], help="change the policy (admin; audited)")
    q.add_argument("--signature-threshold", metavar="NAME", default=None,
                   help="a threshold named on the signature model's card ('default': the card's)")
    q.add_argument("--signature-target-fmr", metavar="F", type=_fraction_or_none, default=argparse.SUPPRESS,
                   help="use the threshold at this FMR on the card's validation DET curve ('none': off)")
    q.add_argument("--face-threshold", metavar="NAME", default=None, help="as --signature-threshold, for faces")
    q.add_argument("--face-target-fmr", metavar="F", type=_fraction_or_none, default=argparse.SUPPRESS,
                   help="as --signature-target-fmr, for faces")
    q.add_argument("--refer-band", metavar="F", type=_band, default=None,
                   help="supervisor band as a fraction of the threshold: a distance within threshold x (1 ± F) is "
                        "referred (0: no band)")
    q.add_argument("--pen-comparator", metavar="on|off", type=_on_off, default=None,
                   help="decide pen signatures against pen references by the pen comparator")
    q.add_argument("--three-zone", metavar="on|off", type=_on_off, default=None,
                   help="Accept / Refer / Reject from the card's accept and reject thresholds where it names both "
                        "(off: one threshold and the Refer band)")
    q.set_defaults(handler=lambda a: _policy_set(a, opener))

    q = parents["audit_commands"].add_parser(
        "anchor", parents=[verbose, db, out], help="append each new audit head to a file (admin)",
        description="From now on every new audit row's (event_id, hash) is appended as one JSON line to FILE. "
                    "Keep FILE where the database's users cannot rewrite it (another machine's share, an "
                    "append-only file: chattr +a, a log shipper's input); 'audit verify --anchor-file FILE' then "
                    "finds a chain rewritten even by someone holding the key.")
    where = q.add_mutually_exclusive_group(required=True)
    where.add_argument("--file", metavar="FILE", default=None, help="the anchor file")
    where.add_argument("--off", action="store_true", help="stop anchoring")
    q.set_defaults(handler=lambda a: _audit_anchor(a, opener))


def _print(args: argparse.Namespace, obj: Any, text: str) -> None:
    print(json.dumps(obj, ensure_ascii=False) if getattr(args, "json", False) else text)


def _models_list(args: argparse.Namespace, opener: Opener) -> int:
    with opener(args) as bx:
        pins = bx.trusted_models()
    rows = [{"slot": p.slot, "model_id": p.model_id, "card_sha256": p.card_sha256, "model_sha256": p.model_sha256}
            for p in pins]
    text = "\n".join(f"{p.slot:<10} {p.model_id:<28} card {p.card_sha256[:16]}…" for p in pins) or \
        "No model is trusted yet: the first use pins the installation's models."
    _print(args, rows, text)
    return 0


def _models_trust(args: argparse.Namespace, opener: Opener) -> int:
    with opener(args) as bx:
        changed = bx.trust_models(signature_model=args.model_id, face_model=args.face_model, pen=not args.no_pen)
    rows = [{"slot": p.slot, "model_id": p.model_id, "card_sha256": p.card_sha256} for p in changed]
    text = "\n".join(f"Now trusted: {p.slot} model {p.model_id} (card {p.card_sha256[:16]}…)" for p in changed) or \
        "Nothing changed: the database already trusts these models."
    _print(args, rows, text)
    return 0


def _in_force(bx: Biometrix) -> tuple[list[dict[str, Any]], str]:
    """What decides each kind of probe (``Biometrix.decision_rules``), as JSON rows and as text; where a card
    cannot be read the text says why (after ``policy set`` the change is made: its output must not fail)."""
    try:
        rules = bx.decision_rules()
    except BiometrixError as err:
        return [], f"In force: not available ({err})"
    return [r.to_dict() for r in rules], "\n".join(["In force:", *(f"  {r.describe()}" for r in rules)])


def _policy_show(args: argparse.Namespace, opener: Opener) -> int:
    with opener(args) as bx:
        policy = bx.policy()
        rows, text = _in_force(bx)
    values = policy.to_dict()
    _print(args, {**values, "in_force": rows},
           "\n".join(f"{k:<22} {'none' if v is None else v}" for k, v in values.items()) + "\n" + text)
    return 0


def _policy_set(args: argparse.Namespace, opener: Opener) -> int:
    changes: dict[str, Any] = {}
    for name in ("signature_threshold", "face_threshold", "refer_band", "pen_comparator", "three_zone"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    for name in ("signature_target_fmr", "face_target_fmr"):
        if hasattr(args, name):
            changes[name] = getattr(args, name)
    if not changes:
        raise InvalidInput("nothing to change: give at least one setting (see 'biometrix policy set --help')")
    with opener(args) as bx:
        policy = bx.set_policy(**changes)
        rows, text = _in_force(bx)
    values = policy.to_dict()
    _print(args, {**values, "in_force": rows},
           "Policy now: " + ", ".join(f"{k}={'none' if v is None else v}" for k, v in values.items()) + "\n" + text)
    return 0


def _audit_anchor(args: argparse.Namespace, opener: Opener) -> int:
    with opener(args) as bx:
        bx.set_audit_anchor(None if args.off else args.file)
        where = bx.audit_anchor()
    _print(args, {"anchor_file": where}, f"Audit heads are appended to {where}" if where else "Audit anchoring is off")
    return 0
