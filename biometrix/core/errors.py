"""The exception hierarchy: every error a user can cause is a BiometrixError with a one-line message."""

from __future__ import annotations

import copy


class BiometrixError(Exception):
    """Base of every error biometrix raises on purpose; ``str(err)`` is one clear line for the user."""


class InvalidInput(BiometrixError, ValueError):
    """Input that cannot be used as given (wrong shape, NaN, empty list...)."""


class UnreadableImage(InvalidInput):
    """A file that is missing, empty, corrupt or not an image."""


class ImageTooLarge(InvalidInput):
    """An image whose header declares more pixels than the configured limit (decompression bomb guard)."""


class PenDataTooLarge(InvalidInput):
    """Pen input over a limit (file size, points, strokes or duration), refused before it is parsed or drawn."""


class EmptySignature(InvalidInput):
    """A signature image or pen recording with no ink in it."""


class LowQuality(InvalidInput):
    """A sample refused by a quality check; ``reasons`` says why."""

    def __init__(self, message: str, reasons: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.reasons = reasons


class NoFaceFound(LowQuality):
    """No face was detected in the image."""


class MultipleFaces(LowQuality):
    """More than one face was detected where exactly one is needed."""


class PresentationRefused(LowQuality):
    """A face presentation that failed the liveness challenge (``reasons``: its code, e.g. "flat_motion")."""


class CameraUnavailable(BiometrixError):
    """No camera could be opened (none connected, in use, or a video file that cannot be read)."""


class NotEnrolled(BiometrixError, LookupError):
    """The subject (or its template for this modality and model) is not in the store."""


class AlreadyEnrolled(BiometrixError):
    """The subject already has a template for this modality and model."""


class ModelMismatch(BiometrixError):
    """Embeddings or thresholds of different models were compared."""


class ModelIntegrityError(BiometrixError):
    """A model file whose sha256 differs from its card, or a card that cannot be read."""


class RuntimeUnavailable(BiometrixError):
    """No inference runtime (onnxruntime) is installed."""


class SchemaTooNew(BiometrixError):
    """The database was written by a newer biometrix than this one."""


class StoreError(BiometrixError):
    """The enrollment database cannot be opened or used."""


class WrongKey(StoreError):
    """The passphrase or key given does not open the database's data key; nothing was read or changed."""


class KeyUnavailable(StoreError):
    """The database is encrypted and its key cannot be had (no passphrase typed, key file or keyring missing)."""


class StoreUnavailable(StoreError):
    """The database server cannot be reached now (restarting, failing over, network): nothing was changed that
    was not reported done; retry the operation."""


class AccessDenied(BiometrixError, PermissionError):
    """The operator (or nobody logged in) may not do this."""


class LoginFailed(AccessDenied):
    """Wrong operator name or password, or a disabled account."""


class AccountLocked(AccessDenied):
    """Too many failed logins: the account is locked until an admin unlocks it or the lock expires."""


class TamperDetected(StoreError):
    """A protected value (a setting, the audit head, the key record) fails its integrity check: it was changed
    outside biometrix."""


class ModelNotTrusted(ModelIntegrityError):
    """A model or card that the database does not trust (not the one an admin pinned, or changed since)."""


def naming(err: BiometrixError, what: str) -> BiometrixError:
    """``err`` again (the same type, the same attributes, such as ``LowQuality.reasons``) with a message that names
    ``what`` (e.g. the file of a multi-file enrollment that was refused); unchanged when it names it already."""
    message = str(err)
    if what in message:
        return err
    named = copy.copy(err)
    named.args = (f"{what}: {message}",)
    return named


class ServerUnavailable(BiometrixError):
    """The biometrix server could not be reached, refused the connection's TLS, or answered that it cannot decide
    now (its database restarting: retry after ``retry_after`` seconds). No decision was made."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotOnServer(BiometrixError, AttributeError):
    """A use case a client of the server does not offer (models, policy, backups: run them on the server's
    database)."""
