import json
import os
from pathlib import Path


# The on-call person tails this file; one JSON line per failed run.
ALERT_LOG = Path(os.environ.get("ETL_ALERT_LOG", "/tmp/dagstudio/etl_alerts.jsonl"))


def reference_data_is_complete(files: list) -> bool:
    """S3KeySensor check_fn: the _SUCCESS marker alone is not enough, the data files must be non-empty."""
    return bool(files) and all(f.get("Size", 0) > 0 for f in files)


def log_failed_run(context: dict) -> None:
    """DAG-level on_failure_callback: append what failed to the alert log."""
    ALERT_LOG.parent.mkdir(parents=True, exist_ok=True)
    entry = {
        "dag_id": context["dag"].dag_id,
        "run_id": context["run_id"],
        "reason": str(context.get("reason", "")),
    }
    with ALERT_LOG.open("a") as fh:
        fh.write(json.dumps(entry) + "\n")
