"""The fork server's warm-up in ``studio.runtime.worker.prepare`` (built once, shared by every forked try).

``prepare`` builds each DAG's Jinja environments and a context of a plain task in the fork server so the
workers inherit them; that must have no visible effect: no user callable runs, a DAG whose context cannot
be built (a required param without a value) still prepares, and the tries behave as before.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from studio.runtime import worker

DAG_FILE = textwrap.dedent(
    '''
    """Two DAGs: a plain chain and one whose context cannot be built without conf."""

    from datetime import datetime

    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG, Param

    CALLS = []


    def work(number):
        CALLS.append(number)
        return number * 2


    with DAG("plain", schedule=None, start_date=datetime(2024, 1, 1)):
        PythonOperator(task_id="a", python_callable=work, op_args=[1]) >> PythonOperator(
            task_id="b", python_callable=work, op_args=["{{ ds }}"]
        )

    with DAG("needs_conf", schedule=None, start_date=datetime(2024, 1, 1), params={"x": Param(type="string")}):
        PythonOperator(task_id="c", python_callable=work, op_args=[3])
    '''
)

RUN = {"run_id": "manual__1", "logical_date": "2024-01-01T00:00:00+00:00", "conf": {}, "run_type": "manual",
       "data_interval_start": "2024-01-01T00:00:00+00:00", "data_interval_end": "2024-01-01T00:00:00+00:00",
       "start_date": "2024-01-01T00:00:00+00:00"}  # fmt: skip


def test_prepare_warms_without_running_user_code(tmp_path: Path) -> None:
    path = tmp_path / "two_dags.py"
    path.write_text(DAG_FILE)
    prepared = worker.prepare({"path": str(path)})
    assert set(prepared["dags"]) == {"plain", "needs_conf"}
    plain = worker._DAGS["plain"]
    assert plain.__dict__.get("_studio_jinja_envs")  # built in the fork server, inherited by the workers
    module = __import__("sys").modules[plain.get_task("a").python_callable.__module__]
    assert module.CALLS == []  # the warm-up never executes a task
    assert plain.get_task("a").__dict__.get("_instantiated") is not False  # the DAG's own task is untouched


def test_tries_after_the_warm_up_render_and_run(tmp_path: Path) -> None:
    path = tmp_path / "two_dags.py"
    path.write_text(DAG_FILE)
    worker.prepare({"path": str(path)})
    request = {"op": "task", "dag_id": "plain", "task_id": "b", "map_index": -1, "try_number": 1, "run": RUN,
               "db_path": str(tmp_path / "absent.db")}  # fmt: skip
    result = worker.run(request)
    assert result["state"] == "success"
    assert result["xcom"] == [{"key": "return_value", "value": "2024-01-012024-01-01"}]
    failed = worker.run({**request, "dag_id": "needs_conf", "task_id": "c"})
    assert failed["state"] == "failed"  # the required param still fails the try, as without the warm-up
