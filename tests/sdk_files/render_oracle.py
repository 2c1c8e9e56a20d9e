"""Run inside the Airflow virtualenv: ``dag.test()`` every DAG of a file for one logical date and conf;
prints {dag_id: {"state", "run_id", "data_interval_start", "data_interval_end"}} as JSON."""

import contextlib
import importlib.util
import json
import sys

import pendulum


def main() -> None:
    path, logical_date, conf = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    out = {}
    with contextlib.redirect_stdout(sys.stderr):
        from airflow.sdk.definitions._internal.contextmanager import DagContext

        spec = importlib.util.spec_from_file_location("templates_dag", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["templates_dag"] = module
        DagContext.current_autoregister_module_name = "templates_dag"
        spec.loader.exec_module(module)

        for dag, _ in sorted(DagContext.autoregistered_dags, key=lambda pair: pair[0].dag_id):
            run = dag.test(logical_date=pendulum.parse(logical_date), run_conf=conf)
            out[dag.dag_id] = {
                "state": str(run.state),
                "run_id": run.run_id,
                "data_interval_start": run.data_interval_start.isoformat(),
                "data_interval_end": run.data_interval_end.isoformat(),
            }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
