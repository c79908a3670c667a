"""Kiosk mode: fullscreen self-service verification (face or signature), big touch targets, idle reset, PIN to leave."""

from __future__ import annotations

import time
from typing import Any

from biometrix.core.errors import BiometrixError, NotEnrolled, PresentationRefused
from biometrix.core.types import Modality
from biometrix.gui import ops
from biometrix.gui.context import AppContext
from biometrix.gui.i18n import QT_TRANSLATE_NOOP, translate
from biometrix.gui.kiosk_supervisor import TEST_MODE_SECONDS, SupervisorDialog
from biometrix.gui.login import Relogin
from biometrix.gui.pages.base import name_controls, service_detector
from biometrix.gui.qt import (
    QApplication,
    QDialog,
    QEvent,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QKeySequence,
    QLabel,
    QLineEdit,
    QObject,
    QPushButton,
    QShortcut,
    QStackedWidget,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
)
from biometrix.gui.tasks import error_message
from biometrix.gui.widgets.camera_view import CameraView, parse_camera
from biometrix.gui.widgets.message_bar import MessageBar
from biometrix.gui.widgets.signature_pad import SignaturePad

BIG = "font-size: 22pt;"
TOUCH_HEIGHT = 72
RESULT_SECONDS = 10
#: How often a frame goes to the liveness check while the customer turns their head.
LIVENESS_FRAME_MS = 100
#: What the liveness check asks of the customer (``preprocess.liveness``: PROMPTS, LIVENESS_MESSAGES), for the
#: catalogue; shown through ``translate("liveness", ...)``.
LIVENESS_TEXTS = (
    QT_TRANSLATE_NOOP("liveness", "Look straight at the camera"),
    QT_TRANSLATE_NOOP("liveness", "Slowly turn your head to your LEFT"),
    QT_TRANSLATE_NOOP("liveness", "Slowly turn your head to your RIGHT"),
    QT_TRANSLATE_NOOP("liveness", "thank you"),
    QT_TRANSLATE_NOOP("liveness", "the head was turned the other way; please try again"),
    QT_TRANSLATE_NOOP("liveness", "the movement did not look like a real head turning; please see a member of staff"),
    QT_TRANSLATE_NOOP("liveness", "the head was not turned in time; please try again"),
    QT_TRANSLATE_NOOP("liveness", "the face left the camera's view; please try again"),
    QT_TRANSLATE_NOOP("liveness", "please look straight at the camera first"),
)
ACTIVITY_EVENTS = frozenset({QEvent.Type.MouseButtonPress, QEvent.Type.KeyPress, QEvent.Type.TouchBegin,
                             QEvent.Type.TabletPress, QEvent.Type.MouseMove, QEvent.Type.TouchUpdate})
CUSTOMER_TEXT = {
    "Accept": (QT_TRANSLATE_NOOP("kiosk", "Thank you — you are verified."), "#2e7d32"),
    "Refer": (QT_TRANSLATE_NOOP("kiosk", "Please see a member of staff to finish."), "#f9a825"),
    "Reject": (QT_TRANSLATE_NOOP("kiosk", "We could not verify you. Please see a member of staff."), "#c62828"),
}


def big_button(text: str) -> QPushButton:
    b = QPushButton(text)
    b.setMinimumHeight(TOUCH_HEIGHT)
    b.setMinimumWidth(TOUCH_HEIGHT)
    b.setStyleSheet(f"QPushButton {{ {BIG} }}")
    return b


def key_button(text: str) -> QPushButton:
    """A keypad key: never the default button (Enter submits the form, never types a key) and never focused
    (the field keeps the focus, so a physical keyboard types into it too)."""
    b = big_button(text)
    b.setAutoDefault(False)
    b.setDefault(False)
    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return b


#: The PIN keypad, and the customer-number keyboard: digits, letters and '-', so that every id enrolled at the
#: counter (e.g. "C-3001") can be typed at the kiosk (letters are matched to the enrolled id ignoring case).
PIN_KEYS = (("1", "2", "3"), ("4", "5", "6"), ("7", "8", "9"), ("⌫", "0", "Clear"))
ID_KEYS = (tuple("1234567890"), tuple("QWERTYUIOP"), (*"ASDFGHJKL", "-"), (*"ZXCVBNM", ".", "⌫", "Clear"))
KEY_HEIGHT = 56


class Keypad(QWidget):
    """On-screen keys typing into ``target`` (touch screens have no keyboard): ``rows`` of key texts, where
    "⌫" deletes the last character and "Clear" empties the field."""

    def __init__(self, target: QLineEdit, rows: tuple[tuple[str, ...], ...] = PIN_KEYS, *,
                 key_height: int = TOUCH_HEIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        self.buttons: list[QPushButton] = []
        for r, row in enumerate(rows):
            for c, key in enumerate(row):
                b = key_button(translate("kiosk", "Clear") if key == "Clear" else key)
                b.setMinimumHeight(key_height)
                b.setMinimumWidth(min(key_height, TOUCH_HEIGHT))
                b.clicked.connect(lambda _=False, k=key: self._press(target, k))
                grid.addWidget(b, r, c)
                self.buttons.append(b)

    @staticmethod
    def _press(target: QLineEdit, key: str) -> None:
        if key == "⌫":
            target.backspace()
        elif key == "Clear":
            target.clear()
        else:
            target.insert(key)
        target.setFocus()


class PinDialog(QDialog):
    """Supervisor PIN entry with a keypad; ``accepted`` only for the right PIN. Enter presses OK (the one
    default button), whichever key was tapped last; the PIN field keeps the focus."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(translate("kiosk", "Supervisor"))
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setStyleSheet(BIG)
        self.pin.setAccessibleName(translate("kiosk", "supervisor PIN"))
        self.status = QLabel(translate("kiosk", "Enter the supervisor PIN."))
        self.ok_button, cancel = big_button(translate("kiosk", "OK")), key_button(translate("kiosk", "Cancel"))
        self.ok_button.setDefault(True)
        self.ok_button.clicked.connect(lambda: self.try_unlock(self.pin.text()))
        cancel.clicked.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(cancel)
        row.addWidget(self.ok_button)
        self.keypad = Keypad(self.pin)
        col = QVBoxLayout(self)
        col.addWidget(self.status)
        col.addWidget(self.pin)
        col.addWidget(self.keypad)
        col.addLayout(row)
        self.pin.setFocus()

    def try_unlock(self, pin: str) -> bool:
        if self.ctx.settings.pin_matches(pin):
            self.accept()
            return True
        self.pin.clear()
        self.status.setText(translate("kiosk", "Wrong PIN."))
        return False


class _ActivityFilter(QObject):
    def __init__(self, kiosk: KioskWindow) -> None:
        super().__init__(kiosk)
        self._kiosk = kiosk

    def eventFilter(self, _obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() in ACTIVITY_EVENTS:
            self._kiosk.touch_activity()
        return False


class KioskWindow(QWidget):
    """Three screens: enter your ID → capture (face or signature) → result. Any screen goes back to the
    first after ``kiosk_idle_s`` without input; the result screen also after ``RESULT_SECONDS``. The
    window only closes after the supervisor PIN (button in the corner, or Ctrl+Shift+Q).

    The kiosk takes nothing but its camera and its pad: no photo file, no file dialog, no drop. Only in a test
    mode, which a supervisor starts after the PIN with an admin's login (``SupervisorDialog``, checked and audited
    by the service), a "Test: load a file" button takes a photo (face kiosk) or a scan (signature kiosk) from a
    file; every decision in it is audited with ``test_mode`` in its details. The test mode ends after
    ``TEST_MODE_SECONDS``, when the kiosk resets after being idle, from the supervisor screen, or on closing."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.modality = Modality(ctx.settings.kiosk_modality)
        self.unlocked = False
        self.setWindowTitle(translate("kiosk", "Biometrix kiosk"))
        self.setStyleSheet("QWidget { font-size: 16pt; }")

        self.id_edit = QLineEdit()
        self.id_edit.setMaxLength(128)
        self.id_edit.setPlaceholderText(translate("kiosk", "your customer number"))
        self.id_edit.setStyleSheet(f"QLineEdit {{ {BIG} padding: 8px; }}")
        self.next_button = big_button(translate("kiosk", "Continue"))
        start = QWidget()
        sc = QVBoxLayout(start)
        title = QLabel(translate("kiosk", "Verify your identity"))
        title.setStyleSheet("font-size: 30pt; font-weight: 700;")
        sc.addWidget(title, 0, Qt.AlignmentFlag.AlignHCenter)
        sc.addWidget(self.id_edit)
        self.keyboard = Keypad(self.id_edit, ID_KEYS, key_height=KEY_HEIGHT)
        sc.addWidget(self.keyboard)
        sc.addWidget(self.next_button)

        capture = QWidget()
        cc = QVBoxLayout(capture)
        self.prompt = QLabel()
        self.prompt.setStyleSheet(BIG)
        cc.addWidget(self.prompt)
        self.camera: CameraView | None = None
        self.pad: SignaturePad | None = None
        if self.modality is Modality.FACE:
            # the camera only: no photo file, no file dialog (a photo of the customer must not pass for them)
            self.camera = CameraView(detector=service_detector(ctx, self), touch=True, allow_files=False)
            self.camera.capture_button.setText(translate("kiosk", "Take my photo"))
            self.camera.captured.connect(lambda _f: self.start_capture())
            cc.addWidget(self.camera, 1)
        else:
            self.pad = SignaturePad(placeholder=translate("kiosk", "Sign here with the pen"))
            cc.addWidget(self.pad, 1)
        row = QHBoxLayout()
        self.cancel_button = big_button(translate("kiosk", "Cancel"))
        row.addWidget(self.cancel_button)
        if self.pad is not None:
            clear = big_button(translate("kiosk", "Clear"))
            clear.clicked.connect(self.pad.clear)
            row.addWidget(clear)
            self.verify_button = big_button(translate("kiosk", "Verify"))
            self.verify_button.clicked.connect(self.verify)
            row.addWidget(self.verify_button)
        self._capture_row = row  # the test mode's file button goes here while it is on (and exists only then)
        self.test_file_button: QPushButton | None = None
        cc.addLayout(row)
        self.capture_message = MessageBar()  # of fixed height: a message never moves the pad or the buttons
        cc.addWidget(self.capture_message)

        result = QWidget()
        rc = QVBoxLayout(result)
        self.result_label = QLabel()
        self.result_label.setWordWrap(True)
        self.result_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.done_button = big_button(translate("kiosk", "Done"))
        rc.addStretch(1)
        rc.addWidget(self.result_label)
        rc.addStretch(1)
        rc.addWidget(self.done_button)

        self.stack = QStackedWidget()
        for w in (start, capture, result):
            self.stack.addWidget(w)
        self.supervisor_button = QPushButton(translate("kiosk", "Supervisor"))
        self.supervisor_button.setFlat(True)
        for b in (self.next_button, self.supervisor_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the id field keeps the keyboard's focus
        self.test_banner = QLabel()
        self.test_banner.setStyleSheet("QLabel { background: #c62828; color: white; font-weight: 700; "
                                       "padding: 4px 12px; }")
        self.test_banner.setVisible(False)
        top = QHBoxLayout()
        top.addWidget(self.test_banner)
        top.addStretch(1)
        top.addWidget(self.supervisor_button)
        outer = QVBoxLayout(self)
        outer.addLayout(top)
        outer.addWidget(self.stack, 1)

        self.idle = QTimer(self)
        self.idle.setSingleShot(True)
        self.idle.timeout.connect(self._idle)
        self.test_mode_by: str | None = None  # the admin who unlocked the test mode; None: off
        self.test_timer = QTimer(self)
        self.test_timer.setSingleShot(True)
        self.test_timer.timeout.connect(lambda: self.end_test_mode("timeout"))
        self.file_hook: Any = None  # tests: answers the test mode's file dialog
        self.result_timer = QTimer(self)
        self.result_timer.setSingleShot(True)
        self.result_timer.timeout.connect(self.reset)
        self._filter = _ActivityFilter(self)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self._filter)
        self.last_label = ""
        # the liveness challenge (settings.kiosk_liveness "challenge"): frames go to the service's check, one at a
        # time, until it ends; the check's frontal frame is then verified with its outcome
        self.liveness: Any = None
        self._feeding = False
        self.liveness_timer = QTimer(self)
        self.liveness_timer.setInterval(LIVENESS_FRAME_MS)
        self.liveness_timer.timeout.connect(self._feed_liveness)

        self.next_button.clicked.connect(self.to_capture)
        self.id_edit.returnPressed.connect(self.to_capture)
        self.cancel_button.clicked.connect(self.reset)
        self.done_button.clicked.connect(self.reset)
        self.supervisor_button.clicked.connect(self.ask_pin)
        QShortcut(QKeySequence("Ctrl+Shift+Q"), self).activated.connect(self.ask_pin)
        self.relogin = Relogin(ctx, self)  # a lost session: the login again ($BIOMETRIX_PASSWORD: unattended)
        for w in (self, *self.findChildren(QWidget)):
            w.setAcceptDrops(False)  # a text field takes a dropped file's path by default
        self.id_edit.setAccessibleName(translate("kiosk", "your customer number"))
        name_controls(self)
        self.reset()

    # --- flow --------------------------------------------------------------------------------------

    @property
    def screen_name(self) -> str:
        return ("start", "capture", "result")[self.stack.currentIndex()]

    def touch_activity(self) -> None:
        self.idle.start(int(self.ctx.settings.kiosk_idle_s * 1000))

    def reset(self) -> None:
        """Back to the first screen with nothing of the last customer left on it."""
        self.result_timer.stop()
        self.liveness_timer.stop()
        self.liveness, self._feeding = None, False
        self.id_edit.clear()
        self.capture_message.clear_message()
        self.result_label.clear()
        if self.pad is not None:
            self.pad.clear()
        if self.camera is not None:
            self.camera.clear()
        self.stack.setCurrentIndex(0)
        self.id_edit.setFocus()  # a physical keyboard types the customer number at once
        self.touch_activity()

    def to_capture(self) -> None:
        if not self.id_edit.text().strip():
            self.id_edit.setPlaceholderText(translate("kiosk", "please type your customer number"))
            return
        prompt = (QT_TRANSLATE_NOOP("kiosk", "Look at the camera, then press Take my photo.") if self.camera is not None
                  else QT_TRANSLATE_NOOP("kiosk", "Sign in the box below, then press Verify."))
        self.prompt.setText(translate("kiosk", prompt))
        self.stack.setCurrentIndex(1)
        if self.camera is not None:
            self.camera.start(parse_camera(self.ctx.settings.camera))
        self.touch_activity()

    # --- liveness ----------------------------------------------------------------------------------

    def start_capture(self) -> None:
        """Take my photo: verify at once, or first run the liveness challenge when this kiosk has it on."""
        if self.ctx.settings.kiosk_liveness != "challenge" or self.camera is None:
            self.verify()
            return
        if self.liveness is not None:
            return  # a challenge is already running

        def started(check: Any) -> None:
            self.liveness = check
            self.prompt.setText(translate("liveness", check.prompt))
            self.liveness_timer.start()

        self.ctx.run(self, lambda bx: bx.start_liveness(), on_success=started,
                     on_error=lambda err: self.capture_message.show_message(error_message(err), "error"))

    def _feed_liveness(self) -> None:
        check = self.liveness
        if check is None or self._feeding or self.camera is None or self.camera.frame is None:
            return
        self._feeding = True
        frame, now = self.camera.frame.copy(), time.monotonic()

        def fed(result: Any) -> None:
            self._feeding = False
            if self.liveness is not check:
                return  # reset meanwhile
            self.prompt.setText(translate("liveness", check.prompt))
            if result is not None:
                self.liveness_timer.stop()
                self.liveness = None
                self.verify(face=check.frontal if check.frontal is not None else frame, liveness=result)

        def failed(err: BaseException) -> None:
            self._feeding = False
            self.capture_message.show_message(error_message(err), "error")

        self.ctx.run(self, lambda _bx: check.feed(frame, now), on_success=fed, on_error=failed)

    def verify(self, *, face: Any = None, liveness: Any = None) -> None:
        typed = self.id_edit.text().strip()
        try:
            probe: Any = (self._pad_probe() if self.pad is not None else face if face is not None
                          else self._frame())
        except BiometrixError as err:
            self.capture_message.show_message(error_message(err), "warn")
            return
        self.capture_message.show_message(translate("kiosk", "Checking…"), "info")
        modality = self.modality

        def done(outcome: ops.VerifyOutcome) -> None:
            self.show_result(outcome.decision.label)  # the service's decision, as audited

        def failed(err: BaseException) -> None:
            if isinstance(err, PresentationRefused):
                self.show_result("Reject")  # audited as a rejection by the service
            elif isinstance(err, NotEnrolled):
                self.capture_message.show_message(translate("kiosk", "That customer number is not enrolled here. "
                                                                     "Please see a member of staff."), "warn")
            else:
                self.capture_message.show_message(error_message(err), "error")

        self.ctx.run(self, lambda bx: ops.verify(bx, ops.enrolled_id(bx, typed), modality, probe, liveness=liveness),
                     on_success=done, on_error=failed)

    def _pad_probe(self) -> Any:
        """The pad's strokes; a scan only while the test mode is on (only the test file button puts one there)."""
        if self.pad.scan is not None and self.test_mode_by is not None:  # type: ignore[union-attr]
            return self.pad.scan.copy()  # type: ignore[union-attr]
        return self.pad.strokes()  # type: ignore[union-attr]

    def _frame(self) -> Any:
        if self.camera is None or self.camera.frame is None:
            raise BiometrixError("the camera has no picture yet")
        return self.camera.frame.copy()

    def show_result(self, label: str) -> None:
        self.last_label = label
        text, colour = CUSTOMER_TEXT[label]
        text = translate("kiosk", text)
        self.result_label.setText(text)
        self.result_label.setStyleSheet(f"QLabel {{ font-size: 30pt; font-weight: 700; color: white; "
                                        f"background: {colour}; padding: 24px; }}")
        if self.camera is not None:
            self.camera.stop()
        self.stack.setCurrentIndex(2)
        self.result_timer.start(RESULT_SECONDS * 1000)

    # --- leaving -----------------------------------------------------------------------------------

    def ask_pin(self, *, supervisor_hook: Any = None) -> None:
        """The PIN, then the supervisor screen: leave, or start / end the test mode. ``supervisor_hook`` (tests)
        runs the supervisor dialog instead of ``exec``."""
        dialog = PinDialog(self.ctx, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        supervisor = SupervisorDialog(self.ctx, test_mode_on=self.test_mode_by is not None, parent=self)
        code = supervisor_hook(supervisor) if supervisor_hook is not None else supervisor.exec()
        if code == SupervisorDialog.LEAVE:
            self.unlock_and_close()
        elif code == SupervisorDialog.TEST_ON and supervisor.unlocked_by:
            self.test_mode_started(supervisor.unlocked_by)
        elif code == SupervisorDialog.TEST_OFF:
            self.end_test_mode("locked")

    # --- test mode ---------------------------------------------------------------------------------

    def test_mode_started(self, admin: str) -> None:
        """The service has checked the admin and audits from now on: show it, offer the file button, time it."""
        self.test_mode_by = admin
        self.test_banner.setText(translate("kiosk", "TEST MODE (unlocked by {admin}): decisions are audited as tests")
                                 .format(admin=admin))
        self.test_banner.setVisible(True)
        if self.test_file_button is None:
            self.test_file_button = big_button(translate("kiosk", "Test: load a file…"))
            self.test_file_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self.test_file_button.clicked.connect(self.load_test_file)
            self._capture_row.addWidget(self.test_file_button)
        self.test_timer.start(TEST_MODE_SECONDS * 1000)

    def end_test_mode(self, why: str) -> None:
        """Back to camera and pad only; the service audits the end (and stops marking decisions as tests)."""
        if self.test_mode_by is None:
            return
        self.test_mode_by = None
        self.test_timer.stop()
        self.test_banner.setVisible(False)
        if self.test_file_button is not None:  # gone from the window: no customer ever sees a file button
            self._capture_row.removeWidget(self.test_file_button)
            self.test_file_button.setParent(None)
            self.test_file_button.deleteLater()
            self.test_file_button = None
        self.ctx.run(self, lambda bx: bx.end_test_mode(why))

    def load_test_file(self) -> bool:
        """In test mode only: a photo (face) or a scan (signature) file as the probe, then verified. Outside it
        nothing is opened (False): a customer never gets a file dialog."""
        if self.test_mode_by is None:
            return False
        if self.file_hook is not None:
            path = self.file_hook()
        else:
            path, _ = QFileDialog.getOpenFileName(self, translate("kiosk", "Test mode: a photo or scan file"), "",
                                                  translate("kiosk", "Images (*.png *.jpg *.jpeg *.tif *.tiff *.bmp "
                                                                     "*.pgm)"))
        if not path:
            return False
        if self.camera is not None:
            self.camera.allow_files = True
            try:
                return self.camera.load_photo(path)  # emits captured: verified at once, as a capture
            finally:
                self.camera.allow_files = False
        from biometrix.gui.scan import load_scan

        try:
            self.pad.show_scan(load_scan(path), translate("kiosk", "TEST: scan file"))  # type: ignore[union-attr]
        except BiometrixError as err:
            self.capture_message.show_message(error_message(err), "warn")
            return False
        self.verify()
        return True

    def _idle(self) -> None:
        self.end_test_mode("idle")
        self.reset()

    def unlock_and_close(self) -> None:
        self.unlocked = True
        self.close()

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self.stack.currentIndex() == 0:
            self.id_edit.setFocus()

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        if not self.unlocked:
            event.ignore()
            return
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self._filter)
        if self.camera is not None:
            self.camera.stop()
        self.end_test_mode("closed")
        super().closeEvent(event)

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802 - Qt override: Escape does not leave
        if event.key() == Qt.Key.Key_Escape:
            event.accept()
            return
        super().keyPressEvent(event)
