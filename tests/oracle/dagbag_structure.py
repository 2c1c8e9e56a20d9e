"""Run inside the Airflow virtualenv: load a folder with Airflow's DagBag and print its structure as JSON.

Output: {"import_errors": {file: message}, "dags": {dag_id: {"tasks": [...], "edges": [[up, down]...],
"file": path}}}. Task ids are in Airflow's order; edges are sorted.
"""

import contextlib
import json
import sys


def main() -> None:
    out_stream = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):  # Airflow logs to stdout; keep it for the JSON only
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(sys.argv[1])
    out = {"import_errors": dict(bag.import_errors), "dags": {}}
    for dag_id, dag in sorted(bag.dags.items()):
        edges = sorted([up, down] for down in dag.task_ids for up in dag.get_task(down).upstream_task_ids)
        out["dags"][dag_id] = {"tasks": [t.task_id for t in dag.tasks], "edges": edges, "file": dag.fileloc}
    json.dump(out, out_stream)


if __name__ == "__main__":
    main()
