"""What the fork server runs: ``prepare`` imports the DAG file once, ``run`` executes one try.

Both run outside the engine process (see docs/ENGINE.md): ``prepare`` in the fork server, ``run`` in a
worker forked from it, so the DAG module imported by ``prepare`` is already in memory. Nothing here
imports SQLAlchemy; workers read XCom through the stdlib-only ``XComReader``.
"""

from __future__ import annotations

from typing import Any

_DAGS: dict[str, Any] = {}


def prepare(payload: dict[str, Any]) -> dict[str, Any]:
    """Import ``payload["path"]`` with the airflow.* hook; describe its DAGs, or report why it failed."""
    from studio.sdk.describe import describe_dag
    from studio.sdk.loader import DagFileError, load_dag_file

    try:
        dags = load_dag_file(payload["path"])
    except DagFileError as err:
        return {"error": {"message": err.message, "file": err.path, "line": err.lineno}}
    _DAGS.clear()
    _DAGS.update(dags)
    return {"dags": {dag_id: describe_dag(dag) for dag_id, dag in dags.items()}}


def run(request: dict[str, Any]) -> dict[str, Any]:
    """One try of one task instance (``op: "task"``) or a DAG-level callback (``op: "dag_callback"``)."""
    from studio.sdk.execution import run_dag_callback, run_task
    from studio.store.xcom_reader import XComReader

    dag = _DAGS[request["dag_id"]]
    if request.get("op") == "dag_callback":
        errors = run_dag_callback(dag, request["kind"], request["run"], request.get("reason", ""))
        return {"state": "success", "callback_errors": errors}
    reader = XComReader(request["db_path"])
    try:
        return run_task(dag, request["task_id"], request["map_index"], request["try_number"], request["run"], reader)
    finally:
        reader.close()
