"""The task table of the selected DAG: task id, operator, trigger rule, upstream tasks.

It stands in for the design canvas of a later issue. Above the table a header names the DAG and
summarises its schedule, start date and size; with nothing open the panel says what to do next.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.core.model import Dag
from studio.ui.document import Document
from studio.ui.formatting import dag_summary, describe_operator, effective_trigger_rule

COLUMNS = ("Task id", "Operator", "Trigger rule", "Upstream")
EMPTY_TEXT = "Open a project, or File ▸ Import an Airflow DAG"
NO_DAGS_TEXT = "This project has no DAGs yet"


class TaskTablePanel(QWidget):
    """The selected DAG's tasks in Airflow's order, one row each."""

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.title = QLabel()
        self.title.setObjectName("dagTitle")
        font = QFont(self.title.font())
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title.setFont(font)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary = QLabel()
        self.summary.setObjectName("dagSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("taskTable")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)

        page = QWidget()
        page_layout = QVBoxLayout(page)
        page_layout.setContentsMargins(8, 6, 8, 0)
        page_layout.addWidget(self.title)
        page_layout.addWidget(self.summary)
        page_layout.addWidget(self.table, 1)

        self.empty = QLabel(EMPTY_TEXT)
        self.empty.setObjectName("emptyState")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        empty_font = QFont(self.empty.font())
        empty_font.setPointSizeF(empty_font.pointSizeF() * 1.3)
        self.empty.setFont(empty_font)
        self.empty.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(page)
        self.page = page
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

        document.dag_selected.connect(self.refresh)
        document.opened.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        dag = self.document.current_dag
        if dag is None:
            project = self.document.project
            if project is None:
                failed = self.document.path is not None
                self.empty.setText(f"Could not open {self.document.path}. See Problems." if failed else EMPTY_TEXT)
            else:
                self.empty.setText(NO_DAGS_TEXT if not project.dags else "Select a DAG in the Project panel")
            self.stack.setCurrentWidget(self.empty)
            self.table.setRowCount(0)
            return
        self.title.setText(dag.dag_id)
        description = dag.args.get("description")
        summary = dag_summary(dag)
        self.summary.setText(f"{description} — {summary}" if isinstance(description, str) and description else summary)
        self._fill(dag)
        self.stack.setCurrentWidget(self.page)

    def _fill(self, dag: Dag) -> None:
        self.table.setRowCount(len(dag.tasks))
        muted = self.palette().color(QPalette.ColorGroup.Active, QPalette.ColorRole.PlaceholderText)
        order = {task_id: i for i, task_id in enumerate(dag.task_ids)}
        upstreams: dict[str, list[str]] = {}
        for edge in dag.edges:
            upstreams.setdefault(edge.downstream, []).append(edge.upstream)
        for row, task in enumerate(dag.tasks):
            rule, origin = effective_trigger_rule(dag, task)
            found = upstreams.get(task.task_id, [])
            upstream = sorted(dict.fromkeys(found), key=lambda t: order.get(t, len(order)))
            cells = (task.task_id, describe_operator(task), rule, ", ".join(upstream) or "—")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                self.table.setItem(row, column, item)
            operator_item = self.table.item(row, 1)
            spec = task.spec
            operator_item.setToolTip(
                task.class_path if task.operator == "custom" and task.class_path else (spec.help if spec else "")
            )
            rule_item = self.table.item(row, 2)
            if origin != "task":
                rule_item.setForeground(muted)
                rule_item.setToolTip("Airflow's default" if origin == "default" else "from the DAG's default_args")
            if not upstream:
                self.table.item(row, 3).setForeground(muted)

    def row_texts(self) -> list[list[str]]:
        """The table's text, row by row (what a user sees; used by tests)."""
        return [
            [self.table.item(row, column).text() for column in range(self.table.columnCount())]
            for row in range(self.table.rowCount())
        ]
