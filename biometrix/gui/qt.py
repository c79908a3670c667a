"""The one Qt import point: every PySide6 name the app uses is re-exported from here, plus ``qconnect``.

Importing this module without PySide6 installed raises ``ModuleNotFoundError`` naming the package to install.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

try:
    from PySide6.QtCore import (
        QByteArray,
        QCoreApplication,
        QEvent,
        QMimeData,
        QObject,
        QPoint,
        QPointF,
        QRect,
        QRectF,
        QRunnable,
        QSize,
        QStandardPaths,
        Qt,
        QThreadPool,
        QTimer,
        QTranslator,
        QUrl,
        Signal,
        Slot,
    )
    from PySide6.QtGui import (
        QAction,
        QBrush,
        QColor,
        QEventPoint,
        QFont,
        QFontMetrics,
        QGuiApplication,
        QIcon,
        QImage,
        QInputDevice,
        QKeySequence,
        QMouseEvent,
        QPainter,
        QPainterPath,
        QPalette,
        QPen,
        QPixmap,
        QPointingDevice,
        QShortcut,
        QTabletEvent,
        QTextLayout,
        QTextOption,
        QTouchEvent,
    )
    from PySide6.QtWidgets import (
        QAbstractItemView,
        QAbstractSpinBox,
        QApplication,
        QCheckBox,
        QComboBox,
        QDialog,
        QDialogButtonBox,
        QDoubleSpinBox,
        QFileDialog,
        QFormLayout,
        QFrame,
        QGridLayout,
        QGroupBox,
        QHBoxLayout,
        QHeaderView,
        QLabel,
        QLineEdit,
        QListWidget,
        QListWidgetItem,
        QMainWindow,
        QMessageBox,
        QPlainTextEdit,
        QProgressBar,
        QPushButton,
        QRadioButton,
        QScrollArea,
        QSizePolicy,
        QSlider,
        QSpinBox,
        QStackedWidget,
        QTableWidget,
        QTableWidgetItem,
        QTabWidget,
        QVBoxLayout,
        QWidget,
    )
    from shiboken6 import isValid
except ModuleNotFoundError as err:  # pragma: no cover - exercised by the CLI test with PySide6 blocked
    raise ModuleNotFoundError("the desktop app needs PySide6: pip install PySide6-Essentials", name="PySide6") from err

__all__ = [
    "QAbstractItemView", "QAbstractSpinBox", "QAction", "QApplication", "QBrush", "QByteArray", "QCheckBox", "QColor",
    "QCoreApplication", "QMimeData", "QSlider", "QTabWidget", "QTranslator", "QUrl",
    "QComboBox",
    "QDialog", "QDialogButtonBox", "QDoubleSpinBox", "QEvent", "QEventPoint", "QFileDialog", "QFont", "QFontMetrics",
    "QIcon", "QFormLayout", "QFrame", "QGridLayout", "QGroupBox", "QGuiApplication", "QHBoxLayout", "QHeaderView",
    "QImage", "QInputDevice", "QKeySequence", "QLabel", "QLineEdit", "QListWidget", "QListWidgetItem", "QMainWindow",
    "QMessageBox", "QMouseEvent", "QObject", "QPainter", "QPainterPath", "QPalette", "QPen", "QPixmap",
    "QPlainTextEdit", "QPoint", "QPointF", "QPointingDevice", "QProgressBar", "QPushButton", "QRadioButton", "QRect",
    "QRectF", "QRunnable", "QScrollArea", "QShortcut", "QSize", "QSizePolicy", "QSpinBox", "QStackedWidget",
    "QStandardPaths", "QTableWidget", "QTableWidgetItem", "QTabletEvent", "QTextLayout", "QTextOption", "QThreadPool",
    "QTimer", "QTouchEvent", "QVBoxLayout", "QWidget", "Qt", "Signal", "Slot", "isValid", "qconnect",
]


def qconnect(signal: Any, func: Callable[..., Any]) -> None:
    """Connect ``signal`` to ``func`` (one typed place for every connection, as anki's aqt.qt.qconnect)."""
    signal.connect(func)
