"""A message strip of fixed height for a page: information, success, warning or error (never a traceback)."""

from __future__ import annotations

from biometrix.gui.qt import (
    QEvent,
    QFont,
    QFontMetrics,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    Qt,
    QTextLayout,
    QTextOption,
    QWidget,
)

#: kind -> (background, text colour)
STYLES = {
    "info": ("#e3f2fd", "#0d47a1"),
    "ok": ("#e8f5e9", "#1b5e20"),
    "warn": ("#fff8e1", "#8a5a00"),
    "error": ("#ffebee", "#b71c1c"),
}
PADDING, MARGIN = 6, 2


def fit_lines(text: str, font: QFont, width: int, lines: int) -> str:
    """``text`` word-wrapped at ``width`` pixels, cut to ``lines`` lines, the last one ending in "…" when cut."""
    layout = QTextLayout(text, font)
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    layout.setTextOption(option)
    spans = []
    layout.beginLayout()
    while True:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(max(width, 1))
        spans.append((line.textStart(), line.textLength()))
    layout.endLayout()
    if len(spans) <= lines:
        return text
    head = [text[start:start + n].strip() for start, n in spans[:lines - 1]]
    tail = QFontMetrics(font).elidedText(text[spans[lines - 1][0]:].strip(), Qt.TextElideMode.ElideRight, width)
    return "\n".join([*head, tail])


class MessageBar(QFrame):
    """The latest message of a page; ``kind`` is info, ok, warn or error, ``text()`` the whole message.

    The strip always takes the height of ``lines`` lines, shown or empty, so that a message never moves the
    widgets around it (a click meant for a button never lands on the pad); a longer message is cut to the lines
    with "…", and the whole of it is the tooltip.
    """

    def __init__(self, parent: QWidget | None = None, *, lines: int = 2) -> None:
        super().__init__(parent)
        self.lines = lines
        self.kind = ""
        self._text = ""
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        row = QHBoxLayout(self)
        row.setContentsMargins(PADDING, MARGIN, PADDING, MARGIN)
        row.addWidget(self.label)
        self.setObjectName("messageBar")
        self._restyle()
        self._fix_height()

    def text(self) -> str:
        return self._text

    def _fix_height(self) -> None:
        """The same height whatever the message: ``lines`` lines of the label's font and the margins."""
        self.setFixedHeight(self.lines * QFontMetrics(self.label.font()).lineSpacing() + 2 * MARGIN + 2)

    def show_message(self, text: str, kind: str = "info") -> None:
        self.kind, self._text = kind, text
        self._restyle()
        self._fit()

    def clear_message(self) -> None:
        self.kind, self._text = "", ""
        self._restyle()
        self._fit()

    def _restyle(self) -> None:
        background, colour = STYLES.get(self.kind, STYLES["info"]) if self.kind else ("transparent", "palette(text)")
        self.setStyleSheet(f"QFrame#messageBar {{ background:{background}; border-radius:4px; }} "
                           f"QFrame#messageBar QLabel {{ background:transparent; color:{colour}; }}")

    def _fit(self) -> None:
        width = self.contentsRect().width() - 2 * PADDING
        shown = fit_lines(self._text, self.label.font(), width, self.lines) if self._text else ""
        self.label.setText(shown)
        self.setToolTip(self._text if shown != self._text else "")

    def resizeEvent(self, event: object) -> None:  # noqa: N802 - Qt override: re-cut the message to the width
        super().resizeEvent(event)  # type: ignore[arg-type]
        self._fit()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override: a new font, a new height
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fix_height()
