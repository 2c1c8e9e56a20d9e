"""What the fork server runs: ``prepare`` imports the DAG file once, ``run`` executes one try.

Both run outside the engine process (see docs/ENGINE.md): ``prepare`` in the fork server, ``run`` in a
worker forked from it, so the DAG module imported by ``prepare`` is already in memory. Nothing here
imports SQLAlchemy; workers read XCom through the stdlib-only ``XComReader``, and connections / variables
missing from the environment through the stdlib-only ``SecretsReader`` of the same store file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

_DAGS: dict[str, Any] = {}
_WARM_ROUNDS = 10  # CPython 3.11 specializes a function's bytecode after a few calls: do that here, once
_WARM_MAX_DAGS = 20  # ≈1.5 ms of prepare per DAG: a file with many DAGs warms only its first ones fully


def prepare(payload: dict[str, Any]) -> dict[str, Any]:
    """Import ``payload["path"]`` with the airflow.* hook; describe its DAGs, or report why it failed."""
    from studio.sdk.connections import use_store
    from studio.sdk.describe import describe_dag
    from studio.sdk.loader import DagFileError, load_dag_file
    from studio.store.secrets_reader import SecretsReader

    # a DAG file may read variables / connections at the top level (Airflow's DAG processor can)
    use_store(SecretsReader(payload["db_path"]) if payload.get("db_path") else None)
    try:
        dags = load_dag_file(payload["path"])
    except DagFileError as err:
        return {"error": {"message": err.message, "file": err.path, "line": err.lineno}}
    _DAGS.clear()
    _DAGS.update(dags)
    described = {dag_id: describe_dag(dag) for dag_id, dag in dags.items()}
    for number, dag in enumerate(dags.values()):
        _warm(dag, _WARM_ROUNDS if number < _WARM_MAX_DAGS else 0)
    return {"dags": described}


class _NoXCom:
    """The XCom reader of the warm-up: it is never asked for a value (nothing is pulled while preparing)."""

    MISSING = object()


def _warm(dag: Any, rounds: int) -> None:
    """Build in the fork server what every try of ``dag`` would otherwise build in its fresh fork.

    Each worker is a new copy-on-write child: anything it creates lazily (the DAG's Jinja environments,
    pendulum's UTC zone, CPython's specialized bytecode of the execution path) costs it page faults and
    work that the next worker repeats. Doing it here once, before the forks, leaves it shared. Only side
    effect-free steps run (environments, a context of a plain task: no template is rendered, no user
    callable is called), and any failure is ignored: the try then builds what it needs as before.
    """
    import pendulum  # noqa: F401  (studio.sdk.context imports it lazily, in every try)

    import studio.store.secrets_reader  # (every try makes one)
    import studio.store.xcom_reader  # noqa: F401  (every try opens one)
    from studio.sdk.execution import prepare_task
    from studio.sdk.mapped import MappedOperator
    from studio.sdk.templating import operator_env

    plain = None
    for task in dag.tasks:
        with contextlib.suppress(Exception):
            operator_env(task)
        if plain is None and not isinstance(task, MappedOperator):
            plain = task
    if plain is None or rounds <= 0:
        return
    now = dt.datetime.now(dt.UTC).isoformat()
    run_info = {"run_id": "__warm__", "logical_date": now, "data_interval_start": now, "data_interval_end": now,
                "start_date": now, "conf": {}, "run_type": "manual", "ti_start_date": now}  # fmt: skip
    with contextlib.suppress(Exception):
        for _ in range(rounds):
            prepare_task(dag, plain.task_id, -1, 1, run_info, _NoXCom())


def warm_spare() -> None:
    """In a spare worker (forked, waiting for its try): go through a try's preparation once, so the pages
    it writes to are copied now instead of on the try's critical path (see ``forkserver``)."""
    for dag in list(_DAGS.values())[:1]:
        _warm(dag, 1)


def run(request: dict[str, Any]) -> dict[str, Any]:
    """One try of one task instance (``op: "task"``) or a DAG-level callback (``op: "dag_callback"``)."""
    from studio.sdk.connections import use_store
    from studio.sdk.execution import run_dag_callback, run_task
    from studio.store.secrets_reader import SecretsReader
    from studio.store.xcom_reader import XComReader

    dag = _DAGS[request["dag_id"]]
    secrets = SecretsReader(request["db_path"]) if request.get("db_path") else None
    # connections and variables missing from the environment come from the home's store (a DAG callback's
    # request has no db_path: it keeps the store ``prepare`` installed)
    previous = use_store(secrets) if secrets is not None else None
    try:
        if request.get("op") == "dag_callback":
            errors = run_dag_callback(dag, request["kind"], request["run"], request.get("reason", ""))
            return {"state": "success", "callback_errors": errors}
        reader = XComReader(request["db_path"])
        try:
            return run_task(
                dag, request["task_id"], request["map_index"], request["try_number"], request["run"], reader
            )
        finally:
            reader.close()
    finally:
        if secrets is not None:
            secrets.close()
            use_store(previous)
