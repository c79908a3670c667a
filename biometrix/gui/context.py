"""What every page shares: the settings, the task runner, and the lazily created service (used off the UI thread)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from biometrix.core.det import card_det
from biometrix.core.det import threshold_at_fmr as det_threshold
from biometrix.core.roles import Operator
from biometrix.core.types import Modality, Threshold
from biometrix.gui.qt import QObject, QWidget, Signal
from biometrix.gui.settings import GuiSettings, save_settings
from biometrix.gui.tasks import OnError, OnSuccess, TaskRunner

if TYPE_CHECKING:  # the service (numpy, cv2, onnxruntime) is imported on the worker thread, after the window shows
    from biometrix.service import Biometrix

log = logging.getLogger(__name__)

ServiceFactory = Callable[[GuiSettings], "Biometrix"]


def make_service(settings: GuiSettings) -> Biometrix:
    """The service the settings describe; a threshold other than the card's default is looked up by name, or
    read off the card's validation DET curve at the settings' target FMR."""
    from biometrix.service import Biometrix

    def build(thresholds: dict[str, Threshold | None]) -> Biometrix:
        return Biometrix(settings.db_path, models_dir=settings.models_dir, signature_model=settings.signature_model,
                         face_model=settings.face_model, threshold=thresholds.get("signature"),
                         face_threshold=thresholds.get("face"), refer_band=settings.refer_band)

    bx = build({})
    chosen: dict[str, Threshold | None] = {}
    wanted = ((Modality.SIGNATURE, settings.signature_threshold, settings.signature_target_fmr),
              (Modality.FACE, settings.face_threshold, settings.face_target_fmr))
    for modality, name, target in wanted:
        if target is not None:
            card = bx.card(modality)
            det = card_det(card.evaluation)
            if det is not None:
                chosen[modality.value] = det_threshold(det, target, model_id=card.model_id, distance=card.distance)
                continue
            log.warning("%s has no validation DET curve; target FMR %g ignored, threshold %r used",
                        card.model_id, target, name)
        if name != "default":
            chosen[modality.value] = bx.card(modality).threshold(name)
    return build(chosen) if chosen else bx


class AppContext(QObject):
    """Owns the settings and the one service instance; pages run service work through ``run``.

    The service is created by the first op that needs it, on the worker thread, so the window shows
    before numpy, OpenCV or onnxruntime are imported and before any model is loaded.
    """

    settings_changed = Signal(object)  # GuiSettings
    status = Signal(str)

    def __init__(self, settings: GuiSettings, *, settings_path: Path | None, parent: QObject | None = None,
                 service_factory: ServiceFactory = make_service) -> None:
        super().__init__(parent)
        self.settings = settings
        self.settings_path = settings_path
        self.tasks = TaskRunner(self)
        self._factory = service_factory
        self._service: Biometrix | None = None  # touched on the worker thread only
        self.operator: Operator | None = None  # the logged-in operator, carried over when the service is re-made

    # --- service work ------------------------------------------------------------------------------

    def _ensure_service(self) -> Biometrix:
        if self._service is None:
            self._service = self._factory(self.settings)
            self._service.resume(self.operator)
        return self._service

    def login(self, bx: Biometrix, name: str, password: str, *, create_admin: bool = False) -> Operator:
        """On the worker: log in (first creating the admin when ``create_admin``); remembered for later services."""
        if create_admin:
            bx.add_operator(name, "admin", password)
        who = bx.login(name, password)
        self.operator = who
        return who

    def logout(self, bx: Biometrix) -> None:
        bx.logout()
        self.operator = None

    def run(self, parent: QWidget | None, fn: Callable[[Biometrix], Any], *, on_success: OnSuccess | None = None,
            on_error: OnError | None = None) -> int:
        """Run ``fn(service)`` off the UI thread; callbacks on the UI thread (see ``TaskRunner.run_op``)."""
        return self.tasks.run_op(parent, lambda: fn(self._ensure_service()), on_success=on_success,
                                 on_error=on_error)

    # --- settings ----------------------------------------------------------------------------------

    def apply_settings(self, settings: GuiSettings, *, save: bool = True) -> None:
        """Adopt new settings: save them, and re-create the service (closed on the worker) when it depends on them."""
        old = self.settings
        self.settings = settings
        if save and self.settings_path is not None:
            save_settings(self.settings_path, settings)
        service_keys = ("db_path", "models_dir", "signature_model", "face_model", "signature_threshold",
                        "face_threshold", "signature_target_fmr", "face_target_fmr")
        if any(getattr(old, k) != getattr(settings, k) for k in service_keys):
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
