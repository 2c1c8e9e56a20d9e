"""The main window (pytest-qt, offscreen): opening projects, DAG list, task table, code, problems, actions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QToolBar

from studio.codegen.generator import generate_dag
from studio.core.model import Dag, Edge, Project, Task
from studio.core.serialization import write_project
from studio.core.values import CallableRef, DateTime
from studio.ui.actions import ACTIONS, resolve_handler
from studio.ui.main_window import MainWindow
from studio.ui.panels.tasks import EMPTY_TEXT

pytestmark = pytest.mark.gui


def demo_project() -> Project:
    """Two DAGs: ``alpha`` (extract -> transform, both -> load with all_done) and ``beta`` (one task)."""
    start = DateTime(dt.datetime(2024, 1, 1), "Europe/Amsterdam")
    alpha = Dag(
        "alpha",
        args={"schedule": "@daily", "start_date": start, "description": "Three steps"},
        tasks=[
            Task("extract", "PythonOperator", {"python_callable": CallableRef("extract")}),
            Task("transform", "BashOperator", {"bash_command": "echo transform"}),
            Task("load", "BashOperator", {"bash_command": "echo load", "trigger_rule": "all_done"}),
        ],
        edges=[Edge("extract", "transform"), Edge("extract", "load"), Edge("transform", "load")],
        module_code="def extract():\n    return 1\n",
    )
    beta = Dag(
        "beta",
        args={"schedule": dt.timedelta(hours=2), "start_date": start},
        tasks=[Task("only", "EmptyOperator", {})],
    )
    return Project(name="demo", dags=[alpha, beta])


@pytest.fixture
def demo_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "demo"
    write_project(demo_project(), folder)
    return folder


@pytest.fixture
def window(qtbot) -> MainWindow:
    win = MainWindow()
    qtbot.addWidget(win)
    return win


def test_empty_window_explains_the_next_step(window: MainWindow):
    assert window.task_panel.stack.currentWidget() is window.task_panel.empty
    assert window.task_panel.empty.text() == EMPTY_TEXT
    assert not window.actions_by_id["export_code"].isEnabled()
    assert not window.actions_by_id["reload"].isEnabled()
    assert window.actions_by_id["open"].isEnabled()
    assert window.project_panel.dag_ids() == []


def test_opens_a_project_and_lists_its_dags(window: MainWindow, demo_dir: Path):
    assert window.open_path(demo_dir)
    root = window.project_panel.tree.topLevelItem(0)
    assert root.text(0) == "demo"
    assert window.project_panel.dag_ids() == ["alpha", "beta"]
    alpha, beta = window.project_panel.dag_items()
    assert (alpha.text(1), alpha.text(2)) == ("@daily", "3")
    assert (beta.text(1), beta.text(2)) == ("every 2 h", "1")
    assert window.windowTitle().startswith("demo")
    assert str(demo_dir.resolve()) in window.path_label.text()
    assert window.actions_by_id["export_code"].isEnabled()


def test_first_dag_is_selected_with_its_task_table(window: MainWindow, demo_dir: Path):
    window.open_path(demo_dir)
    assert window.document.current_dag_id == "alpha"
    assert window.task_panel.title.text() == "alpha"
    assert "Three steps" in window.task_panel.summary.text()
    assert window.task_panel.row_texts() == [
        ["extract", "PythonOperator", "all_success", "—"],
        ["transform", "BashOperator", "all_success", "extract"],
        ["load", "BashOperator", "all_done", "extract, transform"],
    ]


def test_selecting_a_dag_shows_its_generated_code(window: MainWindow, demo_dir: Path, qtbot):
    window.open_path(demo_dir)
    project = window.document.project
    beta_item = window.project_panel.dag_items()[1]
    window.project_panel.tree.setCurrentItem(beta_item)
    assert window.document.current_dag_id == "beta"
    expected = generate_dag(project.dag("beta"), "airflow3")
    assert window.code_panel.code == expected
    assert window.code_panel.file_label.text() == "beta.py"
    assert window.code_panel.view.toPlainText().strip() == expected.strip()
    assert window.task_panel.row_texts() == [["only", "EmptyOperator", "all_success", "—"]]


def test_code_is_highlighted_and_follows_the_target_switch(window: MainWindow, demo_dir: Path):
    window.open_path(demo_dir)
    dag = window.document.project.dag("alpha")
    assert window.code_panel.code == generate_dag(dag, "airflow3")
    html = window.code_panel.view.toHtml()
    assert html.count("color:") >= 3  # keywords, strings and names in different colours
    box = window.code_panel.target_box
    box.setCurrentIndex(box.findData("airflow2"))
    assert window.document.target == "airflow2"
    assert window.code_panel.code == generate_dag(dag, "airflow2")
    assert window.code_panel.code != generate_dag(dag, "airflow3")


def test_malformed_project_shows_a_problem_and_a_dialog(window: MainWindow, demo_dir: Path, qtbot):
    bad = demo_dir / "dags" / "beta.json"
    bad.write_text('{\n  "dagstudio": 1,\n  "dag_id": "beta",\n  "tasks": [\n', encoding="utf-8")
    assert not window.open_path(demo_dir)
    rows = window.problems_panel.rows()
    assert rows, "the failure is listed in the Problems panel"
    severity, location, message = rows[0]
    assert severity == "error"
    assert "beta.json" in location and ":" in location
    assert "JSON" in message
    assert window.bottom_tabs.currentWidget() is window.problems_panel
    assert window.bottom_tabs.tabText(window.bottom_tabs.indexOf(window.problems_panel)).startswith("Problems (1 error")
    dialog = window.last_dialog
    assert isinstance(dialog, QMessageBox) and dialog.isVisible()
    assert "beta.json" in dialog.informativeText()
    dialog.close()
    assert window.project_panel.dag_ids() == []
    assert "Could not open" in window.task_panel.empty.text()


def test_missing_path_is_a_problem_not_a_crash(window: MainWindow, tmp_path: Path):
    missing = tmp_path / "nowhere"
    assert not window.open_path(missing)
    assert window.problems_panel.rows()
    assert all(severity == "error" for severity, _, _ in window.problems_panel.rows())
    window.last_dialog.close()


def test_reload_picks_up_changes_and_keeps_the_selection(window: MainWindow, demo_dir: Path):
    window.open_path(demo_dir)
    window.document.select_dag("beta")
    project = demo_project()
    project.dags[1].tasks.append(Task("second", "EmptyOperator", {}))
    project.dags[1].edges.append(Edge("only", "second"))
    write_project(project, demo_dir)
    window.actions_by_id["reload"].trigger()
    assert window.document.current_dag_id == "beta"
    assert [row[0] for row in window.task_panel.row_texts()] == ["only", "second"]
    assert window.project_panel.dag_items()[1].text(2) == "2"


def test_export_writes_the_same_files_as_the_generator(window: MainWindow, demo_dir: Path, tmp_path: Path):
    window.open_path(demo_dir)
    out = tmp_path / "out"
    written = window.files.export_to(out)
    assert written is not None
    assert sorted(p.name for p in out.iterdir()) == ["alpha.py", "beta.py"]
    for dag in window.document.project.dags:
        assert (out / f"{dag.dag_id}.py").read_text(encoding="utf-8") == generate_dag(dag, "airflow3")
    assert "Exported 2 files" in window.statusBar().currentMessage()


def test_export_is_refused_while_the_project_has_errors(window: MainWindow, tmp_path: Path):
    cyclic = Project(
        name="cyclic",
        dags=[
            Dag(
                "loop",
                args={"schedule": None},
                tasks=[Task("a", "EmptyOperator", {}), Task("b", "EmptyOperator", {})],
                edges=[Edge("a", "b"), Edge("b", "a")],
            )
        ],
    )
    write_project(cyclic, tmp_path / "cyclic")
    assert window.open_path(tmp_path / "cyclic")
    assert any(s == "error" and "cycle" in m.lower() for s, _, m in window.problems_panel.rows())
    out = tmp_path / "out"
    assert window.files.export_to(out) is None
    assert not out.exists()
    window.last_dialog.close()


def test_import_airflow_file_into_a_project(window: MainWindow, tmp_path: Path):
    source = tmp_path / "etl.py"
    source.write_text(
        "import pendulum\n"
        "from airflow.sdk import DAG\n"
        "from airflow.providers.standard.operators.bash import BashOperator\n\n"
        'with DAG("etl", schedule="@hourly", start_date=pendulum.datetime(2024, 1, 1, tz="UTC")) as dag:\n'
        '    extract = BashOperator(task_id="extract", bash_command="echo e")\n'
        '    load = BashOperator(task_id="load", bash_command="echo l")\n'
        "    extract >> load\n",
        encoding="utf-8",
    )
    project_dir = tmp_path / "imported"
    assert window.files.import_into(source, project_dir)
    assert (project_dir / "dagstudio.toml").is_file()
    assert window.project_panel.dag_ids() == ["etl"]
    assert window.task_panel.row_texts() == [
        ["extract", "BashOperator", "all_success", "—"],
        ["load", "BashOperator", "all_success", "extract"],
    ]


def test_import_of_a_broken_file_leaves_the_project_alone(window: MainWindow, demo_dir: Path, tmp_path: Path):
    window.open_path(demo_dir)
    before = {p: p.read_bytes() for p in demo_dir.rglob("*") if p.is_file()}
    broken = tmp_path / "broken.py"
    broken.write_text("from airflow.sdk import DAG\nwith DAG('x') as dag:\n    oops(\n", encoding="utf-8")
    assert not window.files.import_into(broken, demo_dir)
    assert {p: p.read_bytes() for p in demo_dir.rglob("*") if p.is_file()} == before
    assert any("broken.py" in location for _, location, _ in window.problems_panel.rows())
    assert window.project_panel.dag_ids() == ["alpha", "beta"]  # the open project stays open
    window.last_dialog.close()


def test_actions_come_from_one_table(window: MainWindow):
    for spec in ACTIONS:
        assert callable(resolve_handler(window, spec.handler)), spec.id
        assert window.actions_by_id[spec.id].text() == spec.text
    shortcuts = {spec.id: window.actions_by_id[spec.id].shortcut().toString() for spec in ACTIONS}
    assert shortcuts["open"] == "Ctrl+O"
    assert shortcuts["export_code"] == "Ctrl+E"
    assert shortcuts["quit"] == "Ctrl+Q"
    menus = {menu.title(): [a.text() for a in menu.actions() if not a.isSeparator()] for menu in _menus(window)}
    assert menus["&File"] == [s.text for s in ACTIONS if s.menu == "&File"]
    assert menus["&Help"] == ["&About DAG Studio"]
    toolbar = window.findChild(QToolBar, "mainToolbar")
    assert [a.text() for a in toolbar.actions() if not a.isSeparator()] == [s.text for s in ACTIONS if s.toolbar]


def test_ctrl_e_with_nothing_open_does_nothing(window: MainWindow, qtbot):
    window.show()
    qtbot.waitExposed(window)
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert window.last_dialog is None


def _menus(window: MainWindow):
    return [action.menu() for action in window.menuBar().actions() if action.menu() is not None]


def test_activating_a_problem_selects_its_dag(window: MainWindow, tmp_path: Path):
    project = demo_project()
    project.dags[1].tasks.append(Task("other", "EmptyOperator", {}))
    project.dags[1].edges += [Edge("only", "other"), Edge("other", "only")]
    write_project(project, tmp_path / "p")
    window.open_path(tmp_path / "p")
    assert window.document.current_dag_id == "alpha"
    beta = window.project_panel.dag_items()[1]
    assert not beta.icon(0).isNull()
    panel = window.problems_panel
    row = next(i for i in range(panel.topLevelItemCount()) if "cycle" in panel.topLevelItem(i).text(2))
    assert "beta.json" in panel.topLevelItem(row).text(1)
    panel.itemActivated.emit(panel.topLevelItem(row), 2)
    assert window.document.current_dag_id == "beta"
    assert window.project_panel.tree.currentItem() is beta
    assert window.task_panel.title.text() == "beta"
