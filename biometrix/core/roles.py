"""Operator roles and what each may do: teller < supervisor < admin, each role holding the one below's rights."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from biometrix.core.errors import InvalidInput


class Role(StrEnum):
    TELLER = "teller"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Action(StrEnum):
    ENROLL = "enroll"
    VERIFY = "verify"  # 1:1 and 1:N
    RESOLVE_REFER = "resolve a Refer decision"
    DELETE_SUBJECT = "delete or erase a subject"
    READ_AUDIT = "read and check the audit log"
    BACKUP = "back up the database"
    SET_THRESHOLDS = "change thresholds"
    MANAGE_MODELS = "change models, migrate or restore the database"
    MANAGE_OPERATORS = "manage operators"
    MANAGE_KEYS = "encrypt the database or rotate its key"
    KIOSK_TEST_MODE = "unlock a kiosk's test mode"


_TELLER = frozenset({Action.ENROLL, Action.VERIFY})
_SUPERVISOR = _TELLER | {Action.RESOLVE_REFER, Action.DELETE_SUBJECT, Action.READ_AUDIT, Action.BACKUP}
_ADMIN = _SUPERVISOR | {Action.SET_THRESHOLDS, Action.MANAGE_MODELS, Action.MANAGE_OPERATORS, Action.MANAGE_KEYS,
                        Action.KIOSK_TEST_MODE}

PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.TELLER: _TELLER,
    Role.SUPERVISOR: frozenset(_SUPERVISOR),
    Role.ADMIN: frozenset(_ADMIN),
}


def role(value: str) -> Role:
    """A role from its name; InvalidInput naming the roles otherwise."""
    try:
        return Role(str(value).strip().lower())
    except ValueError:
        raise InvalidInput(f"unknown role {value!r}; expected one of {[r.value for r in Role]}") from None


def may(who: Role, action: Action) -> bool:
    return action in PERMISSIONS[who]


def lowest_role_for(action: Action) -> Role:
    """The least role that may do ``action`` (for messages: "needs a supervisor")."""
    return next(r for r in (Role.TELLER, Role.SUPERVISOR, Role.ADMIN) if may(r, action))


@dataclass(frozen=True)
class Operator:
    """A logged-in operator: their name and role."""

    name: str
    role: Role

    def may(self, action: Action) -> bool:
        return may(self.role, action)
