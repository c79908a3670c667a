"""The operator login at start-up, and on the database's first run the creation of its admin."""

from __future__ import annotations

import os

from biometrix.gui.context import AppContext
from biometrix.gui.qt import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget
from biometrix.gui.tasks import error_message

OPERATOR_ENV, PASSWORD_ENV = "BIOMETRIX_OPERATOR", "BIOMETRIX_PASSWORD"


class LoginDialog(QDialog):
    """Asks the service whether the database has operators yet, then either creates the first admin (name,
    password twice) or logs an operator in. Accepted once ``ctx.operator`` is set; the work (argon2id, the
    database) runs on the worker thread like every service call."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None, *, name: str | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("Biometrix — operator login")
        self.setModal(True)
        self.setMinimumWidth(460)
        self.create_admin: bool | None = None  # None until the database has answered
        self.heading = QLabel("Opening the enrollment database…")
        self.heading.setWordWrap(True)
        self.name = QLineEdit(name or os.environ.get(OPERATOR_ENV, ""))
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.again = QLineEdit()
        self.again.setEchoMode(QLineEdit.EchoMode.Password)
        self.form = QFormLayout()
        self.form.addRow("Operator", self.name)
        self.form.addRow("Password", self.password)
        self.form.addRow("Password again", self.again)
        self.message = QLabel("")
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
            self.heading.setText("First start: this database has no operators yet. Create its administrator "
                                 "(at least 10 characters for the password). Admins add tellers and supervisors.")
        else:
            self.heading.setText("Log in with your operator name and password.")
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
            self._show_error("Enter the operator name and the password.")
            return
        if self.create_admin and password != self.again.text():
            self._show_error("The two passwords differ.")
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
