"""Run inside the Airflow virtualenv: which scheduled TIs Airflow's scheduler queues, given pools.

Input (stdin, JSON): a list of cases ``{"pools": {name: slots}, "parallelism": n, "max_active_tasks": n,
"occupied": [{"pool", "pool_slots"}], "tis": [{"task_id", "pool", "pool_slots", "priority_weight"}]}``.
Each case: the pools are written to ``slot_pool``; the ``occupied`` TIs are ``running`` in another run
(they hold pool slots and executor slots, as in a live scheduler); the ``tis`` are ``scheduled`` in
run ``r1`` of DAG ``d``. Then ``SchedulerJobRunner._executable_task_instances_to_queued`` is called as
the scheduler loop calls it (``max_tis`` = parallelism − occupied executor slots) until it queues nothing
more. Output (stdout, JSON): per case, the task ids queued, sorted.

Needs ``AIRFLOW_HOME`` with a migrated SQLite database (``airflow db migrate``).
Command: ``.venv-airflow/bin/python tests/oracle/pool_oracle.py < cases.json``.
"""

import contextlib
import json
import sys
import uuid


def main() -> None:
    cases = json.load(sys.stdin)
    out_stream = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):
        results = [evaluate(case) for case in cases]
    json.dump(results, out_stream)


def _insert_ti(session, text, run_id: str, ti: dict, state: str) -> None:
    session.execute(
        text(
            "insert into task_instance (id, task_id, dag_id, run_id, map_index, state, try_number, max_tries, "
            "pool, pool_slots, priority_weight, span_status) values (:id, :t, 'd', :r, -1, :st, 1, 0, :p, :ps, "
            ":w, 'not_started')"
        ),
        {"id": uuid.uuid4().hex, "t": ti["task_id"], "r": run_id, "st": state, "p": ti["pool"],
         "ps": ti["pool_slots"], "w": ti.get("priority_weight", 1)},
    )  # fmt: skip


def evaluate(case: dict) -> list:
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.utils.session import create_session
    from sqlalchemy import text

    with create_session() as s:
        for table in ("task_instance", "dag_run", "dag", "slot_pool"):
            s.execute(text(f"delete from {table}"))
        s.execute(text("insert or ignore into dag_bundle (name, active) values ('b', 1)"))
        for name, slots in case["pools"].items():
            s.execute(
                text("insert into slot_pool (pool, slots, description, include_deferred) values (:p, :s, '', 0)"),
                {"p": name, "s": slots},
            )
        s.execute(
            text(
                "insert into dag (dag_id, is_paused, is_stale, bundle_name, timetable_type, partition_mapper_info, "
                "max_active_tasks, max_consecutive_failed_dag_runs, has_task_concurrency_limits, timetable_summary) "
                "values ('d', 0, 0, 'b', 'x', '{}', :m, 0, 0, 'None')"
            ),
            {"m": case["max_active_tasks"]},
        )
        for n, run_id in enumerate(("other", "r1")):
            s.execute(
                text(
                    "insert into dag_run (dag_id, run_id, run_type, run_after, logical_date, state, clear_number, "
                    "span_status) values ('d', :r, 'manual', :l, :l, 'running', 0, 'not_started')"
                ),
                {"r": run_id, "l": f"2024-01-0{n + 1} 00:00:00"},
            )
        for i, ti in enumerate(case["occupied"]):
            _insert_ti(s, text, "other", {**ti, "task_id": f"busy{i}"}, "running")
        for ti in case["tis"]:
            _insert_ti(s, text, "r1", ti, "scheduled")
    queued: list = []
    runner = SchedulerJobRunner(job=Job())
    while True:
        with create_session() as s:
            max_tis = case["parallelism"] - len(case["occupied"]) - len(queued)
            if max_tis <= 0:
                break
            found = runner._executable_task_instances_to_queued(max_tis=max_tis, session=s)
            if not found:
                break
            queued += [t.task_id for t in found]
    return sorted(queued)


if __name__ == "__main__":
    main()
