"""Run inside the Airflow virtualenv: run small scripted DAGs with Airflow's ``dag.test()``.

Input (stdin, JSON): a list of DAG specs ``{"dag_id", "fail_fast": bool, "tasks": [{"task_id",
"upstream": [ids], "trigger_rule", "retries", "is_setup", "is_teardown", "outcomes": [per try:
"success" | "failed" | "fail_fast" | "skipped"], "branch": [ids] | None}]}``. Each task is a
PythonOperator (BranchPythonOperator when ``branch`` is a list: it returns that list) whose try N does
``outcomes[N-1]`` (the last one repeats): return, raise AirflowException, raise AirflowFailException or
raise AirflowSkipException. ``retry_delay`` is 0. Mapping: ``"map_length": n`` expands over a literal
list of n, ``"map_from": upstream_id`` over the return value of that upstream, which returns a list of
``"returns_length"`` items. ``"short_circuit": {"condition": bool, "ignore": bool}`` makes it a
ShortCircuitOperator (``ignore`` = ``ignore_downstream_trigger_rules``). TIs are keyed ``task_id`` or
``task_id[map_index]``.

Output (stdout, JSON): per DAG ``{"state": run state, "tasks": {task_id: [state, try_number]}}``.
Needs an initialised metadata DB (``AIRFLOW_HOME=<tmp> airflow db migrate``) and an empty
``AIRFLOW__CORE__DAGS_FOLDER``: each spec is written there as a DAG file, tested, and removed.

Command: ``.venv-airflow/bin/python tests/oracle/dagrun_oracle.py < specs.json``.
"""

import contextlib
import json
import sys


def main() -> None:
    specs = json.load(sys.stdin)
    out_stream = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):
        results = [run_one(spec, number) for number, spec in enumerate(specs)]
    json.dump(results, out_stream)


# The DAG file written for each spec: dag.test() needs the DAG in a file of the dags folder.
DAG_FILE = """
import datetime, json
from airflow.providers.standard.operators.python import (
    BranchPythonOperator, PythonOperator, ShortCircuitOperator)
from airflow.sdk import DAG
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

SPEC = json.loads({spec!r})


def make_callable(outcomes, returns):
    def call(*_args, ti=None, **_context):
        outcome = outcomes[min(ti.try_number, len(outcomes)) - 1]
        if outcome == "failed":
            raise AirflowException("scripted failure")
        if outcome == "fail_fast":
            raise AirflowFailException("scripted failure without retry")
        if outcome == "skipped":
            raise AirflowSkipException("scripted skip")
        return returns

    return call


with DAG(SPEC["dag_id"], schedule=None, start_date=datetime.datetime(2024, 1, 1),
         fail_fast=SPEC.get("fail_fast", False)) as dag:
    ops = {{}}
    for t in SPEC["tasks"]:
        cls = BranchPythonOperator if t.get("branch") is not None else PythonOperator
        returns = t.get("branch")
        extra = {{}}
        if t.get("short_circuit") is not None:
            cls = ShortCircuitOperator
            returns = t["short_circuit"]["condition"]
            extra["ignore_downstream_trigger_rules"] = t["short_circuit"]["ignore"]
        if t.get("returns_length") is not None:
            returns = [[i] for i in range(t["returns_length"])]
        kwargs = dict(
            task_id=t["task_id"],
            python_callable=make_callable(t["outcomes"], returns),
            trigger_rule=t["trigger_rule"],
            retries=t.get("retries", 0),
            retry_delay=datetime.timedelta(0),
            **extra,
        )
        if t.get("map_length") is not None:
            ops[t["task_id"]] = cls.partial(**kwargs).expand(op_args=[[i] for i in range(t["map_length"])])
        elif t.get("map_from") is not None:
            ops[t["task_id"]] = cls.partial(**kwargs).expand(op_args=ops[t["map_from"]].output)
        else:
            ops[t["task_id"]] = cls(**kwargs)
    for t in SPEC["tasks"]:
        for up in t["upstream"]:
            if up != t.get("map_from"):
                ops[up] >> ops[t["task_id"]]
    for t in SPEC["tasks"]:
        if t.get("is_setup"):
            ops[t["task_id"]].is_setup = True
        if t.get("is_teardown"):
            ops[t["task_id"]].is_teardown = True
"""


def run_one(spec: dict, number: int) -> dict:
    import importlib.util
    import os
    from pathlib import Path

    folder = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    path = folder / f"{spec['dag_id']}.py"
    path.write_text(DAG_FILE.format(spec=json.dumps(spec)))
    try:
        module_spec = importlib.util.spec_from_file_location(f"oracle_dag_{number}", path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        run = module.dag.test()
    finally:
        path.unlink()
    tis = {}
    for ti in run.get_task_instances():
        state = ti.state.value if hasattr(ti.state, "value") else ti.state
        key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        tis[key] = [state, ti.try_number]
    return {"state": run.state.value if hasattr(run.state, "value") else str(run.state), "tasks": tis}


if __name__ == "__main__":
    main()
