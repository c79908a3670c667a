"""A one-line message strip for a page: information, success, warning or error (never a traceback)."""

from __future__ import annotations

from biometrix.gui.qt import QLabel, Qt, QWidget

STYLES = {
    "info": "background:#e3f2fd; color:#0d47a1;",
    "ok": "background:#e8f5e9; color:#1b5e20;",
    "warn": "background:#fff8e1; color:#8a5a00;",
    "error": "background:#ffebee; color:#b71c1c;",
}


class MessageBar(QLabel):
    """Shows the latest message of a page; ``kind`` is info, ok, warn or error."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.kind = ""
        self.hide()

    def show_message(self, text: str, kind: str = "info") -> None:
        self.kind = kind
        self.setText(text)
        self.setStyleSheet(f"QLabel {{ {STYLES.get(kind, STYLES['info'])} padding:6px; border-radius:4px; }}")
        self.show()

    def clear_message(self) -> None:
        self.kind = ""
        self.setText("")
        self.hide()
