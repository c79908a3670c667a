"""What every page shares: the settings, the task runner, and the lazily created service (used off the UI thread)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from biometrix.core.errors import AccessDenied, BiometrixError
from biometrix.core.roles import Operator
from biometrix.gui.qt import QObject, QWidget, Signal
from biometrix.gui.settings import GuiSettings, save_settings
from biometrix.gui.tasks import OnError, OnSuccess, TaskRunner, error_message

if TYPE_CHECKING:  # the service (numpy, cv2, onnxruntime) is imported on the worker thread, after the window shows
    from biometrix.service import Biometrix

log = logging.getLogger(__name__)

ServiceFactory = Callable[[GuiSettings], "Biometrix"]
#: The settings the service is built from: a change re-creates it (the operator carried over by the session token).
SERVICE_KEYS = ("db_path", "models_dir", "signature_model", "face_model", "server_url", "ca_file")


def make_service(settings: GuiSettings) -> Biometrix:
    """The service the settings describe: where the database and the models are, and which model files to load.
    Thresholds and the Refer band are the database's decision policy (``Biometrix.policy``), not the settings'.
    With ``server_url`` it is the server's service over HTTPS (``client.RemoteBiometrix``): no database, key or model
    here, and an unreachable server is an error shown to the teller, never a local decision."""
    if settings.server_url:
        try:
            from biometrix.client import RemoteBiometrix
        except ModuleNotFoundError as err:
            if err.name != "httpx":
                raise
            raise BiometrixError("connecting to a server needs httpx: pip install 'biometrix[client]'") from None

        return RemoteBiometrix(settings.server_url, ca_file=settings.ca_file)  # type: ignore[return-value]
    from biometrix.service import Biometrix

    return Biometrix(settings.db_path, models_dir=settings.models_dir, signature_model=settings.signature_model,
                     face_model=settings.face_model)


class AppContext(QObject):
    """Owns the settings and the one service instance; pages run service work through ``run``.

    The service is created by the first op that needs it, on the worker thread, so the window shows
    before numpy, OpenCV or onnxruntime are imported and before any model is loaded.

    **Who is logged in.** After a login the context keeps the service's session token (``token``), never the
    password, and renews it after every op run for the logged-in operator, so that it does not expire while the
    teller works. A re-created service (a settings change) acts for that operator through ``Biometrix.resume``;
    the service checks the token (signed by the database, 15 minutes). When the service no longer acts for the
    operator (the token expired or is not this database's, the account was disabled), the token is dropped and
    ``login_required(reason)`` is emitted on the UI thread: the window shows the login again.
    ``operator`` is who the service last said it acts for, for display only.
    """

    settings_changed = Signal(object)  # GuiSettings
    status = Signal(str)
    login_required = Signal(str)  # why: the session was lost and the operator must log in again

    def __init__(self, settings: GuiSettings, *, settings_path: Path | None, parent: QObject | None = None,
                 service_factory: ServiceFactory = make_service) -> None:
        super().__init__(parent)
        self.settings = settings
        self.settings_path = settings_path
        self.tasks = TaskRunner(self)
        self._factory = service_factory
        self._service: Biometrix | None = None  # touched on the worker thread only
        self.token: str | None = None  # the logged-in operator's session token (written on the worker thread)
        self.operator: Operator | None = None  # who the service acts for, for display
        self._session_lost: str | None = None  # set on the worker, reported on the UI thread

    # --- service work ------------------------------------------------------------------------------

    def _ensure_service(self) -> Biometrix:
        if self._service is not None:
            return self._service
        bx = self._factory(self.settings)
        if self.token is not None:
            try:
                self.operator = bx.resume(self.token)
            except AccessDenied as err:  # expired, or not this database's: nobody is logged in
                self._lose_session(str(err))
                self._service = bx
                raise
            except BaseException:
                bx.close()  # the database could not be read: the token stays for the next service
                raise
        self._service = bx
        return bx

    def _lose_session(self, reason: str) -> None:
        self.token, self.operator = None, None
        self._session_lost = reason

    def _keep_session(self, bx: Biometrix) -> None:
        """After an op: renew the token of the operator the service still acts for, or report the session lost."""
        if self.token is None:
            return
        if bx.operator is None:  # the service dropped the operator (account disabled or removed, or a logout)
            self._lose_session("your operator account was disabled or removed; log in again")
            return
        self.token = bx.session_token()
        self.operator = bx.operator

    def login(self, bx: Biometrix, name: str, password: str, *, create_admin: bool = False) -> Operator:
        """On the worker: log in (first creating the admin when ``create_admin``) and keep the session token."""
        self.token, self.operator = None, None
        if create_admin:
            bx.add_operator(name, "admin", password)
        who = bx.login(name, password)
        self.token, self.operator = bx.session_token(), who
        return who

    def logout(self, bx: Biometrix) -> None:
        self.token, self.operator = None, None
        bx.logout()

    def run(self, parent: QWidget | None, fn: Callable[[Biometrix], Any], *, on_success: OnSuccess | None = None,
            on_error: OnError | None = None) -> int:
        """Run ``fn(service)`` off the UI thread; callbacks on the UI thread (see ``TaskRunner.run_op``)."""
        def op() -> Any:
            bx = self._ensure_service()
            try:
                return fn(bx)
            finally:
                self._keep_session(bx)

        def done(value: Any) -> None:
            self._report_lost_session()
            if on_success is not None:
                on_success(value)

        def failed(err: BaseException) -> None:
            self._report_lost_session()
            if on_error is not None:
                on_error(err)
            else:
                log.warning("background task failed: %s", error_message(err))

        return self.tasks.run_op(parent, op, on_success=done, on_error=failed)

    def _report_lost_session(self) -> None:
        reason, self._session_lost = self._session_lost, None
        if reason is not None:
            self.login_required.emit(reason)

    # --- settings ----------------------------------------------------------------------------------

    def apply_settings(self, settings: GuiSettings, *, save: bool = True) -> None:
        """Adopt new settings: save them, and re-create the service (closed on the worker) when it depends on them."""
        old = self.settings
        self.settings = settings
        if save and self.settings_path is not None:
            save_settings(self.settings_path, settings)
        if any(getattr(old, k) != getattr(settings, k) for k in SERVICE_KEYS):
            self.tasks.run_op(None, self._drop_service)
        self.settings_changed.emit(settings)

    def _drop_service(self) -> None:
        if self._service is not None:
            self._service.close()
            self._service = None

    def shutdown(self, msecs: int = 30_000) -> None:
        """Close the service on the worker thread and wait for the work in flight."""
        self.tasks.run_op(None, self._drop_service)
        self.tasks.wait(msecs)
