"""The camera widget: QTimer preview from capture.camera, face box and quality hint, capture, photo fallback."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from biometrix.core.errors import BiometrixError
from biometrix.gui.i18n import translate
from biometrix.gui.ops import FaceHint
from biometrix.gui.qt import (
    QColor,
    QFileDialog,
    QHBoxLayout,
    QImage,
    QLabel,
    QPainter,
    QPen,
    QPushButton,
    QRectF,
    QSizePolicy,
    QStackedWidget,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
    Signal,
)
from biometrix.gui.tasks import error_message
from biometrix.gui.widgets.images import to_qimage

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

PHOTO_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.pgm *.tif *.tiff *.webp)"


#: detect(frame, done): start a detection of ``frame`` off the UI thread and call ``done(FaceHint)`` on it later.
Detector = Callable[["np.ndarray", Callable[[FaceHint], None]], None]


def parse_camera(text: str | int) -> int | str:
    """A settings value as a camera source: digits are a device index, anything else a video file."""
    s = str(text).strip()
    return int(s) if s.isdigit() else s


class _Preview(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: QImage | None = None
        self.hint: FaceHint | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 180)

    def paintEvent(self, _event: object) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#202020"))
        if self.image is None:
            p.setPen(QColor("#dddddd"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, translate("camera_view", "Starting camera…"))
            p.end()
            return
        iw, ih = self.image.width(), self.image.height()
        s = min(self.width() / iw, self.height() / ih)
        ox, oy = (self.width() - iw * s) / 2, (self.height() - ih * s) / 2
        p.drawImage(QRectF(ox, oy, iw * s, ih * s), self.image)
        hint = self.hint
        if hint is not None:
            colour = QColor("#43a047") if hint.ok else QColor("#ffb300")
            if hint.bbox is not None:
                x0, y0, x1, y1 = hint.bbox
                p.setPen(QPen(colour, 3))
                p.drawRect(QRectF(ox + x0 * s, oy + y0 * s, (x1 - x0) * s, (y1 - y0) * s))
            p.fillRect(QRectF(0, self.height() - 30, self.width(), 30), QColor(0, 0, 0, 160))
            p.setPen(colour)
            p.drawText(QRectF(8, self.height() - 30, self.width() - 16, 30),
                       Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                       translate("ops", hint.message))
        p.end()


class CameraView(QWidget):
    """Live preview of a camera (or a video file standing in for one) with a capture button.

    Frames are read by a QTimer on the UI thread (a read is one buffered frame); face detection for the
    overlay runs through ``detector`` off the UI thread, one frame at a time, at most every
    ``detect_every_ms``. When no camera opens, the widget says so and, with ``allow_files``, offers to load a
    photo instead; without it (the kiosk) there is no file button and ``load_photo`` refuses every file.
    ``captured`` carries the RGB frame (or photo) to use. With ``hold_on_capture`` a capture (or a photo) freezes
    the preview on it (the probe a page decides on) until ``release``; meanwhile the capture button reads
    Retake, and pressing it releases the still (``retaken``).

    ``release`` forgets the frame, the still and the face hint (a hint still being computed for a forgotten
    frame is dropped) and goes back to the live camera: nothing of one customer is left for the next.
    """

    captured = Signal(object)
    retaken = Signal()  # a held capture was let go by its Retake button (a new probe is being taken)

    def __init__(self, parent: QWidget | None = None, *, detector: Detector | None = None, interval_ms: int = 66,
                 detect_every_ms: int = 400, touch: bool = False, allow_files: bool = True,
                 hold_on_capture: bool = False) -> None:
        super().__init__(parent)
        self._detector = detector
        self.allow_files = allow_files
        self._hold_on_capture = hold_on_capture
        self._held = False  # the preview shows a still (a capture held, or a photo): no camera frames
        self._generation = 0  # bumped by release: a face hint for an older frame is dropped
        self._camera: Any = None
        self._source: int | str | None = None
        self._frame: np.ndarray | None = None
        self._detecting = False
        self._detect_every_ms = detect_every_ms
        self._since_detect = detect_every_ms
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

        self.preview = _Preview()
        self.no_camera_label = QLabel(translate("camera_view", "No camera"))
        self.no_camera_label.setWordWrap(True)
        self.no_camera_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.load_button: QPushButton | None = QPushButton(translate("camera_view", "Load a photo "
                                                                                    "file…")) if allow_files else None
        self.retry_button = QPushButton(translate("camera_view", "Try the camera again"))
        self._capture_text = translate("camera_view", "Capture")
        self.capture_button = QPushButton(self._capture_text)
        self.capture_button.setEnabled(False)
        for b in (self.load_button, self.retry_button, self.capture_button):
            if b is not None:
                b.setMinimumHeight(56 if touch else 32)
        if self.load_button is not None:
            self.load_button.clicked.connect(self._choose_photo)
        self.retry_button.clicked.connect(lambda: self.start(self._source if self._source is not None else 0))
        self.capture_button.clicked.connect(self.capture)

        missing = QWidget()
        col = QVBoxLayout(missing)
        col.addStretch(1)
        col.addWidget(self.no_camera_label)
        col.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignHCenter)
        col.addStretch(1)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.preview)
        self.stack.addWidget(missing)
        buttons = QHBoxLayout()
        buttons.addWidget(self.capture_button, 2)
        if self.load_button is not None:
            buttons.addWidget(self.load_button, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack, 1)
        layout.addLayout(buttons)

    # --- camera ------------------------------------------------------------------------------------

    @property
    def has_camera(self) -> bool:
        return self._camera is not None

    @property
    def frame(self) -> np.ndarray | None:
        return self._frame

    @property
    def hint(self) -> FaceHint | None:
        return self.preview.hint

    @property
    def held(self) -> bool:
        """The preview shows a still (a held capture or a loaded photo), not the camera."""
        return self._held

    def start(self, source: int | str) -> bool:
        """Open ``source`` (device index or video file) and start the preview; False shows the no-camera state."""
        from biometrix.capture.camera import OpenCVCamera

        self.stop()
        self._source = source
        self._forget()
        try:
            if isinstance(source, str) and not os.path.isfile(source):
                raise FileNotFoundError(source)
            self._camera = OpenCVCamera(source)
        except FileNotFoundError:
            self._show_missing(translate("camera_view", "No camera: the video file {source} does not exist.")
                               .format(source=source))
            return False
        except BiometrixError as err:
            self._show_missing(translate("camera_view", "No camera: {err}").format(err=error_message(err)))
            return False
        self.preview.image, self.preview.hint = None, None
        self.stack.setCurrentIndex(0)
        self._timer.start()
        return True

    def stop(self) -> None:
        self._timer.stop()
        if self._camera is not None:
            self._camera.close()
            self._camera = None

    def clear(self) -> None:
        """Stop, and forget the last frame and its preview (a kiosk keeps nothing of the last customer)."""
        self.stop()
        self._forget()

    def release(self) -> None:
        """Forget the frame, the still and the hint. A live camera goes on (its next frame is new); after a still,
        back to the camera when the widget is shown (else the preview stays empty until ``start``)."""
        if self._camera is not None:  # live: keep the device open, drop what it showed
            self._forget()
            return
        resume = self._held
        self._forget()
        if resume and self._source is not None and self.isVisible():
            self.start(self._source)

    def _forget(self) -> None:
        self._generation += 1
        self._frame, self._held, self._detecting = None, False, False
        self.preview.image, self.preview.hint = None, None
        self.capture_button.setEnabled(False)
        if self._hold_on_capture:
            self.capture_button.setText(self._capture_text)
        self.preview.update()

    def _show_missing(self, text: str) -> None:
        self._camera = None
        self._forget()
        more = translate("camera_view", "You can load a photo file "
                                        "instead.") if self.allow_files else translate("camera_view", "Please see a "
                                                                                                      "member of "
                                                                                                      "staff.")
        self.no_camera_label.setText(f"{text}\n{more}")
        self.stack.setCurrentIndex(1)

    def _tick(self) -> None:
        if self._camera is None:
            return
        try:
            frame = self._camera.read()
            if frame is None and self._camera.is_file:  # a video file standing in for a camera: loop it
                from biometrix.capture.camera import OpenCVCamera

                self._camera.close()
                self._camera = OpenCVCamera(self._camera.source)
                frame = self._camera.read()
        except BiometrixError as err:
            self.stop()
            self._show_missing(translate("camera_view", "No camera: {err}").format(err=error_message(err)))
            return
        if frame is None:
            return
        self._frame = frame
        self.preview.image = to_qimage(frame)
        self.capture_button.setEnabled(True)
        self.preview.update()
        self._since_detect += self._timer.interval()
        if self._detector is not None and not self._detecting and self._since_detect >= self._detect_every_ms:
            self._detect(frame)

    def _detect(self, frame: np.ndarray) -> None:
        if self._detector is None:
            return
        self._detecting, self._since_detect = True, 0
        generation = self._generation
        self._detector(frame.copy(), lambda hint: self._on_hint(hint, generation))

    def _on_hint(self, hint: FaceHint, generation: int) -> None:
        if generation != self._generation:
            return  # the frame it was computed for has been forgotten
        self._detecting = False
        self.preview.hint = hint
        self.preview.update()

    # --- capture -----------------------------------------------------------------------------------

    def capture(self) -> None:
        """Emit the current frame (a copy); with ``hold_on_capture`` the preview stays on it, and a second press
        (Retake) lets it go."""
        if self._hold_on_capture and self._held:
            self.release()
            self.retaken.emit()
            return
        if self._frame is None:
            return
        if self._hold_on_capture and not self._held:
            self._show_still(self._frame, hint=self.preview.hint)
        self.captured.emit(self._frame.copy())

    def _show_still(self, rgb: np.ndarray, *, hint: FaceHint | None) -> None:
        self.stop()
        self._frame, self._held = rgb, True
        self.preview.image, self.preview.hint = to_qimage(rgb), hint
        self.stack.setCurrentIndex(0)
        self.capture_button.setEnabled(True)
        if self._hold_on_capture:
            self.capture_button.setText(translate("camera_view", "Retake"))
        self.preview.update()

    def load_photo(self, path: str | os.PathLike[str]) -> bool:
        """Show a photo file as a still and emit it as captured; a bad file shows its message. Refused (False,
        nothing read) where files are not allowed."""
        if not self.allow_files:
            log.warning("refused a photo file where only the camera may be used")
            return False
        from biometrix.capture.files import load_rgb

        try:
            rgb = load_rgb(path)
        except BiometrixError as err:
            self._show_missing(translate("camera_view", "That photo cannot be used: {err}")
                               .format(err=error_message(err)))
            return False
        self._generation += 1
        self._show_still(rgb, hint=None)
        self.captured.emit(rgb.copy())
        self._detect(rgb)
        return True

    def _choose_photo(self) -> None:
        if not self.allow_files:
            return
        path, _ = QFileDialog.getOpenFileName(self, translate("camera_view", "Load a face photo"), "", PHOTO_FILTER)
        if path:
            self.load_photo(path)

    def hideEvent(self, event: Any) -> None:  # noqa: N802 - Qt override: let the device go when not shown
        self._timer.stop()
        super().hideEvent(event)

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        if self._camera is not None:
            self._timer.start()
        super().showEvent(event)
