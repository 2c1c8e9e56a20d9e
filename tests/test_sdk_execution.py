"""studio.sdk.execution.run_task: each operator executed in-process as a worker would, with real
subprocesses for Bash, an in-memory XCom reader and a fake clock for sensors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from studio.sdk import sensors
from studio.sdk.execution import map_length, run_dag_callback, run_task
from tests.test_sdk_helpers import RUN_INFO, FakeClock, Runner

HEADER = """
import pendulum
from airflow.sdk import DAG, Param, TaskGroup, task, get_current_context, PokeReturnValue
from airflow.exceptions import AirflowFailException, AirflowSkipException
from airflow.providers.standard.operators.python import PythonOperator, BranchPythonOperator, ShortCircuitOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.providers.standard.sensors.filesystem import FileSensor
EVENTS = []
"""


def dag_source(body: str, **dag_kwargs: str) -> str:
    extra = "".join(f", {k}={v}" for k, v in dag_kwargs.items())
    lines = "\n".join("    " + line for line in body.strip("\n").splitlines())
    return (
        f'{HEADER}\nwith DAG("exec", start_date=pendulum.datetime(2024, 1, 1), schedule=None{extra}) as dag:\n{lines}\n'
    )


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(sensors, "CLOCK", fake)
    return fake


def test_python_operator_args_context_and_return_value(tmp_path: Path):
    runner = Runner(tmp_path, dag_source("""
def f(a, b, ds, ti, c=None, templates_dict=None):
    return [a, b, c, ds, ti.task_id, templates_dict]
def g(*args, **context):
    return [list(args), sorted(k for k in ("ds", "ti", "params", "dag_run", "x") if k in context), context["x"]]
PythonOperator(task_id="f", python_callable=f, op_args=[1, "{{ ds_nodash }}"], op_kwargs={"c": "{{ params.p }}"},
               templates_dict={"k": "{{ run_id }}"}, params={"p": "P"})
PythonOperator(task_id="g", python_callable=g, op_args=[9], op_kwargs={"x": 5})
PythonOperator(task_id="none", python_callable=lambda: None)
"""))  # fmt: skip
    result = runner.run("f")
    assert result["state"] == "success", result["error"]
    assert runner.value("f") == [1, "20240305", "P", "2024-03-05", "f", {"k": RUN_INFO["run_id"]}]
    assert result["rendered_fields"]["op_args"] == [1, "20240305"]
    assert result["rendered_fields"]["op_kwargs"] == {"c": "P"}
    assert runner.run("g")["state"] == "success"
    assert runner.value("g") == [[9], ["dag_run", "ds", "params", "ti", "x"], 5]
    result = runner.run("none")
    assert result["state"] == "success" and result["xcom"] == []


def test_exceptions_map_to_states_and_callbacks(tmp_path: Path):
    runner = Runner(tmp_path, dag_source("""
def boom():
    raise ValueError("bad value")
def fail_fast():
    raise AirflowFailException("stop")
def skip():
    raise AirflowSkipException("nothing to do")
cb = {k: (lambda kind: lambda context: EVENTS.append((kind, context["ti"].task_id, type(context.get("exception")).__name__)))(k)
      for k in ("execute", "success", "failure", "retry", "skipped")}
common = dict(on_execute_callback=cb["execute"], on_success_callback=cb["success"], on_failure_callback=cb["failure"],
              on_retry_callback=cb["retry"], on_skipped_callback=cb["skipped"])
PythonOperator(task_id="retrying", python_callable=boom, retries=1, **common)
PythonOperator(task_id="fast", python_callable=fail_fast, retries=3, **common)
PythonOperator(task_id="skip", python_callable=skip, **common)
PythonOperator(task_id="ok", python_callable=lambda: 1, **common)
"""))  # fmt: skip
    first = runner.run("retrying", try_number=1)
    assert (first["state"], first["fail_fast"]) == ("failed", False)
    assert first["error"] == "ValueError: bad value"
    second = runner.run("retrying", try_number=2)
    fast = runner.run("fast")
    assert (fast["state"], fast["fail_fast"]) == ("failed", True)
    assert runner.run("skip")["state"] == "skipped"
    assert runner.run("ok")["state"] == "success"
    assert second["state"] == "failed"
    assert runner.module.EVENTS == [
        ("execute", "retrying", "NoneType"), ("retry", "retrying", "ValueError"),
        ("execute", "retrying", "NoneType"), ("failure", "retrying", "ValueError"),
        ("execute", "fast", "NoneType"), ("failure", "fast", "AirflowFailException"),
        ("execute", "skip", "NoneType"), ("skipped", "skip", "NoneType"),
        ("execute", "ok", "NoneType"), ("success", "ok", "NoneType"),
    ]  # fmt: skip


def test_bash_operator(tmp_path: Path, capfd: pytest.CaptureFixture[str]):
    work = tmp_path / "work"
    work.mkdir()
    os.environ["SDK_TEST_OUTER"] = "outer"
    runner = Runner(tmp_path, dag_source(f"""
BashOperator(task_id="echo", bash_command="echo first; echo '{{{{ ds }}}}' $AIRFLOW_CTX_TASK_ID")
BashOperator(task_id="env_only", bash_command='echo "[$SDK_TEST_OUTER][$MINE]"', env={{"MINE": "{{{{ ds_nodash }}}}"}})
BashOperator(task_id="env_append", bash_command='echo "[$SDK_TEST_OUTER][$MINE]"', env={{"MINE": "m"}}, append_env=True)
BashOperator(task_id="cwd", bash_command="pwd", cwd="{work}")
BashOperator(task_id="tmp_cwd", bash_command="pwd")
BashOperator(task_id="skip99", bash_command="exit 99")
BashOperator(task_id="skip_custom", bash_command="exit 3", skip_on_exit_code=[3, 4])
BashOperator(task_id="fails", bash_command="echo partial; exit 2")
BashOperator(task_id="no_cwd", bash_command="pwd", cwd="{tmp_path / 'missing'}")
"""))  # fmt: skip
    result = runner.run("echo")
    assert result["state"] == "success" and runner.value("echo") == "2024-03-05 echo"
    assert "first\n2024-03-05 echo" in capfd.readouterr().out
    assert result["rendered_fields"]["bash_command"] == "echo first; echo '2024-03-05' $AIRFLOW_CTX_TASK_ID"
    runner.run("env_only")
    assert runner.value("env_only") == "[][20240305]"
    runner.run("env_append")
    assert runner.value("env_append") == "[outer][m]"
    runner.run("cwd")
    assert runner.value("cwd") == str(work)
    runner.run("tmp_cwd")
    assert os.path.basename(runner.value("tmp_cwd")).startswith("airflowtmp")
    assert runner.run("skip99")["state"] == "skipped"
    assert runner.run("skip_custom")["state"] == "skipped"
    failed = runner.run("fails")
    assert failed["state"] == "failed" and "non-zero exit code 2" in failed["error"]
    assert "Can not find the cwd" in runner.run("no_cwd")["error"]


def test_branching_short_circuit_and_empty(tmp_path: Path):
    runner = Runner(tmp_path, dag_source("""
start = EmptyOperator(task_id="start")
pick = BranchPythonOperator(task_id="pick", python_callable=lambda: "left")
left, right = EmptyOperator(task_id="left"), EmptyOperator(task_id="right")
with TaskGroup("grp") as grp:
    g1 = EmptyOperator(task_id="g1")
    g2 = EmptyOperator(task_id="g2")
    g1 >> g2
join = EmptyOperator(task_id="join")
start >> pick >> [left, right, grp] >> join
@task.branch
def choose():
    return ["grp", "right"]
choose() >> [left, right, grp]
gate = ShortCircuitOperator(task_id="gate", python_callable=lambda: 0)
direct = ShortCircuitOperator(task_id="direct", python_callable=lambda: False, ignore_downstream_trigger_rules=False)
passes = ShortCircuitOperator(task_id="passes", python_callable=lambda: "yes")
gate >> left
direct >> right
passes >> join
@task.short_circuit
def stop():
    return False
stop() >> join
"""))  # fmt: skip
    assert runner.run("start")["state"] == "success"
    result = runner.run("pick")
    assert result["follow_branches"] == ["left"] and runner.value("pick") == "left"
    assert runner.value("pick", "skipmixin_key") == {"followed": ["left"]}
    assert runner.run("choose")["follow_branches"] == ["grp.g1", "right"]
    assert runner.run("gate")["skip_downstream"] == ["join", "left"]
    assert runner.run("direct")["skip_downstream"] == ["right"]
    passed = runner.run("passes")
    assert passed["skip_downstream"] is None and runner.value("passes") == "yes"
    assert runner.run("stop")["skip_downstream"] == ["join"]


def test_taskflow_xcom_multiple_outputs_and_pull(tmp_path: Path):
    runner = Runner(tmp_path, dag_source("""
@task
def extract() -> dict:
    return {"a": 1, "b": [2, 3]}
@task
def load(a, b, total=None):
    ctx = get_current_context()
    ti = ctx["ti"]
    return {"a": a, "b": b, "ds": ctx["ds"], "pulled": ti.xcom_pull(task_ids=["extract", "extract"], key="a"),
            "missing": ti.xcom_pull(task_ids="nothing"), "own": ti.task_id}
data = extract()
load(data["a"], data["b"])
BashOperator(task_id="fstring", bash_command=f"echo {data['a']}")
@task
def pusher(ti=None):
    ti.xcom_push(key="extra", value={"x": 1})
    return ti.xcom_pull(key="extra")
pusher()
"""))  # fmt: skip
    assert runner.run("extract")["state"] == "success"
    assert runner.value("extract", "a") == 1 and runner.value("extract", "b") == [2, 3]
    result = runner.run("load")
    assert result["state"] == "success", result["error"]
    assert runner.value("load") == {
        "a": 1,
        "b": [2, 3],
        "ds": "2024-03-05",
        "pulled": [1, 1],
        "missing": None,
        "own": "load",
    }
    assert runner.run("fstring")["state"] == "success" and runner.value("fstring") == "1"
    runner.run("pusher")
    assert runner.value("pusher", "extra") == {"x": 1} and runner.value("pusher") == {"x": 1}


def test_mapped_tasks(tmp_path: Path):
    runner = Runner(tmp_path, dag_source("""
@task
def numbers():
    return [1, 2, 3]
@task
def add(x, y):
    return x + y
@task
def total(values):
    return sum(values)
added = add.partial(y=10).expand(x=numbers())
total(added)
cross = add.expand(x=[1, 2], y=[10, 20])
echo = BashOperator.partial(task_id="echo").expand_kwargs([{"bash_command": "echo a"}, {"bash_command": "echo $V", "env": {"V": "b"}}])
@task
def bad():
    return 5
add.expand(x=bad())
"""))  # fmt: skip
    assert runner.run("numbers")["map_length"] == 3
    assert map_length(runner.dag, "add", runner.run_info, runner.xcom) == 3
    for i in range(3):
        assert runner.run("add", i)["state"] == "success"
    assert runner.run("total")["state"] == "success" and runner.value("total") == 36
    assert map_length(runner.dag, "add__1", runner.run_info, runner.xcom) == 4
    for i, expected in enumerate([11, 21, 12, 22]):
        runner.run("add__1", i)
        assert runner.value("add__1", map_index=i) == expected
    runner.run("echo", 1)
    assert runner.value("echo", map_index=1) == "b"
    failed = runner.run("bad")
    assert failed["state"] == "failed" and "unmappable" in failed["error"]


def test_params_conf_and_validation(tmp_path: Path):
    source = dag_source(
        'PythonOperator(task_id="p", python_callable=lambda params: dict(params))',
        params='{"n": Param(1, type="integer", maximum=5), "s": "x"}',
    )
    runner = Runner(tmp_path, source, {**RUN_INFO, "conf": {"n": 4, "extra": True}})
    assert runner.run("p")["state"] == "success"
    assert runner.value("p") == {"n": 4, "s": "x", "extra": True}
    runner.run_info = {**RUN_INFO, "conf": {"n": 9}}
    result = runner.run("p")
    assert result["state"] == "failed" and "ParamValidationError" in result["error"]
    runner.run_info = RUN_INFO
    assert runner.run("p")["state"] == "success"
    assert runner.value("p") == {"n": 1, "s": "x"}


def test_sensor_poke_mode(tmp_path: Path, clock: FakeClock):
    flag = tmp_path / "flag"
    runner = Runner(tmp_path, dag_source(f"""
STATE = {{"calls": 0}}
def ready():
    STATE["calls"] += 1
    return STATE["calls"] >= 3
PythonSensor(task_id="ready", python_callable=ready, poke_interval=5, timeout=60)
PythonSensor(task_id="never", python_callable=lambda: False, poke_interval=10, timeout=25)
PythonSensor(task_id="soft", python_callable=lambda: False, poke_interval=10, timeout=25, soft_fail=True)
PythonSensor(task_id="value", python_callable=lambda: PokeReturnValue(True, {{"found": 1}}))
PythonSensor(task_id="backoff", python_callable=lambda: False, poke_interval=2, timeout=100, exponential_backoff=True)
FileSensor(task_id="file", filepath="{flag}", poke_interval=1, timeout=0)
@task.sensor(poke_interval=1, timeout=5)
def deco():
    return PokeReturnValue(is_done=True, xcom_value="v")
deco()
"""))  # fmt: skip
    assert runner.run("ready")["state"] == "success"
    assert clock.sleeps == [5, 5]
    clock.sleeps.clear()
    timed_out = runner.run("never")
    assert timed_out["state"] == "failed" and timed_out["fail_fast"] and "AirflowSensorTimeout" in timed_out["error"]
    assert clock.sleeps == [10, 10, 10]
    assert runner.run("soft")["state"] == "skipped"
    assert runner.run("value")["state"] == "success" and runner.value("value") == {"found": 1}
    clock.sleeps.clear()
    assert runner.run("backoff")["state"] == "failed"
    assert clock.sleeps[:4] == sorted(set(clock.sleeps[:4])) and 1 <= clock.sleeps[0] < 2 <= clock.sleeps[1] < 4
    assert sum(clock.sleeps) >= 99
    assert runner.run("file")["state"] == "failed"
    flag.write_text("x")
    assert runner.run("file")["state"] == "success"
    assert runner.run("deco")["state"] == "success" and runner.value("deco") == "v"


def test_sensor_reschedule_mode(tmp_path: Path, clock: FakeClock):
    runner = Runner(tmp_path, dag_source("""
PythonSensor(task_id="wait", python_callable=lambda: False, poke_interval=30, timeout=100, mode="reschedule")
"""))  # fmt: skip
    first = runner.run("wait")
    assert first["state"] == "up_for_reschedule"
    assert first["reschedule_at"] == "2024-03-05T07:00:30+00:00"
    runner.run_info["first_reschedule_date"] = "2024-03-05T06:58:00+00:00"
    timed_out = runner.run("wait")
    assert timed_out["state"] == "failed" and timed_out["fail_fast"]


def test_execution_timeout_raises_inside_the_task(tmp_path: Path):
    runner = Runner(tmp_path, dag_source("""
import time, datetime
def slow():
    time.sleep(30)
PythonOperator(task_id="slow", python_callable=slow, execution_timeout=datetime.timedelta(milliseconds=100),
               on_failure_callback=lambda context: EVENTS.append(type(context["exception"]).__name__))
"""))  # fmt: skip
    result = runner.run("slow")
    assert result["state"] == "failed" and not result["fail_fast"]
    assert result["error"].startswith("AirflowTaskTimeout")
    assert runner.module.EVENTS == ["AirflowTaskTimeout"]


def test_dag_callbacks(tmp_path: Path):
    runner = Runner(tmp_path, dag_source(
        'EmptyOperator(task_id="e")',
        on_success_callback='lambda context: EVENTS.append(("ok", context["run_id"], context["reason"]))',
    ))  # fmt: skip
    assert run_dag_callback(runner.dag, "success", RUN_INFO, reason="success") == []
    assert run_dag_callback(runner.dag, "failure", RUN_INFO) == []
    assert [("ok", RUN_INFO["run_id"], "success")] == runner.module.EVENTS


def test_with_the_stores_sqlite_xcom_reader(tmp_path: Path):
    from studio.store.xcom_reader import XComReader

    runner = Runner(tmp_path, dag_source("""
import datetime, decimal
@task
def pull(ti=None):
    return {"none": ti.xcom_pull(task_ids="absent"), "many": ti.xcom_pull(task_ids=["absent", "absent"])}
@task
def odd_values():
    return {"when": datetime.date(2024, 1, 2), "tuple": (1, 2), "dec": decimal.Decimal("1.5")}
@task
def unserializable():
    return object()
pull(); odd_values(); unserializable()
"""))  # fmt: skip
    from studio.store import Store

    Store.open(tmp_path / "home").close()
    reader = XComReader(tmp_path / "home" / "dagstudio.db")
    try:
        result = run_task(runner.dag, "pull", -1, 1, RUN_INFO, reader)
    finally:
        reader.close()
    assert result["state"] == "success", result["error"]
    assert result["xcom"] == [{"key": "return_value", "value": {"none": None, "many": [None, None]}}]
    assert runner.run("odd_values")["state"] == "success"
    assert runner.value("odd_values") == {"when": "2024-01-02", "tuple": [1, 2], "dec": 1.5}
    bad = runner.run("unserializable")
    assert bad["state"] == "failed" and "cannot serialize object of type object" in bad["error"]


def test_sigterm_fails_the_try_and_runs_callbacks(tmp_path: Path):
    runner = Runner(tmp_path, dag_source("""
import os, signal
def term():
    os.kill(os.getpid(), signal.SIGTERM)
    return "not reached"
PythonOperator(task_id="term", python_callable=term, retries=1,
               on_retry_callback=lambda context: EVENTS.append(str(context["exception"])))
"""))  # fmt: skip
    result = runner.run("term")
    assert result["state"] == "failed" and result["error"] == "AirflowTaskTerminated: Task received SIGTERM signal"
    assert runner.module.EVENTS == ["Task received SIGTERM signal"]
    import signal

    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_bash_decorator_custom_operators_and_explicit_map_indexes(tmp_path: Path):
    runner = Runner(tmp_path, dag_source("""
from airflow.sdk import BaseOperator
from airflow.providers.standard.operators.branch import BaseBranchOperator
@task.bash
def greet(name):
    return f"echo hello {name} {{{{ ds_nodash }}}}"
greet("ann")
class Pick(BaseBranchOperator):
    def choose_branch(self, context):
        return "b"
class Double(BaseOperator):
    template_fields = ("n",)
    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = n
    def execute(self, context):
        return int(self.n) * 2
Pick(task_id="pick") >> [EmptyOperator(task_id="a"), EmptyOperator(task_id="b")]
Double(task_id="double", n="{{ params.n }}", params={"n": 21})
@task
def values():
    return [1, 2, 3]
@task
def square(x):
    return x * x
@task
def pick_some(ti=None):
    return [ti.xcom_pull(task_ids="square", map_indexes=1), ti.xcom_pull(task_ids="square", map_indexes=[0, 2]),
            ti.xcom_pull(task_ids="square")]
square.expand(x=values()) >> pick_some()
"""))  # fmt: skip
    assert runner.run("greet")["state"] == "success" and runner.value("greet") == "hello ann 20240305"
    assert runner.run("pick")["follow_branches"] == ["b"]
    assert runner.run("double")["state"] == "success" and runner.value("double") == 42
    runner.run("values")
    for i in range(3):
        runner.run("square", i)
    runner.run("pick_some")
    assert runner.value("pick_some") == [4, [1, 9], [1, 4, 9]]
