"""The app's settings file (JSON): where the database and the models are, capture, the kiosk and its PIN hash."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
import math
import os
import secrets
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from biometrix.core.errors import InvalidInput
from biometrix.gui.i18n import LANGUAGES

log = logging.getLogger(__name__)

SETTINGS_ENV = "BIOMETRIX_GUI_SETTINGS"
PIN_ENV = "BIOMETRIX_KIOSK_PIN"
SETTINGS_FILENAME = "gui.json"
PIN_ITERATIONS = 200_000
MODALITIES = ("signature", "face")
#: A face kiosk's liveness check: "off", or "challenge" (head turns; biometrix.service.liveness).
LIVENESS_MODES = ("off", "challenge")
_OPTIONAL_TEXT = ("db_path", "models_dir", "signature_model", "face_model", "pin_salt", "pin_hash", "server_url",
                  "ca_file")
_TEXT = ("camera", "kiosk_modality", "kiosk_liveness", "language")
#: Keys of older settings files that now live in the database's decision policy (``biometrix policy``): read and
#: ignored with a warning, so that an old file still loads and a user's file never decides.
POLICY_KEYS = ("signature_threshold", "face_threshold", "signature_target_fmr", "face_target_fmr", "refer_band")


@dataclass(frozen=True)
class GuiSettings:
    """What the teller app and the kiosk remember between runs.

    ``db_path`` None lets the service choose (``$BIOMETRIX_DB``, ``enrollment_db/``, the user data folder).
    ``models_dir``, ``signature_model`` and ``face_model`` only say where the model files are and which to
    load (None: the one the database trusts); the service refuses a model the database does not trust.
    What decides (thresholds, target FMRs, the Refer band) is the database's policy, not this file's.
    ``camera`` is a device index ("0") or a video file standing in for a camera. ``kiosk_liveness`` is this
    kiosk's liveness check for faces: "off" or "challenge" (the customer turns the head as asked; audited).
    ``pin_salt`` / ``pin_hash`` hold the kiosk supervisor PIN as salted PBKDF2-SHA256 (never the PIN).
    ``language`` is the app's language (``i18n.LANGUAGES``), applied at the next start.
    ``server_url`` (https://host:port) makes the app a client of a biometrix server (no database, key or model
    here; ``db_path`` and the model settings are then unused), trusting ``ca_file`` (the bank's CA) when given.
    """

    db_path: str | None = None
    models_dir: str | None = None
    signature_model: str | None = None
    face_model: str | None = None
    references: int = 5
    camera: str = "0"
    kiosk_modality: str = "face"
    kiosk_idle_s: float = 60.0
    kiosk_liveness: str = "off"
    pin_salt: str | None = None
    pin_hash: str | None = None
    language: str = "en"
    server_url: str | None = None
    ca_file: str | None = None

    def __post_init__(self) -> None:
        # Types first: a settings file is user input (a string "0.5", 1e999 or Infinity must not get through).
        for name in _OPTIONAL_TEXT + _TEXT:
            value = getattr(self, name)
            if not (isinstance(value, str) or (value is None and name in _OPTIONAL_TEXT)):
                raise InvalidInput(f"{name} must be a string{' or null' if name in _OPTIONAL_TEXT else ''}, "
                                   f"got {type(value).__name__}")
        value = self.kiosk_idle_s
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidInput(f"kiosk_idle_s must be a finite number, got {value!r:.40}")
        if isinstance(self.references, bool) or not isinstance(self.references, int):
            raise InvalidInput(f"references must be an integer, got {self.references!r:.40}")
        if not 3 <= int(self.references) <= 20:
            raise InvalidInput(f"references must be between 3 and 20, got {self.references}")
        if self.kiosk_modality not in MODALITIES:
            raise InvalidInput(f"kiosk_modality must be one of {', '.join(MODALITIES)}, got {self.kiosk_modality!r}")
        if self.language not in LANGUAGES:
            raise InvalidInput(f"language must be one of {', '.join(LANGUAGES)}, got {self.language!r:.20}")
        if self.kiosk_liveness not in LIVENESS_MODES:
            raise InvalidInput(f"kiosk_liveness must be one of {', '.join(LIVENESS_MODES)}, "
                               f"got {self.kiosk_liveness!r}")
        if not float(self.kiosk_idle_s) > 0:
            raise InvalidInput(f"kiosk_idle_s must be positive, got {self.kiosk_idle_s}")

    def replace(self, **changes: Any) -> GuiSettings:
        return dataclasses.replace(self, **changes)

    def with_pin(self, pin: str) -> GuiSettings:
        """A copy holding a fresh salt and the hash of ``pin`` (4 to 12 digits)."""
        check_pin_format(pin)
        salt = secrets.token_hex(16)
        return self.replace(pin_salt=salt, pin_hash=hash_pin(pin, salt))

    @property
    def has_pin(self) -> bool:
        return bool(self.pin_salt and self.pin_hash)

    def pin_matches(self, pin: str) -> bool:
        if not self.has_pin:
            return False
        return hmac.compare_digest(hash_pin(pin, str(self.pin_salt)), str(self.pin_hash))


def check_pin_format(pin: str) -> None:
    if not (isinstance(pin, str) and pin.isdigit() and 4 <= len(pin) <= 12):
        raise InvalidInput("a supervisor PIN is 4 to 12 digits")


def hash_pin(pin: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), bytes.fromhex(salt), PIN_ITERATIONS).hex()


def default_settings_path() -> Path:
    """``$BIOMETRIX_GUI_SETTINGS`` when set, else ``gui.json`` in the platform's user config folder."""
    env = os.environ.get(SETTINGS_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("biometrix", appauthor=False)) / SETTINGS_FILENAME


def load_settings(path: str | os.PathLike[str]) -> GuiSettings:
    """The settings in ``path``; defaults when the file does not exist; unknown keys are an error, except the
    ``POLICY_KEYS`` of older files, which are ignored with a warning (the database's policy decides)."""
    p = Path(path)
    if not p.exists():
        return GuiSettings()
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidInput(f"cannot read settings {p}: {err}") from None
    except json.JSONDecodeError as err:
        raise InvalidInput(f"settings {p} are not valid JSON ({err.msg} at line {err.lineno})") from None
    except (RecursionError, ValueError) as err:  # nested too deeply, or an integer too long to read
        raise InvalidInput(f"settings {p} are not usable JSON ({type(err).__name__})") from None
    if not isinstance(raw, dict):
        raise InvalidInput(f"settings {p} must hold a JSON object")
    legacy = sorted(k for k in POLICY_KEYS if k in raw)
    if legacy:
        log.warning("settings %s: %s ignored: thresholds and the Refer band now live in the database's decision "
                    "policy (an admin changes them: 'biometrix policy set' or the Settings page)", p, ", ".join(legacy))
        raw = {k: v for k, v in raw.items() if k not in POLICY_KEYS}
    known = {f.name for f in fields(GuiSettings)}
    unknown = sorted(set(raw) - known)
    if unknown:
        shown = (k if k.isprintable() else repr(k) for k in unknown)  # keep the message on one line
        raise InvalidInput(f"settings {p}: unknown key(s) {', '.join(shown)}")
    try:
        return GuiSettings(**raw)
    except (TypeError, ValueError) as err:
        raise InvalidInput(f"settings {p}: {err}") from None


def save_settings(path: str | os.PathLike[str], settings: GuiSettings) -> Path:
    """Write ``settings`` atomically (temporary file + rename); the file is readable by its owner only."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(json.dumps(dataclasses.asdict(settings), indent=2) + "\n", encoding="utf-8")
    os.chmod(tmp, 0o600)
    os.replace(tmp, p)
    return p
