"""Run inside the Airflow virtualenv: evaluate Airflow's own ``TriggerRuleDep`` on small DAGs.

Input (stdin, JSON): a list of cases ``{"tasks": [{"task_id", "upstream": [ids], "trigger_rule",
"is_setup", "is_teardown", "state": str|None}], "target": task_id}``. For each case the DAG is built
with real ``airflow.sdk`` operators, serialized the way the scheduler sees it, and the target's
``TaskInstance`` is checked by ``TriggerRuleDep`` with ``flag_upstream_failed=True`` (what the
scheduler passes) and the other task instances as the finished TIs of the run. No database is used:
``TaskInstance.set_state`` is replaced by a recorder, so the state Airflow would write is captured.

Output (stdout, JSON): one decision per case: ``"run"``, ``"wait"`` or the new state Airflow sets
(``"skipped"``, ``"upstream_failed"``, ``"removed"``).

Command: ``.venv-airflow/bin/python tests/oracle/trigger_rule_oracle.py < cases.json``.
"""

import contextlib
import json
import sys


def main() -> None:
    cases = json.load(sys.stdin)
    out_stream = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):
        results = evaluate_all(cases)
    json.dump(results, out_stream)


def evaluate_all(cases: list) -> list:
    import datetime

    from airflow.models.taskinstance import TaskInstance
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.ti_deps.dep_context import DepContext
    from airflow.ti_deps.deps.trigger_rule_dep import TriggerRuleDep

    written: dict = {}

    def record_state(self, state, session=None):
        written["state"] = str(state.value if hasattr(state, "value") else state)
        self.state = state
        return True

    TaskInstance.set_state = record_state
    TaskInstance.get_dagrun = lambda self, session=None: None
    FINISHED = {"success", "failed", "skipped", "upstream_failed", "removed"}

    results = []
    for number, case in enumerate(cases):
        with DAG(f"case_{number}", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
            ops = {}
            for spec in case["tasks"]:
                op = EmptyOperator(task_id=spec["task_id"], trigger_rule=spec["trigger_rule"])
                ops[spec["task_id"]] = op
            for spec in case["tasks"]:
                for up in spec["upstream"]:
                    ops[up] >> ops[spec["task_id"]]
            for spec in case["tasks"]:
                if spec.get("is_setup"):
                    ops[spec["task_id"]].is_setup = True
                if spec.get("is_teardown"):
                    ops[spec["task_id"]].is_teardown = True
                    ops[spec["task_id"]].trigger_rule = spec["trigger_rule"]
        sdag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
        tis = {}
        for spec in case["tasks"]:
            ti = TaskInstance(sdag.get_task(spec["task_id"]), dag_version_id=None, run_id="r")
            ti.state = spec["state"]
            tis[spec["task_id"]] = ti
        target = case["target"]
        finished = [ti for tid, ti in tis.items() if tid != target and ti.state in FINISHED]
        context = DepContext(flag_upstream_failed=True, finished_tis=finished)
        written.clear()
        statuses = list(TriggerRuleDep().get_dep_statuses(tis[target], context, session=None))
        if "state" in written:
            results.append(written["state"])
        elif all(s.passed for s in statuses):
            results.append("run")
        else:
            results.append("wait")
    return results


if __name__ == "__main__":
    main()
