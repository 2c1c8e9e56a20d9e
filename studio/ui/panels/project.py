"""The Project panel: a tree of the open project and its DAGs, with each DAG's schedule and task count.

Selecting a DAG selects it in the document (the task table and the Code panel follow). A DAG with
validation errors carries an error icon, one with only warnings a warning icon.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QStackedWidget,
    QStyle,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.ui.document import Document
from studio.ui.formatting import describe_schedule

DAG_ID_ROLE = Qt.ItemDataRole.UserRole
KIND_TEXT = {
    "project": "project",
    "dag_json": "DAG file",
    "py_file": "Airflow file",
    "py_folder": "Airflow dags folder",
}


class ProjectPanel(QWidget):
    """Project name → DAGs (columns: DAG, schedule, tasks); an explanation when nothing is open."""

    EMPTY_TEXT = "Nothing open"

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.tree = QTreeWidget()
        self.tree.setObjectName("projectTree")
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["DAG", "Schedule", "Tasks"])
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.currentItemChanged.connect(self._on_current_item)

        self.empty = QLabel(self.EMPTY_TEXT)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setEnabled(False)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.tree)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

        document.opened.connect(self.rebuild)
        document.problems_changed.connect(self._mark_problems)
        document.dag_selected.connect(self._select)
        self.rebuild()

    # --- building ------------------------------------------------------------------------------------
    def rebuild(self) -> None:
        self.tree.blockSignals(True)
        self.tree.clear()
        project = self.document.project
        loaded = self.document.loaded
        if project is None or loaded is None:
            failed = self.document.path is not None
            self.empty.setText(
                f"Could not open {self.document.path.name} — see Problems" if failed else self.EMPTY_TEXT
            )
            self.stack.setCurrentWidget(self.empty)
            self.tree.blockSignals(False)
            return
        count = len(project.dags)
        root = QTreeWidgetItem([project.name, "", ""])
        font = QFont(root.font(0))
        font.setBold(True)
        root.setFont(0, font)
        kind = KIND_TEXT.get(loaded.kind, loaded.kind)
        root.setToolTip(0, f"{kind}: {loaded.root} — {count} DAG" + ("" if count == 1 else "s"))
        root.setFlags(root.flags() & ~Qt.ItemFlag.ItemIsSelectable)
        self.tree.addTopLevelItem(root)
        for dag in project.dags:
            item = QTreeWidgetItem([dag.dag_id, describe_schedule(dag), str(len(dag.tasks))])
            item.setData(0, DAG_ID_ROLE, dag.dag_id)
            item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            description = dag.args.get("description")
            item.setToolTip(0, description if isinstance(description, str) else dag.dag_id)
            root.addChild(item)
        root.setExpanded(True)
        self.stack.setCurrentWidget(self.tree)
        self.tree.blockSignals(False)
        self._mark_problems()
        self._select(self.document.current_dag_id or "")

    def _mark_problems(self) -> None:
        errors = {d.dag_id for d in self.document.problems if d.severity == "error" and d.dag_id}
        warnings = {d.dag_id for d in self.document.problems if d.severity == "warning" and d.dag_id}
        style = self.style()
        for item in self.dag_items():
            dag_id = item.data(0, DAG_ID_ROLE)
            if dag_id in errors:
                item.setIcon(0, style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical))
            elif dag_id in warnings:
                item.setIcon(0, style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning))
            else:
                item.setIcon(0, style.standardIcon(QStyle.StandardPixmap.SP_FileIcon))

    # --- selection -----------------------------------------------------------------------------------
    def dag_items(self) -> list[QTreeWidgetItem]:
        root = self.tree.topLevelItem(0)
        return [root.child(i) for i in range(root.childCount())] if root is not None else []

    def dag_ids(self) -> list[str]:
        return [item.data(0, DAG_ID_ROLE) for item in self.dag_items()]

    def _select(self, dag_id: str) -> None:
        for item in self.dag_items():
            if item.data(0, DAG_ID_ROLE) == dag_id:
                if self.tree.currentItem() is not item:
                    self.tree.blockSignals(True)
                    self.tree.setCurrentItem(item)
                    self.tree.blockSignals(False)
                return

    def _on_current_item(self, item: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None) -> None:
        dag_id = item.data(0, DAG_ID_ROLE) if item is not None else None
        if dag_id:
            self.document.select_dag(dag_id)
