"""Operators of ``Biometrix``: login, session tokens the database signs, roles checked on every action,
operator accounts and the data key."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

from biometrix.core.errors import (
    AccessDenied,
)
from biometrix.core.roles import Action, Operator, Role, lowest_role_for
from biometrix.core.roles import role as parse_role
from biometrix.core.scoped import ContextScoped
from biometrix.store import (
    KeySource,
    OperatorInfo,
)

log = logging.getLogger("biometrix.service")

#: How long a session token (``Biometrix.session_token``) stays valid without being renewed.
SESSION_TTL_S = 15 * 60



class AccessMixin:
    """Operators and roles of ``Biometrix`` (which provides ``_db``)."""

    #: The logged-in operator; inside ``request`` that thread's (or task's) own.
    _operator: ContextScoped[Operator | None] = ContextScoped("operator", None)

    # --- operators ---------------------------------------------------------------------------------

    @property
    def operator(self) -> Operator | None:
        """The logged-in operator (None: nobody)."""
        return self._operator

    @contextmanager
    def request(self) -> Iterator[None]:
        """One request of a server that shares this service (its store, models and indexes) between threads: within
        the block, this thread's (or task's) operator and audit actor start as nobody and are its own, so ``login``,
        ``resume`` and every check act for this request only (the others in flight are not touched). The checks
        are those of a single user: the operator comes from ``login`` or a signed ``session_token`` only."""
        db = self._db
        with AccessMixin._operator.scope(self, None), db.acting(None):
            yield

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

    def login_refused(self, reason: str, *, details: dict[str, object]) -> None:
        """Audit a login refused before its password was checked (a server's rate limit: ``reason``
        "rate-limited"), as a ``login_failed`` row naming nobody."""
        self._db.record("login_failed", subject_id=None, modality=None, model_id=None, decision=reason,
                        details=dict(details))

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

    # --- a kiosk's test mode ------------------------------------------------------------------------

    @property
    def test_mode(self) -> str | None:
        """The admin who unlocked the test mode (``start_test_mode``), None when it is off."""
        return self._test_mode

    def start_test_mode(self, name: str, password: str) -> Operator:
        """An admin unlocks a kiosk's test mode (a photo or scan file may stand in for the camera or the pad):
        their name and password are checked as a login (audited, with its lockout) without changing who this
        service acts for. Until ``end_test_mode`` every verify and identify row carries ``"test_mode":
        {"unlocked_by": NAME}`` in its details. The start is audited ("settings", decision "test-mode-on"); a
        refusal too ("test-mode-refused") and AccessDenied: a wrong password, or an operator below admin."""
        who = self._db.login(name, password)
        if not who.may(Action.KIOSK_TEST_MODE):
            self._db.record("settings", subject_id=None, modality=None, model_id=None, decision="test-mode-refused",
                            details={"kiosk_test_mode": "refused", "asked_by": who.name})
            raise AccessDenied(f"operator {who.name!r} is {_a(who.role)}: to {Action.KIOSK_TEST_MODE.value} needs "
                               f"{_a(lowest_role_for(Action.KIOSK_TEST_MODE))}")
        self._test_mode = who.name
        self._db.record("settings", subject_id=None, modality=None, model_id=None, decision="test-mode-on",
                        details={"kiosk_test_mode": "on", "unlocked_by": who.name})
        return who

    def end_test_mode(self, why: str) -> None:
        """End the test mode (``why``: "timeout", "idle", "locked", "closed"...), audited ("test-mode-off")."""
        if self._test_mode is None:
            return
        by, self._test_mode = self._test_mode, None
        self._db.record("settings", subject_id=None, modality=None, model_id=None, decision="test-mode-off",
                        details={"kiosk_test_mode": "off", "unlocked_by": by, "why": str(why)[:40]})

    def _test_details(self) -> dict[str, object]:
        """What a decision's audit row says of the test mode: nothing when it is off."""
        return {} if self._test_mode is None else {"test_mode": {"unlocked_by": self._test_mode}}

    # --- keys --------------------------------------------------------------------------------------

    def rotate_key(self, new: KeySource | None = None) -> dict[str, int]:
        """Re-encrypt the database under a fresh data key (wrapped by ``new``: default a key file). Admin."""
        self._require(Action.MANAGE_KEYS)
        return self._db.rotate_key(new if new is not None else KeySource())


def _a(role: Role) -> str:
    return ("an " if role.value[0] in "aeiou" else "a ") + role.value
