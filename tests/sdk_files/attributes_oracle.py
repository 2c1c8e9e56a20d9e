"""Run inside the Airflow virtualenv: per-task attributes of the DAGs in a file, as JSON (see test_sdk_definitions)."""

import contextlib
import json
import sys

with contextlib.redirect_stdout(sys.stderr):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(sys.argv[1])


def weight(t, dag):
    rule = str(getattr(t.weight_rule, "value", t.weight_rule))
    if rule == "absolute":
        return t.priority_weight
    return t.priority_weight + sum(
        dag.task_dict[i].priority_weight for i in t.get_flat_relative_ids(upstream=rule == "upstream")
    )


def seconds(v):
    return None if v is None else (v.total_seconds() if hasattr(v, "total_seconds") else float(v))


out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": {}}
for dag_id, dag in bag.dags.items():
    tasks = {}
    for t in dag.tasks:
        tasks[t.task_id] = {
            "owner": getattr(t, "owner", None),
            "retries": t.retries,
            "retry_delay": seconds(t.retry_delay),
            "queue": t.queue,
            "pool": t.pool,
            "trigger_rule": str(getattr(t.trigger_rule, "value", t.trigger_rule)),
            "priority_weight": weight(t, dag),
            "execution_timeout": seconds(t.execution_timeout),
            "is_setup": t.is_setup,
            "is_teardown": t.is_teardown,
            "mapped": t.is_mapped,
            "retry_exponential_backoff": bool(t.retry_exponential_backoff),
            "max_retry_delay": seconds(t.max_retry_delay),
            "operator": t.task_type,
        }
        if hasattr(t, "poke_interval"):
            tasks[t.task_id]["sensor"] = [
                t.mode,
                seconds(t.poke_interval),
                seconds(t.timeout),
                t.soft_fail,
                t.exponential_backoff,
            ]
    out["dags"][dag_id] = {"tasks": tasks, "timezone": str(dag.timezone.name), "max_active_tasks": dag.max_active_tasks}
json.dump(out, sys.__stdout__)
