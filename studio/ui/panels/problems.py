"""The Problems panel: every diagnostic of the open project (loading, validation, failed operations).

One row per diagnostic: severity icon, location (``file:line``, plus the JSON path for project files)
and message. Activating a row that names a DAG selects that DAG. Rows can be copied as text.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QStyle, QTreeWidget, QTreeWidgetItem, QWidget

from studio.core.diagnostics import Diagnostic
from studio.ui.document import Document

DIAGNOSTIC_ROLE = Qt.ItemDataRole.UserRole


def diagnostic_location(diagnostic: Diagnostic) -> str:
    """``file:line`` and, for project files, the JSON path (``dags/etl.json:12 $.tasks[2].args``)."""
    where = diagnostic.location()
    if diagnostic.json_path:
        where = f"{where} {diagnostic.json_path}".strip()
    return where


class ProblemsPanel(QTreeWidget):
    """A flat list of diagnostics; ``count_changed(errors, warnings)`` keeps the tab title current."""

    count_changed = Signal(int, int)

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.setObjectName("problems")
        self.setColumnCount(3)
        self.setHeaderLabels(["", "Location", "Message"])
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        header = self.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        self.setColumnWidth(1, 300)
        self.itemActivated.connect(self._on_activated)
        QShortcut(QKeySequence.StandardKey.Copy, self, self.copy_selection)
        document.problems_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        self.clear()
        style = self.style()
        icons = {
            "error": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical),
            "warning": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning),
        }
        problems = self.document.problems
        for diagnostic in problems:
            item = QTreeWidgetItem(["", diagnostic_location(diagnostic), diagnostic.message])
            item.setIcon(0, icons[diagnostic.severity])
            item.setToolTip(0, diagnostic.severity)
            item.setToolTip(1, diagnostic_location(diagnostic))
            item.setToolTip(2, diagnostic.message)
            item.setData(0, DIAGNOSTIC_ROLE, diagnostic)
            self.addTopLevelItem(item)
        if problems:
            self.resizeColumnToContents(1)
            self.setColumnWidth(1, min(self.columnWidth(1) + 12, 440))
        errors = sum(d.severity == "error" for d in problems)
        self.count_changed.emit(errors, len(problems) - errors)

    def rows(self) -> list[tuple[str, str, str]]:
        """(severity, location, message) per row, as shown."""
        out = []
        for i in range(self.topLevelItemCount()):
            item = self.topLevelItem(i)
            diagnostic: Diagnostic = item.data(0, DIAGNOSTIC_ROLE)
            out.append((diagnostic.severity, item.text(1), item.text(2)))
        return out

    def copy_selection(self) -> None:
        items = self.selectedItems() or [self.topLevelItem(i) for i in range(self.topLevelItemCount())]
        text = "\n".join(str(item.data(0, DIAGNOSTIC_ROLE)) for item in items)
        QGuiApplication.clipboard().setText(text)

    def _on_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        diagnostic: Diagnostic = item.data(0, DIAGNOSTIC_ROLE)
        if diagnostic.dag_id:
            self.document.select_dag(diagnostic.dag_id)
