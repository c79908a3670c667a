"""Scanned signatures in the teller app: read a scan file, turn and crop it (a cheque, a form), take dropped files."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from biometrix.core.errors import BiometrixError, InvalidInput
from biometrix.gui.i18n import translate
from biometrix.gui.pages.base import name_controls
from biometrix.gui.qt import (
    QDialog,
    QDialogButtonBox,
    QEvent,
    QHBoxLayout,
    QLabel,
    QObject,
    QPainter,
    QPen,
    QPointF,
    QPushButton,
    QRectF,
    QSize,
    QSlider,
    Qt,
    QVBoxLayout,
    QWidget,
)

#: The scan files the app reads (what ``capture.files`` decodes); a PDF page needs a PDF renderer, which the app
#: does not ship: the message says to export the page as an image.
SCAN_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
SCAN_FILTER = "Scans (*.png *.jpg *.jpeg *.tif *.tiff *.bmp)"
#: The fine rotation, in degrees either way (a scan put crooked on the glass).
MAX_FINE_DEGREES = 15
PAPER = 255  # the colour the corners a rotation uncovers are filled with



def load_scan(path: str | os.PathLike[str]) -> np.ndarray:
    """A scan file as uint8 grey; InvalidInput naming the file for anything not a readable PNG/JPEG/TIFF/BMP."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".pdf":
        raise InvalidInput(translate("scan", "{name} is a PDF: export the page as a PNG, JPEG or TIFF image and "
                                             "import that "
                               "(this app does not render PDF pages)").format(name=p.name))
    if suffix not in SCAN_SUFFIXES:
        raise InvalidInput(translate("scan", "{name} is not a scan: import a PNG, JPEG or TIFF image")
                           .format(name=p.name))
    from biometrix.capture.files import load_gray

    try:
        return load_gray(p)
    except BiometrixError as err:
        raise InvalidInput(translate("scan", "{name} cannot be read as an image: {why}")
                           .format(name=p.name, why=err)) from None


@dataclass(frozen=True)
class ScanEdit:
    """How a scan is turned and cropped: ``quarter`` turns of 90° anticlockwise, then ``fine`` degrees
    (anticlockwise positive), then ``crop`` (x, y, w, h) in the turned image's pixels (None: all of it)."""

    quarter: int = 0
    fine: float = 0.0
    crop: tuple[int, int, int, int] | None = None


def rotated(gray: np.ndarray, *, quarter: int, fine: float) -> np.ndarray:
    """``gray`` turned by ``quarter`` x 90° and ``fine`` degrees (anticlockwise), on a canvas that holds all of
    it; the uncovered corners are paper-white."""
    out = np.ascontiguousarray(np.rot90(gray, quarter % 4))
    if abs(fine) < 1e-6:
        return out
    import cv2

    h, w = out.shape
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), float(fine), 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(np.ceil(h * sin + w * cos)), int(np.ceil(h * cos + w * sin))
    m[0, 2] += nw / 2.0 - w / 2.0
    m[1, 2] += nh / 2.0 - h / 2.0
    return cv2.warpAffine(out, m, (nw, nh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=PAPER)


def ink_box(gray: np.ndarray, *, margin: int = 12) -> tuple[int, int, int, int] | None:
    """The box (x, y, w, h) around the ink of a scan, with ``margin`` px of paper, found by Otsu's threshold with
    the printed lines of a form (rows or columns dark across most of the page) left out; None: no ink."""
    import cv2

    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    ink[ink.mean(axis=1) > 0.6 * 255] = 0  # printed lines across the page
    ink[:, ink.mean(axis=0) > 0.6 * 255] = 0
    ink = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))  # specks of dust
    ys, xs = np.nonzero(ink)
    if len(xs) == 0:
        return None
    x0, y0 = max(int(xs.min()) - margin, 0), max(int(ys.min()) - margin, 0)
    x1, y1 = min(int(xs.max()) + margin + 1, gray.shape[1]), min(int(ys.max()) + margin + 1, gray.shape[0])
    return x0, y0, x1 - x0, y1 - y0


def apply_edit(gray: np.ndarray, edit: ScanEdit) -> np.ndarray:
    """The scan as ``edit`` says: turned, then cropped (the crop clipped to the image; an empty one refused)."""
    img = rotated(gray, quarter=edit.quarter, fine=edit.fine)
    if edit.crop is None:
        return img
    x, y, w, h = edit.crop
    x0, y0 = max(0, int(x)), max(0, int(y))
    x1, y1 = min(img.shape[1], int(x + w)), min(img.shape[0], int(y + h))
    if x1 - x0 < 8 or y1 - y0 < 8:
        raise InvalidInput(translate("scan", "the crop is too small: drag a rectangle around the signature"))
    return np.ascontiguousarray(img[y0:y1, x0:x1])


class CropView(QWidget):
    """The turned scan, scaled to fit, with a rubber-band crop rectangle dragged by the mouse (``crop`` in the
    image's pixels; None: the whole image)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: np.ndarray | None = None
        self._pixmap: Any = None
        self.crop: tuple[int, int, int, int] | None = None
        self._anchor: QPointF | None = None
        self.setMinimumSize(320, 200)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName(translate("scan", "scan to crop"))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(700, 360)

    def set_image(self, img: np.ndarray) -> None:
        from biometrix.gui.widgets.images import to_pixmap

        self.image = img
        self._pixmap = to_pixmap(img)
        self.crop = None
        self.update()

    def _frame(self) -> QRectF:
        """Where the image is drawn: centred, scaled to fit the widget."""
        if self.image is None:
            return QRectF()
        h, w = self.image.shape[:2]
        s = min((self.width() - 8) / w, (self.height() - 8) / h)
        return QRectF((self.width() - w * s) / 2, (self.height() - h * s) / 2, w * s, h * s)

    def _to_image(self, pos: QPointF) -> tuple[float, float]:
        f = self._frame()
        h, w = self.image.shape[:2]  # type: ignore[union-attr]
        x = min(max((pos.x() - f.x()) / f.width() * w, 0.0), float(w))
        y = min(max((pos.y() - f.y()) / f.height() * h, 0.0), float(h))
        return x, y

    def mousePressEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        if self.image is not None and event.button() == Qt.MouseButton.LeftButton:
            self._anchor = event.position()
            self.crop = None
            self.update()

    def mouseMoveEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        if self._anchor is not None:
            (x0, y0), (x1, y1) = self._to_image(self._anchor), self._to_image(event.position())
            self.crop = (int(min(x0, x1)), int(min(y0, y1)), int(abs(x1 - x0)), int(abs(y1 - y0)))
            self.update()

    def mouseReleaseEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        self.mouseMoveEvent(event)
        self._anchor = None
        if self.crop is not None and (self.crop[2] < 8 or self.crop[3] < 8):
            self.crop = None  # a click, not a drag: the whole image again
            self.update()

    def paintEvent(self, _event: object) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.fillRect(self.rect(), Qt.GlobalColor.darkGray)
        if self._pixmap is not None and self.image is not None:
            f = self._frame()
            p.drawPixmap(f.toRect(), self._pixmap)
            if self.crop is not None:
                h, w = self.image.shape[:2]
                sx, sy = f.width() / w, f.height() / h
                x, y, cw, ch = self.crop
                band = QRectF(f.x() + x * sx, f.y() + y * sy, cw * sx, ch * sy)
                p.setPen(QPen(Qt.GlobalColor.blue, 2, Qt.PenStyle.DashLine))
                p.drawRect(band)
        p.end()


class ScanDialog(QDialog):
    """Turn and crop a scan: rotate 90° left / right (Ctrl+L / Ctrl+R), a fine rotation slider (±15°, arrow keys
    in 1° steps), a crop rectangle dragged on the image or fitted to the ink (Ctrl+F; Reset crop: all of it);
    OK (Enter) / Cancel (Esc).
    ``result_image()`` is the edited scan, what the page enrolls or verifies."""

    def __init__(self, gray: np.ndarray, *, name: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(translate("scan", "Crop and rotate the scan"))
        self.source = gray
        self.quarter = 0
        self.view = CropView()
        hint = QLabel(translate("scan", "{name}: drag a rectangle around the signature; turn the scan upright.").format(
            name=name or translate("scan", "Scan")))
        hint.setWordWrap(True)
        self.left_button = QPushButton(translate("scan", "Rotate left 90°"))
        self.right_button = QPushButton(translate("scan", "Rotate right 90°"))
        self.reset_button = QPushButton(translate("scan", "Reset crop"))
        self.fit_button = QPushButton(translate("scan", "Fit to the ink"))
        self.fit_button.setToolTip(translate("scan", "Crop to the writing on the scan (Ctrl+F); drag to adjust"))
        self.fine = QSlider(Qt.Orientation.Horizontal)
        self.fine.setRange(-MAX_FINE_DEGREES, MAX_FINE_DEGREES)
        self.fine.setSingleStep(1)
        self.fine.setPageStep(5)
        self.fine.setAccessibleName(translate("scan", "fine rotation in degrees"))
        self.fine_label = QLabel()
        self.fine_label.setMinimumWidth(48)
        for b, name_ in ((self.fit_button, translate("scan", "crop to the ink")),
                         (self.left_button, translate("scan", "rotate left")),
                         (self.right_button, translate("scan", "rotate right")),
                         (self.reset_button, translate("scan", "reset crop"))):
            b.setAutoDefault(False)
            b.setAccessibleName(name_)
        tools = QHBoxLayout()
        tools.addWidget(self.left_button)
        tools.addWidget(self.right_button)
        tools.addWidget(QLabel(translate("scan", "Fine:")))
        tools.addWidget(self.fine, 1)
        tools.addWidget(self.fine_label)
        tools.addWidget(self.fit_button)
        tools.addWidget(self.reset_button)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setDefault(True)
        col = QVBoxLayout(self)
        col.addWidget(hint)
        col.addWidget(self.view, 1)
        col.addLayout(tools)
        col.addWidget(self.buttons)
        self.left_button.clicked.connect(lambda: self.turn(1))
        self.right_button.clicked.connect(lambda: self.turn(-1))
        self.reset_button.clicked.connect(self.reset_crop)
        self.fit_button.clicked.connect(self.fit_crop)
        self.fine.valueChanged.connect(lambda _v: self._redraw())
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.resize(760, 520)  # inside a 1024x600 screen with its title bar
        self._redraw()
        name_controls(self)
        self.fine.setFocus()  # the keyboard turns the scan at once; Tab reaches the buttons, Enter is OK

    @property
    def edit(self) -> ScanEdit:
        return ScanEdit(quarter=self.quarter, fine=float(self.fine.value()), crop=self.view.crop)

    def turn(self, quarters: int) -> None:
        """Turn 90° anticlockwise (1) or clockwise (-1); the crop is drawn again on the turned scan."""
        self.quarter = (self.quarter + quarters) % 4
        self._redraw()

    def set_crop(self, crop: tuple[int, int, int, int] | None) -> None:
        self.view.crop = crop
        self.view.update()

    def reset_crop(self) -> None:
        self.set_crop(None)

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        """Ctrl+L / Ctrl+R turn the scan, Ctrl+F crops to the ink, wherever the focus is in the dialog."""
        keys = {Qt.Key.Key_L: lambda: self.turn(1), Qt.Key.Key_R: lambda: self.turn(-1), Qt.Key.Key_F: self.fit_crop}
        if event.modifiers() == Qt.KeyboardModifier.ControlModifier and event.key() in keys:
            keys[event.key()]()
            event.accept()
            return
        super().keyPressEvent(event)

    def fit_crop(self) -> None:
        """Crop to the ink of the scan as it is turned now (a crop by keyboard: Ctrl+F)."""
        if self.view.image is not None:
            self.set_crop(ink_box(self.view.image))

    def _redraw(self) -> None:
        self.fine_label.setText(f"{self.fine.value():+d}°")
        self.view.set_image(rotated(self.source, quarter=self.quarter, fine=float(self.fine.value())))

    def result_image(self) -> np.ndarray:
        return apply_edit(self.source, self.edit)


def edit_scan(parent: QWidget, path: str | os.PathLike[str], *,
              dialog_hook: Callable[[ScanDialog], int] | None = None) -> np.ndarray | None:
    """Read the scan at ``path`` and let the teller turn and crop it; the edited grey image, or None when the
    dialog was cancelled. A bad file raises InvalidInput (one line, naming it). ``dialog_hook`` runs the dialog
    instead of ``exec`` (tests)."""
    gray = load_scan(path)
    dialog = ScanDialog(gray, name=Path(path).name, parent=parent)
    code = dialog_hook(dialog) if dialog_hook is not None else dialog.exec()
    if code != QDialog.DialogCode.Accepted:
        return None
    return dialog.result_image()


class FileDrop(QObject):
    """Takes files dropped on ``widget`` (local file URLs): ``on_file(path)`` for the first of them."""

    def __init__(self, widget: QWidget, on_file: Callable[[str], None]) -> None:
        super().__init__(widget)
        self._on_file = on_file
        widget.setAcceptDrops(True)
        widget.installEventFilter(self)

    @staticmethod
    def _path(event: Any) -> str | None:
        mime = event.mimeData()
        if mime is None or not mime.hasUrls():
            return None
        local = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        return local[0] if local else None

    def eventFilter(self, _obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            if self._path(event) is not None:
                event.acceptProposedAction()  # type: ignore[attr-defined]
                return True
            return False
        if kind == QEvent.Type.Drop:
            path = self._path(event)
            if path is None:
                return False
            event.acceptProposedAction()  # type: ignore[attr-defined]
            self._on_file(path)
            return True
        return False



class ScanImport(QObject):
    """A page's scan input: "Import scan…" (a file dialog) and files dropped on the pad, each read, turned and
    cropped (``ScanDialog``), then shown on the pad as the signature (``SignaturePad.show_scan``), labelled as a
    scan. A bad file is one line in the page's message bar and changes nothing. ``dialog_hook`` (tests) runs the
    dialog instead of ``exec``; ``file_hook`` answers the file dialog."""

    def __init__(self, page: Any, pad: Any) -> None:
        super().__init__(page)
        self._page, self._pad = page, pad
        self.button = QPushButton(translate("scan", "Import scan…"))
        self.button.setToolTip(translate("scan", "A scanned signature from a PNG, JPEG or TIFF file (or drop the file "
                                                 "on the pad)"))
        self.button.setAccessibleName(translate("scan", "import a scanned signature"))
        self.button.clicked.connect(self.ask)
        self.drop = FileDrop(pad, self.take)
        self.dialog_hook: Callable[[ScanDialog], int] | None = None
        self.file_hook: Callable[[], str] | None = None

    def ask(self) -> None:
        from biometrix.gui.qt import QFileDialog

        if self.file_hook is not None:
            path = self.file_hook()
        else:
            path, _ = QFileDialog.getOpenFileName(self._page, translate("scan", "Import a scanned signature"), "",
                                                  translate("scan", SCAN_FILTER))
        if path:
            self.take(path)

    def take(self, path: str) -> bool:
        """Read, edit and show the scan at ``path``; False when it was refused or the edit cancelled."""
        from biometrix.gui.tasks import error_message

        try:
            img = edit_scan(self._page, path, dialog_hook=self.dialog_hook)
        except BiometrixError as err:
            self._page.messages.show_message(error_message(err), "error")
            return False
        if img is None:
            return False
        self._pad.show_scan(img, translate("scan", "SCANNED SIGNATURE — {name}").format(name=Path(path).name))
        self._page.messages.show_message(translate("scan", "Scan of {name} taken; it is used as the signature.").format(
            name=Path(path).name), "info")
        return True
