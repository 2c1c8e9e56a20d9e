"""studio.sdk authoring objects: the airflow.* import hook, the loader, default_args precedence, task
groups, labels, TaskFlow ids, mapping, setup/teardown, params and describe_dag; the task attributes are
compared with what real Airflow 3.3.2 gives for the same file (``@pytest.mark.airflow``)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from studio.sdk.describe import describe_dag
from studio.sdk.exceptions import DagFileError, ParamValidationError
from studio.sdk.loader import load_dag, load_dag_file
from studio.sdk.params import Param, ParamsDict

FILES = Path(__file__).parent / "sdk_files"
ATTRIBUTES = FILES / "attributes_dag.py"


def write(tmp_path: Path, source: str, name: str = "dag_file.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def edges(dag) -> list[list[str]]:
    return sorted([up, t.task_id] for t in dag.tasks for up in t.upstream_task_ids)


def seconds(value):
    if value is None:
        return None
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


def our_attributes(dag) -> dict:
    out = {}
    for task in dag.tasks:
        row = {
            "owner": getattr(task, "owner", None), "retries": task.retries, "retry_delay": seconds(task.retry_delay),
            "queue": task.queue, "pool": task.pool, "trigger_rule": str(getattr(task.trigger_rule, "value", task.trigger_rule)),
            "priority_weight": task.priority_weight_total, "execution_timeout": seconds(task.execution_timeout),
            "is_setup": task.is_setup, "is_teardown": task.is_teardown, "mapped": getattr(task, "is_mapped", False),
            "retry_exponential_backoff": bool(task.retry_exponential_backoff), "max_retry_delay": seconds(task.max_retry_delay),
            "operator": task.task_type,
        }  # fmt: skip
        if hasattr(task, "poke_interval"):
            row["sensor"] = [task.mode, task.poke_interval, task.timeout, task.soft_fail, task.exponential_backoff]
        out[task.task_id] = row
    return out


@pytest.mark.airflow
def test_task_attributes_match_airflow(tmp_path: Path):
    from tests.oracle.airflow_env import airflow_env, airflow_python

    proc = subprocess.run(
        [str(airflow_python()), str(FILES / "attributes_oracle.py"), str(ATTRIBUTES)],
        capture_output=True, text=True, env=airflow_env(tmp_path), timeout=600, check=True,
    )  # fmt: skip
    oracle = json.loads(proc.stdout)
    assert oracle["errors"] == {}
    dag = load_dag(ATTRIBUTES)
    assert list(oracle["dags"]["sdk_attributes"]["tasks"]) == dag.task_ids
    assert our_attributes(dag) == oracle["dags"]["sdk_attributes"]["tasks"]
    assert describe_dag(dag)["timezone"] == oracle["dags"]["sdk_attributes"]["timezone"]


def test_default_args_precedence_without_airflow():
    tasks = {t.task_id: t for t in load_dag(ATTRIBUTES).tasks}
    assert (tasks["start"].owner, tasks["start"].retries) == ("dag", 1)
    assert (tasks["outer.a"].owner, tasks["outer.a"].retries) == ("outer", 2)
    assert (tasks["outer.inner.b"].retries, tasks["outer.inner.b"].queue) == (4, "q2")
    assert tasks["outer.inner.c"].retries == 7
    assert tasks["outer.inner.b"].execution_timeout == dt.timedelta(minutes=5)
    assert tasks["cleanup"].is_teardown and tasks["start"].is_setup


def test_describe_dag_is_json_and_topological():
    dag = load_dag(ATTRIBUTES)
    described = json.loads(json.dumps(describe_dag(dag)))
    order = [t["task_id"] for t in described["tasks"]]
    for task in described["tasks"]:
        for up in task["upstream"]:
            assert order.index(up) < order.index(task["task_id"])
    by_id = {t["task_id"]: t for t in described["tasks"]}
    assert described["schedule"] == "@daily" and described["max_active_tasks"] == 4
    assert described["dagrun_timeout"] == 3600.0 and described["timezone"] == "Europe/Amsterdam"
    assert by_id["wait"]["sensor"] == {
        "mode": "reschedule", "poke_interval": 120.0, "timeout": 604800.0, "soft_fail": False,
        "exponential_backoff": False, "max_wait": None,
    }  # fmt: skip
    assert by_id["gate"]["short_circuit"] and not by_id["gate"]["ignore_downstream_trigger_rules"]
    assert by_id["work"]["is_mapped"] and by_id["work"]["expand"] == {"kind": "literal", "length": 2}
    assert by_id["outer.inner.b"]["group_id"] == "outer.inner"
    assert by_id["start"]["priority_weight"] == 17 and by_id["absolute"]["priority_weight"] == 3
    assert by_id["delete"]["trigger_rule"] == "all_done_setup_success"


def test_hook_serves_airflow2_and_airflow3_paths_as_the_same_objects(tmp_path: Path):
    path = write(tmp_path, """
        import airflow
        from airflow import DAG, sdk
        from airflow.models import DAG as ModelsDag
        from airflow.models.dag import DAG as ModelsDagDag
        from airflow.models.param import Param
        from airflow.models.baseoperator import BaseOperator, chain
        from airflow.operators.python import PythonOperator, get_current_context
        from airflow.operators.bash import BashOperator
        from airflow.operators.empty import EmptyOperator
        from airflow.sensors.filesystem import FileSensor
        from airflow.sensors.python import PythonSensor
        from airflow.decorators import dag, task, task_group
        from airflow.utils.task_group import TaskGroup
        from airflow.utils.trigger_rule import TriggerRule
        from airflow.utils.edgemodifier import Label
        from airflow.utils.dates import days_ago
        from airflow.exceptions import AirflowSkipException
        from airflow.sdk.exceptions import AirflowSkipException as SdkSkip
        import airflow.providers.standard.operators.python as py3
        from airflow.sdk import Context, get_parsing_context
        from airflow.utils.context import Context as Af2Context
        assert Context is Af2Context and get_parsing_context().dag_id is None
        SAME = [DAG is sdk.DAG is ModelsDag is ModelsDagDag, PythonOperator is py3.PythonOperator,
                AirflowSkipException is SdkSkip, sdk.Param is Param, sdk.TaskGroup is TaskGroup]
        with DAG("paths", start_date=days_ago(1), schedule_interval=None) as d:
            EmptyOperator(task_id="e")
    """)  # fmt: skip
    dags = load_dag_file(path)
    import sys

    module = next(m for n, m in sys.modules.items() if n.startswith("unusual_prefix_") and n.endswith("_dag_file"))
    assert module.SAME == [True] * 5
    assert module.airflow.__version__ == "3.3.2"
    assert dags["paths"].schedule is None


def test_unsupported_airflow_module_names_the_module_and_the_line(tmp_path: Path):
    path = write(
        tmp_path,
        """
        from airflow.sdk import DAG

        from airflow.providers.snowflake.operators.snowflake import SnowflakeOperator
    """,
    )
    with pytest.raises(DagFileError) as info:
        load_dag_file(path)
    assert "airflow.providers.snowflake" in str(info.value)
    assert f"{path}:4" in str(info.value)
    assert info.value.lineno == 4


def test_loader_errors_carry_file_and_line(tmp_path: Path):
    syntax = write(tmp_path, "x = (\n", "syntax.py")
    with pytest.raises(DagFileError, match=r"syntax\.py:1"):
        load_dag_file(syntax)
    runtime = write(tmp_path, """
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.empty import EmptyOperator
        with DAG("broken", schedule=None):
            EmptyOperator(task_id="a")
            EmptyOperator(task_id="a")
    """, "runtime.py")  # fmt: skip
    with pytest.raises(DagFileError, match=r"runtime.py:6: DuplicateTaskIdFound"):
        load_dag_file(runtime)
    cycle = write(tmp_path, """
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.empty import EmptyOperator
        with DAG("cycle", schedule=None):
            a = EmptyOperator(task_id="a")
            b = EmptyOperator(task_id="b")
            a >> b >> a
    """, "cycle.py")  # fmt: skip
    with pytest.raises(DagFileError, match="Cycle"):
        load_dag_file(cycle)
    with pytest.raises(DagFileError, match="no such file"):
        load_dag_file(tmp_path / "missing.py")


def test_loader_collects_with_dag_module_level_and_decorated(tmp_path: Path):
    path = write(tmp_path, """
        from airflow.sdk import DAG, dag, task
        from airflow.providers.standard.operators.empty import EmptyOperator
        with DAG("ctx", schedule=None):
            EmptyOperator(task_id="a")
        plain = DAG("plain", schedule=None)
        EmptyOperator(task_id="b", dag=plain)
        @dag(schedule=None)
        def decorated(n: int = 2):
            @task
            def t(x):
                return x
            t(n)
        decorated()
        RAN_MAIN = __name__ == "__main__"
        if __name__ == "__main__":
            raise SystemExit("must not run")
    """)  # fmt: skip
    dags = load_dag_file(path)
    assert sorted(dags) == ["ctx", "decorated", "plain"]
    assert dags["decorated"].params["n"] == 2
    assert all(d.fileloc == str(path.resolve()) for d in dags.values())
    with pytest.raises(DagFileError, match="3 DAGs"):
        load_dag(path)
    assert load_dag(path, "plain").task_ids == ["b"]


def test_groups_labels_and_taskflow_ids(tmp_path: Path):
    path = write(tmp_path, """
        from airflow.sdk import DAG, Label, TaskGroup, task, task_group, chain_linear, cross_downstream
        from airflow.providers.standard.operators.empty import EmptyOperator
        with DAG("shapes", schedule=None) as d:
            start = EmptyOperator(task_id="start")
            with TaskGroup("g") as g:
                x = EmptyOperator(task_id="x")
                y = EmptyOperator(task_id="y")
                x >> y
            with TaskGroup("flat", prefix_group_id=False) as flat:
                z = EmptyOperator(task_id="z")
            start >> Label("go") >> g >> flat

            @task
            def f():
                return 1

            f(); f(); f.override(task_id="custom")(); f()

            @task_group
            def tg():
                return EmptyOperator(task_id="inside")

            tg(); tg()
            a, b, c, e = (EmptyOperator(task_id=n) for n in "abce")
            chain_linear([a, b], [c, e])
    """)  # fmt: skip
    dag = load_dag(path)
    assert dag.task_ids[:4] == ["start", "g.x", "g.y", "z"]
    assert dag.task_ids[4:10] == ["f", "f__1", "custom", "f__2", "tg.inside", "tg__1.inside"]
    assert ["start", "g.x"] in edges(dag) and ["g.y", "z"] in edges(dag)
    assert dag.get_edge_info("start", "g.x") == {"label": "go"}
    for up in "ab":
        for down in "ce":
            assert [up, down] in edges(dag)


def test_xcomarg_dependencies_and_mapping(tmp_path: Path):
    path = write(tmp_path, """
        from airflow.sdk import DAG, task
        from airflow.providers.standard.operators.bash import BashOperator
        with DAG("xcoms", schedule=None) as d:
            @task(multiple_outputs=True)
            def pair():
                return {"a": 1}
            @task
            def nums() -> list:
                return [1, 2]
            p = pair()
            b = BashOperator(task_id="b", bash_command="echo", env={"A": p["a"]})
            mapped = BashOperator.partial(task_id="m").expand(bash_command=nums())
            kw = BashOperator.partial(task_id="kw", bash_command="x").expand_kwargs([{"env": {}}, {"env": {}}, {"env": {}}])
            both = BashOperator.partial(task_id="both").expand(bash_command=["a", "b"], env=[{}, {}, {}])
            late = BashOperator(task_id="late", bash_command="x")
            late.env = {"B": b.output}
    """)  # fmt: skip
    dag = load_dag(path)
    assert ["pair", "b"] in edges(dag) and ["nums", "m"] in edges(dag) and ["b", "late"] in edges(dag)
    described = {t["task_id"]: t for t in describe_dag(dag)["tasks"]}
    assert described["m"]["expand"]["kind"] == "xcom" and described["m"]["expand"]["task_id"] == "nums"
    assert described["kw"]["expand"] == {"kind": "literal", "length": 3}
    assert described["both"]["expand"] == {"kind": "literal", "length": 6}
    assert described["m"]["map_sources"] == ["nums"] and described["both"]["map_sources"] == [2, 3]
    assert described["kw"]["map_sources"] == [3] and described["b"]["map_sources"] is None
    with pytest.raises(TypeError, match="mapping already partial"):
        from studio.sdk import BashOperator

        BashOperator.partial(task_id="bad", bash_command="x").expand(bash_command=["y"])


def test_params_validate_like_airflow():
    params = ParamsDict({"n": Param(3, type="integer", minimum=1), "s": Param("a", enum=["a", "b"]), "free": [1]})
    assert params.validate() == {"n": 3, "s": "a", "free": [1]}
    with pytest.raises(ParamValidationError):
        params["n"] = 0
    with pytest.raises(ParamValidationError):
        params["s"] = "c"
    with pytest.raises(ParamValidationError, match="No value"):
        Param(type="string").resolve()
    with pytest.raises(ParamValidationError, match="json-serializable"):
        Param(object())
    Param("2024-01-01", type="string", format="date").resolve()
    with pytest.raises(ParamValidationError):
        Param("nope", type="string", format="date").resolve()
    with pytest.raises(ParamValidationError):
        Param({"a": 1}, type="object", required=["b"]).resolve()
    assert Param(None, type=["null", "integer"]).resolve() is None


@pytest.mark.airflow
def test_files_airflow_refuses_are_refused_with_the_same_exception(airflow_oracle):
    folder = FILES / "broken"
    oracle = airflow_oracle(folder)
    assert oracle["dags"] == {}
    errors = {Path(path).name: text for path, text in oracle["import_errors"].items()}
    files = sorted(folder.glob("*.py"))
    assert sorted(errors) == [f.name for f in files]
    for path in files:
        with pytest.raises(DagFileError) as info:
            load_dag_file(path)
        kind, _, message = info.value.message.partition(": ")
        assert kind in errors[path.name], (path.name, errors[path.name])
        first_line = message.splitlines()[0][:40].replace("DAG", "Dag")
        assert first_line in errors[path.name], (path.name, message)
