"""Jinja templating of template fields: the values real Airflow 3.3.2 renders (``dag.test()`` of
tests/sdk_files/templates_dag.py, ``@pytest.mark.airflow``) equal what studio.sdk renders for the same
logical date, run id and conf; plus template files, undefined variables, nested objects and native mode."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from studio.sdk.execution import run_task
from studio.sdk.loader import load_dag_file
from tests.test_sdk_helpers import RUN_INFO, MemoryXCom, Runner

FILES = Path(__file__).parent / "sdk_files"
LOGICAL_DATE = "2024-03-05T06:07:08+00:00"
CONF = {"name": "conf"}


def copy_dag_folder(target: Path) -> Path:
    target.mkdir(parents=True)
    shutil.copy(FILES / "templates_dag.py", target)
    shutil.copytree(FILES / "tpl_files", target / "tpl_files")
    return target / "templates_dag.py"


def airflow_renders(tmp_path: Path) -> tuple[dict, dict]:
    from tests.oracle.airflow_env import airflow_env, airflow_python

    path = copy_dag_folder(tmp_path / "airflow_dags")
    out = tmp_path / "airflow_out"
    out.mkdir()
    env = airflow_env(tmp_path / "airflow_home")
    env.update(AIRFLOW__CORE__DAGS_FOLDER=str(path.parent), TPL_OUT=str(out))
    python = str(airflow_python())
    subprocess.run([python, "-m", "airflow", "db", "migrate"], env=env, capture_output=True, check=True, timeout=600)
    proc = subprocess.run(
        [python, str(FILES / "render_oracle.py"), str(path), LOGICAL_DATE, json.dumps(CONF)],
        env=env, capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    runs = json.loads(proc.stdout)
    rendered = {dag_id: json.loads((out / f"{dag_id}.json").read_text()) for dag_id in runs}
    return runs, rendered


@pytest.mark.airflow
def test_rendered_templates_equal_airflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    runs, expected = airflow_renders(tmp_path)
    assert {r["state"] for r in runs.values()} == {"success"}
    path = copy_dag_folder(tmp_path / "our_dags")
    out = tmp_path / "our_out"
    out.mkdir()
    monkeypatch.setenv("TPL_OUT", str(out))
    dags = load_dag_file(path)
    for dag_id, run in runs.items():
        run_info = {
            "run_id": run["run_id"], "logical_date": LOGICAL_DATE, "conf": CONF, "run_type": "manual",
            "data_interval_start": run["data_interval_start"], "data_interval_end": run["data_interval_end"],
        }  # fmt: skip
        result = run_task(dags[dag_id], "render", -1, 1, run_info, MemoryXCom())
        assert result["state"] == "success", result["error"]
        assert json.loads((out / f"{dag_id}.json").read_text()) == expected[dag_id]
    assert expected["tpl_native"]["list"] == ["list", [1, 3]]


def test_template_files_undefined_and_missing(tmp_path: Path):
    (tmp_path / "script.sh").write_text("echo {{ params.word }}-{{ ds_nodash }}\n")
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "other.sh").write_text("echo other\n")
    runner = Runner(tmp_path, """
        import pendulum
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.bash import BashOperator
        with DAG("files", schedule=None, params={"word": "hello"}, template_searchpath="%s") as dag:
            BashOperator(task_id="script", bash_command="script.sh")
            BashOperator(task_id="searchpath", bash_command="other.sh")
            BashOperator(task_id="undefined", bash_command="echo {{ nope }}")
            BashOperator(task_id="missing", bash_command="missing.sh")
    """ % (tmp_path / "extra"))  # fmt: skip
    result = runner.run("script")
    assert result["state"] == "success" and runner.value("script") == "hello-20240305"
    assert result["rendered_fields"]["bash_command"] == "echo hello-20240305"
    assert runner.run("searchpath")["state"] == "success" and runner.value("searchpath") == "other"
    undefined = runner.run("undefined")
    assert undefined["state"] == "failed" and "UndefinedError" in undefined["error"]
    assert "TemplateNotFound" in runner.run("missing")["error"]


def test_nested_fields_xcomargs_native_override_and_dag_params(tmp_path: Path):
    runner = Runner(tmp_path, """
        import pendulum
        from airflow.sdk import DAG, BaseOperator, dag, task

        class Query:
            template_fields = ("sql",)
            def __init__(self, sql):
                self.sql = sql

        class Show(BaseOperator):
            template_fields = ("query", "value")
            def __init__(self, query, value=None, **kwargs):
                super().__init__(**kwargs)
                self.query, self.value = query, value
            def execute(self, context):
                return [self.query.sql, self.value]

        @dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1))
        def nested(limit: int = 7):
            @task
            def number():
                return 41
            Show(task_id="show", query=Query("select {{ ds }}"), value=number())
            Show(task_id="native", query=Query("{{ [1, 2] }}"), render_template_as_native_obj=True)
            @task
            def use(limit):
                return limit * 2
            use(limit)
        nested()
    """)  # fmt: skip
    runner.run("number")
    assert runner.run("show")["state"] == "success"
    assert runner.value("show") == ["select 2024-03-05", 41]
    runner.run("native")
    assert runner.value("native") == [[1, 2], None]
    runner.run("use")
    assert runner.value("use") == 14
    runner.run_info = {**RUN_INFO, "conf": {"limit": 10}}
    runner.run("use")
    assert runner.value("use") == 20


def test_var_and_conn_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AIRFLOW_VAR_COLOR", "blue")
    monkeypatch.setenv("AIRFLOW_VAR_CFG", '{"size": 3}')
    monkeypatch.setenv("AIRFLOW_CONN_DB", "postgres://user:pw@host:5432/app?sslmode=require")
    runner = Runner(tmp_path, """
        from airflow.sdk import DAG, Variable
        from airflow.providers.standard.operators.bash import BashOperator
        with DAG("vars", schedule=None) as dag:
            BashOperator(task_id="v", bash_command="echo {{ var.value.color }} {{ var.json.cfg.size }} "
                         "{{ conn.db.host }} {{ conn.db.port }} {{ conn.db.extra_dejson.sslmode }} "
                         "{{ var.value.get('absent', 'dflt') }}")
            MISSING_DEFAULT = Variable.get("absent", default="d")
    """)  # fmt: skip
    assert runner.run("v")["state"] == "success"
    assert runner.value("v") == "blue 3 host 5432 require dflt"
    assert runner.module.MISSING_DEFAULT == "d"
    assert os.environ["AIRFLOW_VAR_COLOR"] == "blue"
