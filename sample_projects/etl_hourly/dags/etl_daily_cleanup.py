import json
import os
import time
from pathlib import Path


REPORT_FILE = Path(os.environ.get("ETL_CLEANUP_REPORT", "/tmp/dagstudio/etl_cleanup.jsonl"))


def has_old_files(folder: str, max_age_days: int) -> bool:
    """ShortCircuit: True (go on) when the folder holds a file older than max_age_days, else skip the rest."""
    cutoff = time.time() - int(max_age_days) * 86400
    if not os.path.isdir(folder):
        return False
    with os.scandir(folder) as entries:
        return any(e.is_file() and e.stat().st_mtime < cutoff for e in entries)


def write_report(ds: str, deleted: str) -> dict:
    """Append one line per cleanup to the report file; the dict is also the task's XCom."""
    report = {"ds": ds, "deleted_local_files": int(deleted or 0)}
    REPORT_FILE.parent.mkdir(parents=True, exist_ok=True)
    with REPORT_FILE.open("a") as fh:
        fh.write(json.dumps(report) + "\n")
    return report
