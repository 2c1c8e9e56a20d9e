"""Run inside the Airflow virtualenv: run DAGs with ``dag.test()`` and print the outcome as JSON.

One DAG: ``python dag_test_run.py FILE DAG_ID LOGICAL_DATE_ISO CONF_JSON``. The caller (run_oracle.py) sets
``AIRFLOW_HOME`` (a copy of a migrated SQLite database), ``AIRFLOW__CORE__DAGS_FOLDER`` (a folder holding
only a link to FILE, so the bundle sync that ``dag.test()`` does parses one file) and ``RUN_CORPUS_TMP``
(a fresh folder the DAG writes its marker files to). Output, exactly the shape of ``dagstudio run --json``
plus the markers: {"dag_id", "run_id", "state", "tasks": {"task_id" | "task_id[i]": {"state",
"try_number", "start", "end"}}, "markers": [paths relative to RUN_CORPUS_TMP of the files there after
the run, sorted]}.

Many DAGs in one process (Airflow's start-up is paid once): ``python dag_test_run.py --batch SPECS.json``
where the file holds [{"file", "dag_id", "logical_date", "conf", "dags_folder", "corpus_tmp"}, ...]; each
spec gets its own DAG bundle (the folder ``dags_folder``) and marker folder, and one JSON line is printed
per spec, in order: the result as above, or {"error": traceback}. Every DAG id must be distinct.

Everything else (Airflow's logs, the tasks' prints) goes to stderr: file descriptor 1 is pointed at
stderr and the JSON is written to a saved copy of the original stdout.
"""

import json
import os
import sys
import traceback
from datetime import datetime

BUNDLE_CLASS = "airflow.dag_processing.bundles.local.LocalDagBundle"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _value(state: object) -> str | None:
    return None if state is None else str(getattr(state, "value", state))


def _markers(folder: str) -> list[str]:
    found = []
    for root, _dirs, files in os.walk(folder):
        for name in files:
            found.append(os.path.relpath(os.path.join(root, name), folder))
    return sorted(found)


def run(dag_file: str, dag_id: str, logical_date: str, conf: dict) -> dict:
    """Load ``dag_file`` with Airflow's DagBag and run ``dag_id`` once with ``dag.test()``."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import timezone

    bag = DagBag(dag_folder=dag_file)
    if bag.import_errors:
        raise RuntimeError(f"import errors: {bag.import_errors}")
    dag = bag.get_dag(dag_id)
    if dag is None:
        raise RuntimeError(f"no DAG {dag_id!r} in {dag_file} (found {sorted(bag.dags)})")
    when = timezone.parse(logical_date)
    # run_after = logical date: the run id is then manual__<logical date>.
    dag_run = dag.test(logical_date=when, run_after=when, run_conf=conf or None)
    tasks = {}
    for ti in sorted(dag_run.get_task_instances(), key=lambda t: (t.task_id, t.map_index)):
        key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        tasks[key] = {
            "state": _value(ti.state),
            "try_number": ti.try_number,
            "start": _iso(ti.start_date),
            "end": _iso(ti.end_date),
        }
    return {"dag_id": dag_run.dag_id, "run_id": dag_run.run_id, "state": _value(dag_run.state), "tasks": tasks}


def run_with_markers(dag_file: str, dag_id: str, logical_date: str, conf: dict) -> dict:
    result = run(dag_file, dag_id, logical_date, conf)
    sys.stdout.flush()
    result["markers"] = _markers(os.environ.get("RUN_CORPUS_TMP", "/tmp"))
    return result


def run_batch(specs: list[dict], out) -> None:
    for number, spec in enumerate(specs):
        os.environ["RUN_CORPUS_TMP"] = spec["corpus_tmp"]
        bundle = {"name": f"corpus-{number}", "classpath": BUNDLE_CLASS, "kwargs": {"path": spec["dags_folder"]}}
        os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps([bundle])
        try:
            result = run_with_markers(spec["file"], spec["dag_id"], spec["logical_date"], spec["conf"])
        except Exception:
            result = {"error": traceback.format_exc()}
        out.write(json.dumps(result, sort_keys=True) + "\n")
        out.flush()


def main() -> None:
    out = os.fdopen(os.dup(1), "w")
    sys.stdout.flush()
    os.dup2(2, 1)  # Airflow and the tasks print to stdout; only our JSON may reach it
    if sys.argv[1] == "--batch":
        with open(sys.argv[2]) as handle:
            run_batch(json.load(handle), out)
        return
    dag_file, dag_id, logical_date, conf_json = sys.argv[1:5]
    json.dump(run_with_markers(dag_file, dag_id, logical_date, json.loads(conf_json)), out, sort_keys=True)
    out.write("\n")
    out.flush()


if __name__ == "__main__":
    main()
