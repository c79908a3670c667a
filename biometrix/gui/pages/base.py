"""What every page has: the shared context, a message bar, and service calls whose errors become messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from biometrix.gui.context import AppContext
from biometrix.gui.i18n import translate
from biometrix.gui.qt import (
    QAbstractSpinBox,
    QApplication,
    QFormLayout,
    QHBoxLayout,
    QIcon,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSize,
    Qt,
    QVBoxLayout,
    QWidget,
)
from biometrix.gui.tasks import error_message
from biometrix.gui.widgets.message_bar import MessageBar


class Page(QWidget):
    """A page: ``title`` with the message bar beside it (one row of fixed height, so that the page fits a
    1024x600 screen and a message never moves anything), and ``call`` to run service work off the UI thread."""

    title = ""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.messages = MessageBar()
        self.outer = QVBoxLayout(self)
        self.outer.setContentsMargins(6, 4, 6, 4)
        heading = QLabel(translate("pages", self.title))
        heading.setObjectName("pageTitle")
        heading.setStyleSheet("QLabel#pageTitle { font-size: 16pt; font-weight: 600; }")
        top = QHBoxLayout()
        top.addWidget(heading)
        top.addSpacing(12)
        top.addWidget(self.messages, 1)
        self.outer.addLayout(top)
        self.busy = False

    def call(self, fn: Callable[[Any], Any], on_success: Callable[[Any], None], *,
             working: str | None = None, on_error: Callable[[BaseException], None] | None = None) -> None:
        """Run ``fn(service)`` off the UI thread; an error shows as one line in the message bar."""
        if working:
            self.messages.show_message(working, "info")
        self.set_busy(True)

        def ok(value: Any) -> None:
            self.set_busy(False)
            on_success(value)

        def failed(err: BaseException) -> None:
            self.set_busy(False)
            if on_error is not None:
                on_error(err)
            else:
                self.messages.show_message(error_message(err), "error")

        self.ctx.run(self, fn, on_success=ok, on_error=failed)

    def set_busy(self, busy: bool) -> None:
        """Pages override to disable their action buttons while work is in flight."""
        self.busy = busy

    def main_action(self) -> None:
        """What Enter does on the page (Enroll: add the reference or save; Verify: verify...); pages override."""

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        """Enter runs the page's main action, wherever the focus is, except in a field whose Enter is its own (a
        search field: ``own_enter``)."""
        focus = QApplication.focusWidget()
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (focus is not None
                                                                         and focus.property("ownEnter")):
            event.accept()
            if not self.busy:
                self.main_action()
            return
        super().keyPressEvent(event)

    def on_shown(self) -> None:
        """Called by the window when the page becomes the current one."""

    def on_hidden(self) -> None:
        """Called by the window when another page replaces this one."""


class Thumbnails(QListWidget):
    """A horizontal strip of image thumbnails with captions. With ``fit`` every thumbnail is in view: they shrink
    (down to ``MIN_THUMB``) to share the strip's width instead of scrolling out of it."""

    MIN_THUMB = 40

    def __init__(self, size: int = 110, parent: QWidget | None = None, *, fit: bool = False) -> None:
        super().__init__(parent)
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setFlow(QListWidget.Flow.LeftToRight)
        self.setWrapping(False)
        self.setIconSize(QSize(size, size))
        self.setMovement(QListWidget.Movement.Static)
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self._size = size
        self._fit = fit
        if not fit:
            self.setFixedHeight(size + 40)  # the icons, a caption line and a scroll bar
        else:  # as tall as the page allows: the thumbnails share the room
            self.setMinimumHeight(size // 2 + 40)
            self.setWordWrap(True)
            self.setTextElideMode(Qt.TextElideMode.ElideRight)
            self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def add_image(self, img: Any, caption: str, *, tooltip: str = "") -> QListWidgetItem:
        from biometrix.gui.widgets.images import to_pixmap

        item = QListWidgetItem(QIcon(to_pixmap(img, size=self._size)), caption)
        item.setToolTip(tooltip or caption)
        self.addItem(item)
        self._share_width()
        return item

    def _share_width(self) -> None:
        """With ``fit``: the largest thumbnails that show them all, in as many rows as that takes."""
        n = self.count()
        if not self._fit or n == 0:
            return
        width, height = self.viewport().width() - 8, self.viewport().height() - 4
        caption = self.fontMetrics().lineSpacing() * 2 + 6
        sizes = self.item(0).icon().availableSizes()
        aspect = sizes[0].width() / max(sizes[0].height(), 1) if sizes else 1.0
        best = (0.0, 1, QSize(self.MIN_THUMB, self.MIN_THUMB))
        for columns in range(1, n + 1):
            rows = -(-n // columns)
            box = QSize(min(width // columns - 8, self._size), min(height // rows - caption, self._size))
            shown = min(box.width(), box.height() * aspect)  # the width the image is drawn at in that box
            if box.width() > 0 and box.height() > 0 and shown >= best[0]:  # equal: fewer rows
                best = (shown, columns, box)
        _, columns, box = best
        self.setWrapping(columns < n)
        self.setIconSize(box)
        self.setGridSize(QSize(width // columns, box.height() + caption))

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._share_width()


def tab_chain(*widgets: QWidget) -> None:
    """Tab goes through ``widgets`` in this order (then on to the page's other controls)."""
    for first, second in zip(widgets, widgets[1:], strict=False):
        QWidget.setTabOrder(first, second)


def own_enter(field: QWidget) -> QWidget:
    """Mark ``field`` as handling Enter itself (a search field): Enter there does not run the page's action."""
    field.setProperty("ownEnter", True)
    return field


def name_controls(root: QWidget) -> None:
    """Give every control of ``root`` without an accessible name one, for screen readers: a form field the text
    of its row's label, a spin box's inner field the spin box's name, a text field its placeholder."""
    for form in root.findChildren(QFormLayout):
        for row in range(form.rowCount()):
            label = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            field = form.itemAt(row, QFormLayout.ItemRole.FieldRole)
            if label is None or field is None or not isinstance(label.widget(), QLabel):
                continue
            name = label.widget().text().rstrip(":")
            if field.widget() is not None:
                fields = [field.widget()]
            else:
                layout = field.layout()
                fields = [layout.itemAt(i).widget() for i in range(layout.count())] if layout is not None else []
            for w in fields:
                if w is not None and not w.accessibleName() and w.focusPolicy() & Qt.FocusPolicy.TabFocus:
                    w.setAccessibleName(name)
    for edit in root.findChildren(QLineEdit):
        if not edit.accessibleName() and edit.placeholderText():
            edit.setAccessibleName(edit.placeholderText())
    for spin in root.findChildren(QAbstractSpinBox):
        inner = spin.findChild(QLineEdit)
        if inner is not None and not inner.accessibleName() and spin.accessibleName():
            inner.setAccessibleName(spin.accessibleName())


def hbox(*widgets: QWidget, stretch_last: bool = False) -> QHBoxLayout:
    row = QHBoxLayout()
    for w in widgets:
        row.addWidget(w)
    if not stretch_last:
        row.addStretch(1)
    return row


def service_detector(ctx: AppContext, parent: QWidget) -> Callable[[Any, Callable[[Any], None]], None]:
    """A CameraView detector that asks the service's face pipeline off the UI thread."""
    from biometrix.gui import ops

    def detect(frame: Any, done: Callable[[Any], None]) -> None:
        ctx.run(parent, lambda bx: ops.face_hint(bx, frame), on_success=done,
                on_error=lambda err: done(ops.FaceHint(None, False, error_message(err))))

    return detect
