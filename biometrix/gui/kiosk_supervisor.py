"""The kiosk's supervisor screen (after the PIN): leave the kiosk, or an admin unlocks or ends its test mode."""

from __future__ import annotations

from biometrix.gui.context import AppContext
from biometrix.gui.i18n import translate
from biometrix.gui.pages.base import name_controls
from biometrix.gui.qt import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from biometrix.gui.tasks import error_message

#: How long a test mode lasts at most; it also ends when the kiosk resets after being idle, or is locked.
TEST_MODE_SECONDS = 600



class SupervisorDialog(QDialog):
    """What a supervisor may do once the PIN is right: leave the kiosk (``LEAVE``), or start the test mode with an
    admin's name and password, checked by the service (``TEST_ON``; refused and audited for anyone below admin),
    or end a test mode that is on (``TEST_OFF``). Cancel goes back to the kiosk as it was."""

    LEAVE, TEST_ON, TEST_OFF = 10, 11, 12

    def __init__(self, ctx: AppContext, *, test_mode_on: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(translate("kiosk_supervisor", "Supervisor"))
        self.unlocked_by: str | None = None
        self.name_edit = QLineEdit()
        self.name_edit.setAccessibleName(translate("kiosk_supervisor", "admin name"))
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setAccessibleName(translate("kiosk_supervisor", "admin password"))
        self.status = QLabel(translate("kiosk_supervisor", "Test mode lets a photo or scan file stand in for the "
                                                           "camera or the pad, for "
                                 "testing only: an admin logs in to start it, and every decision in it is "
                                 "audited as a test. It ends after {minutes} minutes, when the kiosk is idle, or "
                                 "here.").format(minutes=TEST_MODE_SECONDS // 60))
        self.status.setWordWrap(True)
        self.leave_button = QPushButton(translate("kiosk_supervisor", "Leave the kiosk"))
        self.test_button = QPushButton(translate("kiosk_supervisor", "Start test mode"))
        self.end_button = QPushButton(translate("kiosk_supervisor", "End test mode"))
        self.cancel_button = QPushButton(translate("kiosk_supervisor", "Back to the kiosk"))
        for b in (self.leave_button, self.end_button, self.cancel_button):
            b.setAutoDefault(False)
        self.test_button.setDefault(True)
        self.end_button.setVisible(test_mode_on)
        self.test_button.setVisible(not test_mode_on)
        form = QFormLayout()
        form.addRow(translate("kiosk_supervisor", "Admin name"), self.name_edit)
        form.addRow(translate("kiosk_supervisor", "Password"), self.password_edit)
        self.name_edit.setEnabled(not test_mode_on)
        self.password_edit.setEnabled(not test_mode_on)
        row = QHBoxLayout()
        for b in (self.leave_button, self.cancel_button, self.end_button, self.test_button):
            row.addWidget(b)
        col = QVBoxLayout(self)
        col.addWidget(self.status)
        col.addLayout(form)
        col.addLayout(row)
        self.leave_button.clicked.connect(lambda: self.done(self.LEAVE))
        self.end_button.clicked.connect(lambda: self.done(self.TEST_OFF))
        self.cancel_button.clicked.connect(self.reject)
        self.test_button.clicked.connect(self.start_test_mode)
        self.password_edit.returnPressed.connect(self.start_test_mode)
        self.name_edit.setFocus()
        name_controls(self)

    def start_test_mode(self) -> None:
        """Ask the service to check the admin (off the UI thread); done(TEST_ON) once it has, else the reason."""
        name, password = self.name_edit.text().strip(), self.password_edit.text()
        self.password_edit.clear()
        if not name or not password:
            self.status.setText(translate("kiosk_supervisor", "An admin's name and password are needed to start the "
                                                              "test mode."))
            return
        self.test_button.setEnabled(False)

        def ok(who: object) -> None:
            self.unlocked_by = getattr(who, "name", name)
            self.done(self.TEST_ON)

        def failed(err: BaseException) -> None:
            self.test_button.setEnabled(True)
            self.status.setText(translate("kiosk_supervisor", "Test mode not started: {why}")
                                .format(why=error_message(err)))

        self.ctx.run(self, lambda bx: bx.start_test_mode(name, password), on_success=ok, on_error=failed)
