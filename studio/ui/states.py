"""Task states as Airflow users know them: Airflow's colour per state, and a delegate that paints them.

``STATE_COLOURS`` are the CSS colour names of Airflow's UI (``success`` green, ``running`` lime, …).
A state cell is painted as a pill: the state's fill, a border a shade darker (lighter on a dark
theme, so the pill stands out from either background) and black or white text, whichever contrasts
more with the fill (WCAG contrast ≥ 4.5:1 for every colour here).
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

STATE_ROLE = Qt.ItemDataRole.UserRole + 1  # the state name of a State cell ("" = no status)

STATE_COLOURS: dict[str, str] = {
    "success": "#008000",  # green
    "running": "#00ff00",  # lime
    "failed": "#ff0000",  # red
    "up_for_retry": "#ffd700",  # gold
    "up_for_reschedule": "#40e0d0",  # turquoise
    "upstream_failed": "#ffa500",  # orange
    "skipped": "#ff69b4",  # hotpink
    "queued": "#808080",  # grey
    "scheduled": "#d2b48c",  # tan
    "restarting": "#ee82ee",  # violet
    "deferred": "#9370db",  # mediumpurple
    "removed": "#d3d3d3",  # lightgrey
}
FINISHED = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})
ACTIVE = frozenset({"scheduled", "queued", "running", "up_for_retry", "up_for_reschedule", "restarting", "deferred"})
NO_STATUS = "no status"


def state_text(state: str | None) -> str:
    """What a user reads in a State cell: Airflow's name, ``no status`` for none."""
    return state or NO_STATUS


def _luminance(colour: QColor) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF()) + 0.0722 * channel(colour.blueF())


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio of two colours (1 … 21)."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def text_colour(fill: QColor) -> QColor:
    """Black or white, whichever reads better on ``fill``."""
    black, white = QColor("#000000"), QColor("#ffffff")
    return black if contrast(fill, black) >= contrast(fill, white) else white


def state_colours(state: str | None, dark: bool = False) -> tuple[QColor, QColor, QColor] | None:
    """``(fill, border, text)`` for ``state``; None for no status (the cell stays plain)."""
    if not state or state not in STATE_COLOURS:
        return None
    fill = QColor(STATE_COLOURS[state])
    border = fill.lighter(150) if dark else fill.darker(150)
    if dark and fill.lightness() > 200:
        border = fill.darker(130)
    return fill, border, text_colour(fill)


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


class StateDelegate(QStyledItemDelegate):
    """Paints a State cell (its ``STATE_ROLE`` data) as a coloured pill with the state's name."""

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        state = index.data(STATE_ROLE)
        colours = state_colours(state, is_dark(option.palette))  # type: ignore[attr-defined]
        if colours is None:
            super().paint(painter, option, index)
            return
        fill, border, text = colours
        widget: QWidget | None = option.widget  # type: ignore[attr-defined]
        style = widget.style() if widget is not None else None
        plain = QStyleOptionViewItem(option)
        self.initStyleOption(plain, index)
        plain.text = ""  # type: ignore[attr-defined]
        if style is not None:  # the row's background and selection, without the text
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, plain, painter, widget)
        rect = QRectF(option.rect).adjusted(3, 3, -3, -3)  # type: ignore[attr-defined]
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(border, 1.2))
        painter.setBrush(fill)
        radius = min(rect.height() / 2, 7.0)
        painter.drawRoundedRect(rect, radius, radius)
        painter.setPen(text)
        painter.drawText(rect.adjusted(8, 0, -8, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, state)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex):  # type: ignore[override]
        size = super().sizeHint(option, index)
        size.setWidth(size.width() + 22)
        return size
