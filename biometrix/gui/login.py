"""The operator login at start-up and when the session is lost, and on the database's first run the creation of
its admin."""

from __future__ import annotations

import os
from collections.abc import Callable

from biometrix.gui.context import AppContext
from biometrix.gui.i18n import translate
from biometrix.gui.pages.base import name_controls
from biometrix.gui.qt import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QObject,
    QVBoxLayout,
    QWidget,
)
from biometrix.gui.tasks import error_message

OPERATOR_ENV, PASSWORD_ENV = "BIOMETRIX_OPERATOR", "BIOMETRIX_PASSWORD"


class LoginDialog(QDialog):
    """Asks the service whether the database has operators yet, then either creates the first admin (name,
    password twice) or logs an operator in. Accepted once the context holds the operator's session token; the
    work (argon2id, the database) runs on the worker thread like every service call. ``reason`` says why the
    login is asked again (the session expired...)."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None, *, name: str | None = None,
                 reason: str = "") -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(translate("login", "Biometrix — operator login"))
        self.setModal(True)
        self.setMinimumWidth(460)
        self.create_admin: bool | None = None  # None until the database has answered
        self.heading = QLabel(translate("login", "Opening the enrollment database…"))
        self.heading.setWordWrap(True)
        self.name = QLineEdit(name or os.environ.get(OPERATOR_ENV, ""))
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.again = QLineEdit()
        self.again.setEchoMode(QLineEdit.EchoMode.Password)
        self.form = QFormLayout()
        self.form.addRow(translate("login", "Operator"), self.name)
        self.form.addRow(translate("login", "Password"), self.password)
        self.form.addRow(translate("login", "Password again"), self.again)
        self.message = QLabel(reason)
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c62828;")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setEnabled(False)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(self.form)
        name_controls(self)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self._set_mode(False)
        self.ctx.run(self, lambda bx: bx.access_control(), on_success=self._database_answered,
                     on_error=lambda err: self._show_error(error_message(err)))

    def _set_mode(self, create: bool) -> None:
        self.form.setRowVisible(self.again, create)

    def _database_answered(self, has_operators: bool) -> None:
        self.create_admin = not has_operators
        self._set_mode(self.create_admin)
        if self.create_admin:
            self.heading.setText(translate("login", "First start: this database has no operators yet. Create its "
                                                    "administrator (at least 10 characters for the password). Admins "
                                                    "add tellers and supervisors."))
        else:
            self.heading.setText(translate("login", "Log in with your operator name and password."))
        self.ok_button.setEnabled(True)
        env_password = os.environ.get(PASSWORD_ENV)
        if not self.create_admin and self.name.text() and env_password:  # an unattended kiosk's account
            self.password.setText(env_password)
            self.submit()

    def _show_error(self, text: str) -> None:
        self.message.setText(text)
        self.ok_button.setEnabled(self.create_admin is not None)

    def submit(self) -> None:
        if self.create_admin is None:
            return
        name, password = self.name.text().strip(), self.password.text()
        if not name or not password:
            self._show_error(translate("login", "Enter the operator name and the password."))
            return
        if self.create_admin and password != self.again.text():
            self._show_error(translate("login", "The two passwords differ."))
            return
        self.ok_button.setEnabled(False)
        self.message.setText("")
        create = self.create_admin
        self.ctx.run(self, lambda bx: self.ctx.login(bx, name, password, create_admin=create),
                     on_success=lambda _who: self.accept(), on_error=self._failed)

    def _failed(self, err: BaseException) -> None:
        self.password.clear()
        self.again.clear()
        self._show_error(error_message(err))



class Relogin(QObject):
    """Shows the login again, window-modal over ``parent`` and one at a time, whenever the context says the session
    was lost (``AppContext.login_required``); ``on_cancel`` runs when the operator does not log in."""

    def __init__(self, ctx: AppContext, parent: QWidget, *, on_cancel: Callable[[], object] | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._parent = parent
        self._on_cancel = on_cancel
        self._title = parent.windowTitle()  # before the operator's name is added to it
        self.dialog: LoginDialog | None = None
        ctx.login_required.connect(self.ask)

    def ask(self, reason: str) -> None:
        if self.dialog is not None:
            return
        self.dialog = LoginDialog(self.ctx, self._parent, reason=reason)
        self.dialog.finished.connect(self._finished)
        self.dialog.open()

    def _finished(self, result: int) -> None:
        self.dialog = None
        if result == QDialog.DialogCode.Accepted and self.ctx.token is not None:
            who = self.ctx.operator
            if who is not None:  # as app.log_in names the operator
                self._parent.setWindowTitle(f"{self._title} — {who.name} ({who.role.value})")
        elif self._on_cancel is not None:
            self._on_cancel()
