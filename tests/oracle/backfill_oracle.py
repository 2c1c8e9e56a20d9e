"""Oracle for tests/test_cli_backfill.py; runs under Apache Airflow 3.3.2.

``backfill_oracle.py FOLDER FROM TO``: loads every DAG of FOLDER as Airflow's DagBag does, serializes it
as the DAG processor does, and prints per DAG the runs ``airflow backfill create --from-date FROM
--to-date TO`` would create (airflow/models/backfill.py ``_validate_backfill_params`` + ``_get_info_list``,
run ids from ``DagRun.generate_run_id``): ``[logical_date, run_after, data_interval_start,
data_interval_end, run_id]``, or the error Airflow raises.
"""

from __future__ import annotations

import contextlib
import json
import sys

import pendulum


def main() -> None:
    folder, from_text, to_text = sys.argv[1:4]
    out_stream = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):
        from airflow.configuration import conf
        from airflow.dag_processing.dagbag import DagBag
        from airflow.sdk.configuration import conf as sdk_conf

        for config in (conf, sdk_conf):  # Airflow's defaults (unit-test mode turns them on)
            config.set("scheduler", "create_cron_data_intervals", "False")
            config.set("scheduler", "create_delta_data_intervals", "False")
        from airflow.models.backfill import _get_info_list, _validate_backfill_params
        from airflow.models.dagrun import DagRun
        from airflow.serialization.serialized_objects import DagSerialization
        from airflow.utils.types import DagRunType

        bag = DagBag(folder)
        from_date, to_date = pendulum.parse(from_text, tz="UTC"), pendulum.parse(to_text, tz="UTC")
        out = {"import_errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": {}}
        for dag_id, dag in sorted(bag.dags.items()):
            serialized = DagSerialization.from_dict(DagSerialization.to_dict(dag))
            try:
                if not serialized.timetable.periodic:
                    raise ValueError(f"{dag_id} has a non-periodic schedule that does not support backfills")
                _validate_backfill_params(serialized, False, from_date, to_date, None, None)
                infos = _get_info_list(from_date=from_date, to_date=to_date, reverse=False, dag=serialized)
            except Exception as err:
                out["dags"][dag_id] = {"error": f"{type(err).__name__}: {err}"}
                continue
            runs = []
            for info in infos:
                run_id = DagRun.generate_run_id(
                    run_type=DagRunType.BACKFILL_JOB, logical_date=info.logical_date, run_after=info.run_after
                )
                interval = info.data_interval
                runs.append([info.logical_date.isoformat(), info.run_after.isoformat(), interval.start.isoformat(),
                             interval.end.isoformat(), run_id])  # fmt: skip
            out["dags"][dag_id] = {"runs": runs}
    json.dump(out, out_stream)


if __name__ == "__main__":
    main()
