"""The task table of the selected DAG: task id, its latest run's state, try and duration, operator, trigger
rule, upstream tasks.

It stands in for the design canvas of a later issue. Above the table a header names the DAG and
summarises its schedule, start date and size; with nothing open the panel says what to do next.
The run columns show the DAG's latest run (``show_run`` with a ``RunView``; ``refresh_run`` after it
changed): the state in Airflow's colours, updated live while the run goes.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
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
from studio.ui.run_view import RunView, format_duration
from studio.ui.states import STATE_ROLE, StateDelegate, state_text

DESIGN_COLUMNS = ("Task id", "Operator", "Trigger rule", "Upstream")
RUN_COLUMNS = ("State", "Try", "Duration")
COLUMNS = DESIGN_COLUMNS + RUN_COLUMNS  # logical order; on screen the run columns follow the task id
STATE, TRY, DURATION = (len(DESIGN_COLUMNS) + i for i in range(len(RUN_COLUMNS)))
UPSTREAM = DESIGN_COLUMNS.index("Upstream")
EMPTY_TEXT = "Open a project, or File ▸ Import an Airflow DAG"
NO_DAGS_TEXT = "This project has no DAGs yet"


class TaskTablePanel(QWidget):
    """The selected DAG's tasks in Airflow's order, one row each."""

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.runs: dict[str, RunView] = {}  # dag_id → its latest run in this window
        self.tick = QTimer(self)  # keeps the durations of running tasks current
        self.tick.setInterval(500)
        self.tick.timeout.connect(self.refresh_run)
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
        self.table.setItemDelegateForColumn(STATE, StateDelegate(self.table))
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(UPSTREAM, QHeaderView.ResizeMode.Stretch)
        for offset, column in enumerate((STATE, TRY, DURATION)):
            header.moveSection(header.visualIndex(column), 1 + offset)

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
            for column in RUN_COLUMNS:
                self.table.setItem(row, COLUMNS.index(column), QTableWidgetItem(""))
            self.table.item(row, TRY).setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.item(row, DURATION).setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.refresh_run()

    # --- the latest run ------------------------------------------------------------------------------
    def show_run(self, view: RunView) -> None:
        """Show ``view`` as its DAG's latest run (replacing the one shown before)."""
        self.runs[view.dag_id] = view
        self.refresh_run()

    def refresh_run(self) -> None:
        """Bring the run columns up to date with the selected DAG's ``RunView``."""
        dag = self.document.current_dag
        view = self.runs.get(dag.dag_id) if dag is not None else None
        if dag is None or self.table.rowCount() != len(dag.tasks):
            self.tick.stop()
            return
        for row, task in enumerate(dag.tasks):
            state, try_number, seconds, instances = view.task_state(task.task_id) if view else (None, 0, None, 0)
            state_item = self.table.item(row, STATE)
            state_item.setText(state_text(state) if view is not None else "")
            state_item.setData(STATE_ROLE, state or "")
            tip = f"{instances} mapped task instances" if instances > 1 else ""
            state_item.setToolTip(f"{state_text(state)}{' — ' + tip if tip else ''}" if view is not None else "")
            self.table.item(row, TRY).setText(str(try_number) if try_number else "")
            self.table.item(row, DURATION).setText(format_duration(seconds))
        if view is not None and view.active:
            if not self.tick.isActive():
                self.tick.start()
        else:
            self.tick.stop()

    def row_texts(self) -> list[list[str]]:
        """The design columns' text (task id, operator, trigger rule, upstream), row by row (used by tests)."""
        return [
            [self.table.item(row, column).text() for column in range(len(DESIGN_COLUMNS))]
            for row in range(self.table.rowCount())
        ]

    def run_texts(self) -> list[list[str]]:
        """Task id, state, try and duration of each row, as shown (used by tests)."""
        return [
            [self.table.item(row, column).text() for column in (0, STATE, TRY, DURATION)]
            for row in range(self.table.rowCount())
        ]
