"""The importer's API: results, errors with file and line, never executing the file, argument values."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from studio.codegen.importer import ImportResult, import_file, import_source
from studio.core.diagnostics import StudioError
from studio.core.values import CallableRef, CodeExpr, DateTime, ParamValue
from tests.conftest import real_warnings


def load(code: str, file: str = "dags/example.py") -> ImportResult:
    return import_source(textwrap.dedent(code), file)


def only_dag(code: str):
    result = load(code)
    assert len(result.dags) == 1, [d.dag_id for d in result.dags]
    return result.dags[0], result.diagnostics


def test_syntax_error_is_a_studio_error_with_file_and_line():
    with pytest.raises(StudioError) as info:
        load("from airflow import DAG\n\nwith DAG('x') as dag\n    pass\n", "broken.py")
    (diag,) = info.value.diagnostics
    assert diag.severity == "error"
    assert (diag.file, diag.line) == ("broken.py", 3)
    assert "syntax error" in diag.message
    assert str(diag).startswith("error: broken.py:3: ")


def test_a_file_without_dag_gives_no_dags_and_a_warning():
    result = load("import os\n\nVALUE = os.getcwd()\n", "helpers.py")
    assert result.dags == []
    assert [(d.severity, d.file) for d in result.diagnostics] == [("warning", "helpers.py")]
    assert "no DAG" in result.diagnostics[0].message


def test_unreadable_file_is_a_studio_error(tmp_path):
    with pytest.raises(StudioError) as info:
        import_file(tmp_path / "missing.py", display="missing.py")
    assert info.value.diagnostics[0].file == "missing.py"
    (tmp_path / "latin.py").write_bytes(b"x = '\xe9'\n")
    with pytest.raises(StudioError):
        import_file(tmp_path / "latin.py")


MARKER_DAG = """
    import pathlib
    from datetime import datetime

    from airflow import DAG
    from airflow.decorators import task
    from airflow.operators.python import PythonOperator

    MARKER = pathlib.Path({marker!r})
    MARKER.write_text("module level")


    def touch(*args, **kwargs):
        MARKER.write_text("called")
        return "/tmp"


    with DAG("marker_dag", start_date=datetime(2024, 1, 1), schedule=touch(), default_args={{"x": touch()}}) as dag:
        MARKER.write_text("in the DAG body")

        @task(retries=len(touch()))
        def write():
            MARKER.write_text("task")

        PythonOperator(task_id="py", python_callable=touch, op_kwargs={{"x": touch()}}) >> write()
        for i in range(2):
            touch(i)

    if __name__ == "__main__":
        touch()
"""


def test_importing_never_executes_the_file(tmp_path):
    marker = tmp_path / "executed.txt"
    path = tmp_path / "marker_dag.py"
    path.write_text(textwrap.dedent(MARKER_DAG.format(marker=str(marker))))
    by_source = import_source(path.read_text(), "marker_dag.py")
    by_file = import_file(path)
    assert not marker.exists()
    for result in (by_source, by_file):
        (dag,) = result.dags
        assert dag.task_ids == ["py", "write"]
        assert dag.args["schedule"] == CodeExpr("touch()")
    compile(path.read_text(), str(path), "exec")  # the file itself is valid Python


def test_warnings_name_the_display_name_and_line(tmp_path):
    path = tmp_path / "w.py"
    path.write_text("from airflow import DAG\nwith DAG('w') as dag:\n    while True:\n        break\n")
    result = import_file(path, display="dags/w.py")
    assert [(d.file, d.line, d.severity) for d in result.diagnostics] == [("dags/w.py", 3, "warning")]


# --- DAG definitions -----------------------------------------------------------------------------
def test_dag_ids_from_keyword_positional_and_decorator():
    result = load(
        """
        from airflow.sdk import DAG, dag

        first = DAG("positional")
        second = DAG(dag_id="keyword")

        @dag("decorated_positional")
        def a():
            pass

        @dag(dag_id="decorated_keyword")
        def b():
            pass

        @dag
        def function_name():
            pass

        a(); b(); function_name()
        """
    )
    assert [d.dag_id for d in result.dags] == [
        "positional",
        "keyword",
        "decorated_positional",
        "decorated_keyword",
        "function_name",
    ]


def test_a_dag_airflow_cannot_find_is_reported_not_returned():
    result = load(
        """
        from airflow import DAG

        def build():
            DAG("lost")

        build()
        kept = DAG("kept")
        """
    )
    assert [d.dag_id for d in result.dags] == ["kept"]
    assert any("'lost'" in d.message and d.line == 5 for d in result.diagnostics)


def test_schedule_interval_becomes_schedule_and_dates_keep_their_zone():
    dag, diagnostics = only_dag(
        """
        import datetime
        import pendulum
        from datetime import timedelta
        from airflow import DAG

        TZ = pendulum.timezone("Europe/Amsterdam")
        dag = DAG(
            "dates",
            schedule_interval=timedelta(hours=1, minutes=30),
            start_date=datetime.datetime(2024, 3, 1, 6, tzinfo=TZ),
            end_date=pendulum.datetime(2025, 1, 1, tz="America/New_York"),
            dagrun_timeout=pendulum.duration(minutes=45),
            default_args={"start_date": datetime.datetime(2024, 1, 1), "retry_delay": timedelta(seconds=90)},
        )
        """
    )
    assert real_warnings(diagnostics) == []
    assert dag.args["catchup"] is True  # Airflow 2's default, made explicit (an Airflow 2 file)
    assert dag.args["schedule"] == dt.timedelta(minutes=90)
    assert dag.args["start_date"] == DateTime(dt.datetime(2024, 3, 1, 6), "Europe/Amsterdam")
    assert dag.args["end_date"] == DateTime(dt.datetime(2025, 1, 1), "America/New_York")
    assert dag.args["dagrun_timeout"] == dt.timedelta(minutes=45)
    assert dag.args["default_args"] == {
        "start_date": DateTime(dt.datetime(2024, 1, 1), None),
        "retry_delay": dt.timedelta(seconds=90),
    }
    assert "schedule_interval" not in dag.args


def test_days_ago_is_kept_as_code_with_a_warning_and_its_import():
    dag, diagnostics = only_dag(
        """
        from airflow import DAG
        from airflow.utils.dates import days_ago

        with DAG("old", start_date=days_ago(2)) as dag:
            pass
        """
    )
    assert dag.args["start_date"] == CodeExpr("days_ago(2)")
    assert [(d.line, "days_ago" in d.message) for d in real_warnings(diagnostics)] == [(5, True)]
    assert "from airflow.utils.dates import days_ago" in dag.module_code


def test_params_trigger_rules_and_callables():
    dag, diagnostics = only_dag(
        """
        from airflow.sdk import DAG, Param, TriggerRule
        from airflow.providers.standard.operators.python import PythonOperator
        from airflow.utils.trigger_rule import TriggerRule as LegacyRule

        def work(): ...

        with DAG("p", params={"n": Param(3, type="integer", minimum=1), "free": Param(type="string"), "x": 1}) as dag:
            PythonOperator(task_id="a", python_callable=work, trigger_rule=TriggerRule.ALL_DONE)
            PythonOperator(task_id="b", python_callable=work, trigger_rule=LegacyRule.ONE_FAILED)
            PythonOperator(task_id="c", python_callable=lambda: work(), trigger_rule="none_skipped")
            PythonOperator(task_id="d", python_callable=work, trigger_rule=TriggerRule.ALWAYS.value)
        """
    )
    assert diagnostics == []
    assert dag.args["params"] == {
        "n": ParamValue(3, {"type": "integer", "minimum": 1}),
        "free": ParamValue(None, {"type": "string"}, has_default=False),
        "x": 1,
    }
    assert [t.args["trigger_rule"] for t in dag.tasks] == ["all_done", "one_failed", "none_skipped", "always"]
    assert all(type(t.args["trigger_rule"]) is str for t in dag.tasks)
    assert dag.tasks[0].args["python_callable"] == CallableRef("work")
    assert dag.tasks[2].args["python_callable"] == CodeExpr("lambda: work()")


def test_operator_classes_resolve_through_imports_and_old_aliases():
    dag, diagnostics = only_dag(
        """
        from airflow import DAG
        from airflow.operators.dummy import DummyOperator
        from airflow.operators.bash_operator import BashOperator as Bash
        from airflow.operators.python_operator import PythonOperator
        import airflow.providers.standard.sensors.filesystem as fs
        from airflow.providers.http.operators.http import HttpOperator
        from airflow.models import BaseOperator

        class Mine(BaseOperator):
            pass

        with DAG("ops") as dag:
            DummyOperator(task_id="dummy")
            Bash(task_id="bash", bash_command="true")
            PythonOperator(task_id="py", python_callable=print)
            fs.FileSensor(task_id="file", filepath="/x")
            HttpOperator(task_id="http", endpoint="/api")
            Mine(task_id="mine", anything=[1, 2])
        """
    )
    assert real_warnings(diagnostics) == []
    got = [(t.task_id, t.operator, t.class_path) for t in dag.tasks]
    assert got == [
        ("dummy", "EmptyOperator", None),
        ("bash", "BashOperator", None),
        ("py", "PythonOperator", None),
        ("file", "FileSensor", None),
        ("http", "custom", "airflow.providers.http.operators.http.HttpOperator"),
        ("mine", "custom", "Mine"),
    ]
    assert dag.tasks[-1].args == {"anything": [1, 2]}
    assert "class Mine(BaseOperator):" in dag.module_code
    assert "from airflow.models import BaseOperator" in dag.module_code
    assert "HttpOperator" not in dag.module_code


def test_several_dags_per_file_and_loops_that_create_dags():
    result = load(
        """
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.empty import EmptyOperator

        with DAG("one") as one:
            EmptyOperator(task_id="a")

        for name in ("x", "y"):
            with DAG(f"loop_{name}") as d:
                EmptyOperator(task_id=f"t_{name}")
        """
    )
    assert [(d.dag_id, d.task_ids) for d in result.dags] == [
        ("one", ["a"]),
        ("loop_x", ["t_x"]),
        ("loop_y", ["t_y"]),
    ]


def test_airflow2_files_keep_their_daily_schedule_and_catchup():
    source = """
        from datetime import datetime
        from airflow import DAG
        from airflow.operators.bash import BashOperator

        with DAG("legacy", start_date=datetime(2024, 1, 1)) as dag:
            BashOperator(task_id="t", bash_command="true")
        """
    dag, diagnostics = only_dag(source)
    assert dag.args["schedule"] == dt.timedelta(days=1)
    assert dag.args["catchup"] is True
    assert sorted((d.line, d.severity) for d in diagnostics) == [(6, "warning"), (6, "warning")]
    assert all("Airflow 2" in d.message for d in diagnostics)
    # What the file sets itself is kept; an Airflow 3 file gets Airflow 3's defaults (nothing added).
    explicit, _ = only_dag(source.replace("datetime(2024, 1, 1))", "datetime(2024, 1, 1), catchup=False)"))
    assert explicit.args["catchup"] is False
    modern, notes = only_dag(
        source.replace("from airflow import DAG", "from airflow.sdk import DAG").replace(
            "airflow.operators.bash", "airflow.providers.standard.operators.bash"
        )
    )
    assert "catchup" not in modern.args and "schedule" not in modern.args and notes == []
