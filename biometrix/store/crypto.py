"""Encryption at rest: a data key (AES-256-GCM) seals templates and raw samples; a key-encryption key wraps it.

The data key (DEK) is 32 random bytes, made once per database (and again by ``rotate_key``). It is never
written in the clear: the database keeps it wrapped (AES-256-GCM) by a key-encryption key (KEK) that comes
from one of three places, the database recording which:

- ``passphrase``: scrypt(passphrase, salt, n=2**15, r=8, p=1), the salt and parameters kept beside the
  wrapped key. Nothing is kept on the machine; whoever opens the database types the passphrase (or sets
  ``$BIOMETRIX_PASSPHRASE``).
- ``keyring``: 32 random bytes kept in the OS keyring (Secret Service, Keychain, Windows Credential
  Manager) through the ``keyring`` package, under the service ``biometrix`` and the database's id.
- ``keyfile``: 32 random bytes in a file readable by its owner only, in the user's config folder (or
  ``$BIOMETRIX_KEY_DIR``), never beside the database. It protects copies of the database (backups, a copied
  data folder), not a stolen home folder; it is the default only because it needs no one at the keyboard.

Each sealed value is ``b"\\x01" + nonce (12 bytes) + ciphertext + tag``, and its associated data names the
database, the column and the subject it belongs to, so a sealed value copied to another row or another
database does not open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from biometrix.core.errors import KeyUnavailable, StoreError, WrongKey

log = logging.getLogger(__name__)

PASSPHRASE_ENV = "BIOMETRIX_PASSPHRASE"
KEY_STORE_ENV = "BIOMETRIX_KEY_STORE"
KEY_DIR_ENV = "BIOMETRIX_KEY_DIR"
KEYRING_SERVICE = "biometrix"

KINDS: tuple[str, ...] = ("passphrase", "keyring", "keyfile")
_VERSION = b"\x01"
_NONCE = 12
_TAG = 16
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}
MIN_PASSPHRASE = 8


def _aesgcm(key: bytes) -> Any:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)


def _invalid_tag() -> type[Exception]:
    from cryptography.exceptions import InvalidTag

    return InvalidTag


@dataclass(frozen=True)
class KeySource:
    """Where the key-encryption key comes from: ``kind`` in KINDS, or "auto".

    "auto" opens an existing database with the kind it records (a passphrase from ``$BIOMETRIX_PASSPHRASE``)
    and creates a new one with ``$BIOMETRIX_KEY_STORE`` when set, else a passphrase when
    ``$BIOMETRIX_PASSPHRASE`` is set, else a key file.
    """

    kind: str = "auto"
    passphrase: str | None = field(default=None, repr=False)
    key_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.kind not in (*KINDS, "auto"):
            raise StoreError(f"unknown key store {self.kind!r}; expected one of {list(KINDS)}")
        if self.kind == "passphrase" and self.passphrase is not None and len(self.passphrase) < MIN_PASSPHRASE:
            raise StoreError(f"a database passphrase needs at least {MIN_PASSPHRASE} characters")

    @classmethod
    def from_passphrase(cls, passphrase: str) -> KeySource:
        return cls("passphrase", passphrase=passphrase)

    def resolved_for_new(self) -> KeySource:
        """The concrete source a new database gets."""
        if self.kind != "auto":
            return self
        env_kind = os.environ.get(KEY_STORE_ENV, "").strip()
        if env_kind:
            return KeySource(env_kind, passphrase=os.environ.get(PASSPHRASE_ENV) or None, key_dir=self.key_dir)
        if os.environ.get(PASSPHRASE_ENV):
            return KeySource("passphrase", passphrase=os.environ[PASSPHRASE_ENV], key_dir=self.key_dir)
        return KeySource("keyfile", key_dir=self.key_dir)

    def resolved_for(self, recorded: str) -> KeySource:
        """The concrete source to open a database whose key is kept by ``recorded``."""
        if self.kind == "auto":
            return KeySource(recorded, passphrase=os.environ.get(PASSPHRASE_ENV) or None, key_dir=self.key_dir)
        if self.kind != recorded:
            raise WrongKey(f"this database's key is kept in a {_KIND_WORDS[recorded]}, not a {_KIND_WORDS[self.kind]}"
                           f"; open it with --key-store {recorded}")
        return self


_KIND_WORDS = {"passphrase": "passphrase", "keyring": "OS keyring", "keyfile": "key file"}


def key_dir(source: KeySource) -> Path:
    """Where key files live: the source's folder, ``$BIOMETRIX_KEY_DIR``, or <user config>/biometrix/keys."""
    if source.key_dir is not None:
        return Path(source.key_dir)
    env = os.environ.get(KEY_DIR_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("biometrix", appauthor=False)) / "keys"


@dataclass(frozen=True)
class WrappedKey:
    """A data key as kept in the database: wrapped by a KEK of ``kind`` with ``params`` (salt, scrypt cost)."""

    key_id: str
    kind: str
    params: dict[str, Any]
    wrapped: bytes


def _kek_name(database_id: str, key_id: str) -> str:
    return f"{database_id}-{key_id}"


def _new_kek(source: KeySource, database_id: str, key_id: str) -> tuple[bytes, dict[str, Any]]:
    """Make a fresh KEK for a new data key, storing it where the source says; returns it and its params."""
    if source.kind == "passphrase":
        if not source.passphrase:
            raise KeyUnavailable(f"a passphrase is needed to encrypt the database (set ${PASSPHRASE_ENV} or type it)")
        params: dict[str, Any] = {"kdf": "scrypt", "salt": base64.b64encode(secrets.token_bytes(16)).decode(),
                                  **_SCRYPT}
        return _scrypt(source.passphrase, params), params
    kek = secrets.token_bytes(32)
    name = _kek_name(database_id, key_id)
    if source.kind == "keyring":
        keyring = _keyring()
        try:
            keyring.set_password(KEYRING_SERVICE, name, base64.b64encode(kek).decode())
        except Exception as e:  # keyring backends raise their own types (NoKeyringError, PasswordSetError...)
            raise KeyUnavailable(f"the OS keyring refused to store the database key: {e}") from e
        return kek, {"keyring_service": KEYRING_SERVICE, "keyring_name": name}
    folder = key_dir(source)
    path = folder / f"{name}.key"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(kek)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise KeyUnavailable(f"cannot write the database key file {path}: {e}") from e
    return kek, {"keyfile": f"{name}.key"}


def _existing_kek(source: KeySource, wrapped: WrappedKey) -> bytes:
    """The KEK that wrapped ``wrapped``, from the source; KeyUnavailable when it cannot be found."""
    if source.kind == "passphrase":
        if not source.passphrase:
            raise KeyUnavailable("this database is encrypted with a passphrase: type it "
                                 f"(or set ${PASSPHRASE_ENV})")
        return _scrypt(source.passphrase, wrapped.params)
    if source.kind == "keyring":
        name = str(wrapped.params.get("keyring_name", ""))
        try:
            value = _keyring().get_password(str(wrapped.params.get("keyring_service", KEYRING_SERVICE)), name)
        except Exception as e:
            raise KeyUnavailable(f"the OS keyring cannot be read: {e}") from e
        if value is None:
            raise KeyUnavailable(f"the OS keyring holds no key {name!r} for this database")
        try:
            return base64.b64decode(value, validate=True)
        except ValueError as e:
            raise WrongKey(f"the OS keyring entry {name!r} is not a biometrix key") from e
    path = key_dir(source) / str(wrapped.params.get("keyfile", ""))
    try:
        mode = path.stat().st_mode
        kek = path.read_bytes()
    except FileNotFoundError:
        raise KeyUnavailable(f"the key file of this database is missing: {path} (restore it from where you "
                             "keep key backups)") from None
    except OSError as e:
        raise KeyUnavailable(f"cannot read the database key file {path}: {e}") from e
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("the key file %s can be read by other users; chmod 600 it", path)
    return kek


def _scrypt(passphrase: str, params: dict[str, Any]) -> bytes:
    try:
        salt = base64.b64decode(params["salt"], validate=True)
        n, r, p = int(params["n"]), int(params["r"]), int(params["p"])
    except (KeyError, ValueError, TypeError) as e:
        raise StoreError(f"the database's key parameters are damaged ({e})") from e
    if not (2**10 <= n <= 2**20 and 1 <= r <= 32 and 1 <= p <= 16):
        raise StoreError("the database's key parameters are out of range; refusing to derive the key")
    return hashlib.scrypt(passphrase.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * 2**20, dklen=32)


def _keyring() -> Any:
    try:
        import keyring
    except ModuleNotFoundError as e:
        raise KeyUnavailable("the 'keyring' package is not installed; use a passphrase or a key file") from e
    return keyring


def _wrap_aad(database_id: str, key_id: str) -> bytes:
    return f"biometrix-data-key|{database_id}|{key_id}".encode()


class DataKey:
    """An unwrapped data key: seals and opens values bound to (database, column, owner)."""

    def __init__(self, key: bytes, *, key_id: str, database_id: str) -> None:
        if len(key) != 32:
            raise StoreError("a data key is 32 bytes")
        self.key_id = key_id
        self.database_id = database_id
        self._aead = _aesgcm(key)
        self._mac = hmac.new(key, b"biometrix-sample-digest", hashlib.sha256).digest()

    def _aad(self, column: str, owner: str) -> bytes:
        return json.dumps([self.database_id, column, owner], separators=(",", ":")).encode("utf-8")

    def seal(self, plaintext: bytes, *, column: str, owner: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE)
        return _VERSION + nonce + self._aead.encrypt(nonce, bytes(plaintext), self._aad(column, owner))

    def open(self, sealed: bytes, *, column: str, owner: str) -> bytes:
        blob = bytes(sealed)
        if len(blob) < 1 + _NONCE + _TAG or blob[:1] != _VERSION:
            raise StoreError(f"an encrypted {column} value of {owner!r} is damaged (not a sealed value)")
        try:
            return self._aead.decrypt(blob[1:1 + _NONCE], blob[1 + _NONCE:], self._aad(column, owner))
        except _invalid_tag() as e:
            raise StoreError(f"an encrypted {column} value of {owner!r} fails its integrity check: it was "
                             "altered or moved from another row") from e

    def digest(self, data: bytes) -> str:
        """A keyed digest of a raw sample, to find an identical sample without decrypting every row."""
        return hmac.new(self._mac, bytes(data), hashlib.sha256).hexdigest()


def new_data_key(source: KeySource, database_id: str) -> tuple[DataKey, WrappedKey]:
    """A fresh data key and its wrapped form, its KEK stored (key file, keyring) or derived (passphrase)."""
    key_id = secrets.token_hex(8)
    kek, params = _new_kek(source, database_id, key_id)
    dek = secrets.token_bytes(32)
    nonce = secrets.token_bytes(_NONCE)
    wrapped = nonce + _aesgcm(kek).encrypt(nonce, dek, _wrap_aad(database_id, key_id))
    return DataKey(dek, key_id=key_id, database_id=database_id), WrappedKey(key_id, source.kind, params, wrapped)


def unwrap(source: KeySource, wrapped: WrappedKey, database_id: str) -> DataKey:
    """Open the data key with the KEK from ``source``; WrongKey when it does not fit."""
    kek = _existing_kek(source, wrapped)
    if len(kek) != 32:
        raise WrongKey(f"the {_KIND_WORDS[source.kind]} holds no 32-byte key for this database")
    blob = wrapped.wrapped
    try:
        dek = _aesgcm(kek).decrypt(blob[:_NONCE], blob[_NONCE:], _wrap_aad(database_id, wrapped.key_id))
    except _invalid_tag():
        what = "passphrase" if source.kind == "passphrase" else _KIND_WORDS[source.kind] + " key"
        raise WrongKey(f"wrong {what}: it does not open this database's data key; nothing was changed") from None
    return DataKey(dek, key_id=wrapped.key_id, database_id=database_id)


def forget_kek(wrapped: WrappedKey, source: KeySource) -> None:
    """Remove a retired KEK from the keyring or key folder (backups made under it then need it kept elsewhere)."""
    if wrapped.kind == "keyring":
        try:
            _keyring().delete_password(str(wrapped.params.get("keyring_service", KEYRING_SERVICE)),
                                       str(wrapped.params.get("keyring_name", "")))
        except Exception as e:
            log.warning("could not remove the retired key from the OS keyring: %s", e)
    elif wrapped.kind == "keyfile":
        path = key_dir(source) / str(wrapped.params.get("keyfile", ""))
        path.unlink(missing_ok=True)
