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

The key record itself is authenticated: the wrapped data key's associated data (format 2) names the database,
the key, the kind of store that keeps its KEK and every parameter of the record (the KEK's file or keyring name,
the scrypt salt, the first audit row that carries a MAC), so a record edited in place does not open; a key file
or keyring entry must carry the name derived from the database and key ids, never a path. The data key also
derives the keys that MAC the audit rows and the protected settings, and sign session tokens (``DataKey.mac``).
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
from collections.abc import Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii
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


def _existing_kek(source: KeySource, wrapped: WrappedKey, database_id: str) -> bytes:
    """The KEK that wrapped ``wrapped``, from the source; KeyUnavailable when it cannot be found.

    A key file or keyring entry is looked up only under the name derived from the database and key ids (never
    a path or another name the record gives), so an edited record cannot point at a key of the editor's making.
    """
    expected = _kek_name(database_id, wrapped.key_id)
    if source.kind == "passphrase":
        if not source.passphrase:
            raise KeyUnavailable("this database is encrypted with a passphrase: type it "
                                 f"(or set ${PASSPHRASE_ENV})")
        return _scrypt(source.passphrase, wrapped.params)
    if source.kind == "keyring":
        name = str(wrapped.params.get("keyring_name", ""))
        if name != expected:
            raise WrongKey("the database's key record names a keyring entry that is not this database's "
                           f"({name[:80]!r}): the record was altered; nothing was read")
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
    name = str(wrapped.params.get("keyfile", ""))
    if name != f"{expected}.key":
        raise WrongKey("the database's key record names a key file that is not this database's "
                       f"({name[:80]!r}): the record was altered; nothing was read")
    path = key_dir(source) / name
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


#: The format of a key record's associated data: 1 (database and key ids only) or 2 (the whole record).
WRAP_FORMAT = 2


def _wrap_aad(database_id: str, key_id: str, kind: str | None = None, params: dict[str, Any] | None = None) -> bytes:
    if params is None or int(params.get("format", 1)) == 1:
        return f"biometrix-data-key|{database_id}|{key_id}".encode()
    record = json.dumps([database_id, key_id, kind, params], sort_keys=True, separators=(",", ":"))
    return b"biometrix-data-key|2|" + record.encode("utf-8")


def expected_kek_name(database_id: str, key_id: str) -> str:
    """The only name a key file (plus ``.key``) or keyring entry of this key may have."""
    return _kek_name(database_id, key_id)


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
        """``json.dumps([database_id, column, owner], separators=(",", ":"))`` in UTF-8, made without json.dumps's
        per-call set-up (the bulk read of an identification index opens millions of values)."""
        quote = encode_basestring_ascii  # how json.dumps quotes a string (ensure_ascii)
        return f"[{quote(self.database_id)},{quote(column)},{quote(owner)}]".encode()

    def seal(self, plaintext: bytes, *, column: str, owner: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE)
        return _VERSION + nonce + self._aead.encrypt(nonce, bytes(plaintext), self._aad(column, owner))

    def open(self, sealed: bytes, *, column: str, owner: str) -> bytes:
        return self._open(sealed, self._aad(column, owner), column=column, owner=owner)

    def open_many(self, sealed: Sequence[bytes], *, column: str, owner: str) -> list[bytes]:
        """``open`` for several values of one column and owner (the associated data is made once)."""
        aad = self._aad(column, owner)
        return [self._open(s, aad, column=column, owner=owner) for s in sealed]

    def _open(self, sealed: bytes, aad: bytes, *, column: str, owner: str) -> bytes:
        blob = sealed if isinstance(sealed, bytes) else bytes(sealed)
        if len(blob) < 1 + _NONCE + _TAG or blob[:1] != _VERSION:
            raise StoreError(f"an encrypted {column} value of {owner!r} is damaged (not a sealed value)")
        try:
            return self._aead.decrypt(blob[1:1 + _NONCE], blob[1 + _NONCE:], aad)
        except _invalid_tag() as e:
            raise StoreError(f"an encrypted {column} value of {owner!r} fails its integrity check: it was "
                             "altered or moved from another row") from e

    def digest(self, data: bytes) -> str:
        """A keyed digest of a raw sample, to find an identical sample without decrypting every row."""
        return hmac.new(self._mac, bytes(data), hashlib.sha256).hexdigest()



class IntegrityKey:
    """The database's MAC key: 32 random bytes kept sealed by the data key (``COLUMN``), so that only whoever
    opens the data key can compute a MAC. A key rotation re-seals it unchanged, so MACs written before the
    rotation still verify. Per-purpose keys ("audit", "settings", "session") are derived from it."""

    COLUMN = "store_meta.integrity_key"

    def __init__(self, key: bytes, *, database_id: str) -> None:
        if len(key) != 32:
            raise StoreError("the database's integrity key is damaged (not 32 bytes)")
        self._key = bytes(key)
        self.database_id = database_id

    @classmethod
    def new(cls, database_id: str) -> IntegrityKey:
        return cls(secrets.token_bytes(32), database_id=database_id)

    def sealed_by(self, dek: DataKey) -> bytes:
        return dek.seal(self._key, column=self.COLUMN, owner=self.database_id)

    @classmethod
    def opened_by(cls, dek: DataKey, sealed: bytes) -> IntegrityKey:
        return cls(dek.open(sealed, column=cls.COLUMN, owner=dek.database_id), database_id=dek.database_id)

    def mac(self, purpose: str, data: bytes) -> str:
        """HMAC-SHA-256 (hex) of ``data`` under the key derived for ``purpose``."""
        key = hmac.new(self._key, f"{purpose}|{self.database_id}".encode(), hashlib.sha256).digest()
        return hmac.new(key, bytes(data), hashlib.sha256).hexdigest()

    def mac_ok(self, purpose: str, data: bytes, tag: object) -> bool:
        """Whether ``tag`` is ``mac(purpose, data)`` (compared in constant time)."""
        return isinstance(tag, str) and hmac.compare_digest(self.mac(purpose, data), tag)


def _wrap(kek: bytes, dek: bytes, database_id: str, key_id: str, kind: str, params: dict[str, Any]) -> bytes:
    nonce = secrets.token_bytes(_NONCE)
    return nonce + _aesgcm(kek).encrypt(nonce, dek, _wrap_aad(database_id, key_id, kind, params))


def new_data_key(source: KeySource, database_id: str, *, audit_mac_from: int = 1) -> tuple[DataKey, WrappedKey]:
    """A fresh data key and its wrapped form (format 2), its KEK stored (key file, keyring) or derived
    (passphrase). ``audit_mac_from`` is the first audit row MACed under it, bound into the record."""
    key_id = secrets.token_hex(8)
    kek, params = _new_kek(source, database_id, key_id)
    params = {**params, "format": WRAP_FORMAT, "audit_mac_from": int(audit_mac_from)}
    dek = secrets.token_bytes(32)
    wrapped = _wrap(kek, dek, database_id, key_id, source.kind, params)
    return DataKey(dek, key_id=key_id, database_id=database_id), WrappedKey(key_id, source.kind, params, wrapped)


def rewrap(source: KeySource, wrapped: WrappedKey, database_id: str, *, audit_mac_from: int) -> WrappedKey:
    """The same data key re-wrapped in format 2 under the same KEK (a database upgraded from format 1)."""
    kek = _existing_kek(source, wrapped, database_id)
    dek = _unwrap_with(kek, source, wrapped, database_id)
    params = {**wrapped.params, "format": WRAP_FORMAT, "audit_mac_from": int(audit_mac_from)}
    return WrappedKey(wrapped.key_id, wrapped.kind, params,
                      _wrap(kek, dek, database_id, wrapped.key_id, wrapped.kind, params))


def _unwrap_with(kek: bytes, source: KeySource, wrapped: WrappedKey, database_id: str) -> bytes:
    if len(kek) != 32:
        raise WrongKey(f"the {_KIND_WORDS[source.kind]} holds no 32-byte key for this database")
    blob = wrapped.wrapped
    aad = _wrap_aad(database_id, wrapped.key_id, wrapped.kind, wrapped.params)
    try:
        return bytes(_aesgcm(kek).decrypt(blob[:_NONCE], blob[_NONCE:], aad))
    except _invalid_tag():
        what = "passphrase" if source.kind == "passphrase" else _KIND_WORDS[source.kind] + " key"
        if wrapped_format(wrapped) >= 2:
            raise WrongKey(f"wrong {what}, or the database's key record was altered: it does not open this "
                           "database's data key; nothing was changed") from None
        raise WrongKey(f"wrong {what}: it does not open this database's data key; nothing was changed") from None


def wrapped_format(wrapped: WrappedKey) -> int:
    """The format of a key record (1: before the record was authenticated; 2: authenticated)."""
    try:
        return int(wrapped.params.get("format", 1))
    except (TypeError, ValueError):
        raise StoreError("the database's key record is damaged (format)") from None


def unwrap(source: KeySource, wrapped: WrappedKey, database_id: str) -> DataKey:
    """Open the data key with the KEK from ``source``; WrongKey when it does not fit (or the record was edited)."""
    dek = _unwrap_with(_existing_kek(source, wrapped, database_id), source, wrapped, database_id)
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
