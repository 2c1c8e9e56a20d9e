"""Helpers of the email tests: write a small DAG file (the ``HEADER``'s imports and ``boom`` + a body inside
``with DAG(...)``), run it with ``dagstudio run`` in a fresh home under a given environment (the test's
SMTP settings; the caller's ``AIRFLOW__SMTP__*``/``AIRFLOW__EMAIL__*``/``AIRFLOW_CONN_SMTP_DEFAULT`` removed),
and read a try's log with ``dagstudio logs``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

HEADER = """
import datetime as dt
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator
from airflow.providers.smtp.operators.smtp import EmailOperator
from airflow.providers.smtp.notifications.smtp import SmtpNotifier

def boom():
    raise ValueError("disk <full>\\nsecond line")
"""


def run_dag(
    tmp_path: Path, body: str, env: dict[str, str], dag_id: str = "mail", dag_args: str = ""
) -> tuple[dict[str, Any], Path]:
    """Write a DAG file (HEADER + ``body`` inside ``with DAG(dag_id, ...dag_args)``) and run it."""
    path = tmp_path / f"{dag_id}.py"
    inner = textwrap.indent(textwrap.dedent(body), "    ")
    path.write_text(
        HEADER
        + f"\nwith DAG({dag_id!r}, schedule=None, start_date=pendulum.datetime(2024, 1, 1){dag_args}) as dag:\n"
        + inner
    )
    home = tmp_path / "home"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__SMTP__", "AIRFLOW__EMAIL__"))}
    clean = {k: v for k, v in clean.items() if k != "AIRFLOW_CONN_SMTP_DEFAULT"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "studio",
            "run",
            str(path),
            "--logical-date",
            "2024-03-01",
            "--json",
            "--home",
            str(home),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **env},
    )
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout), path


def task_log(path: Path, home: Path, run_id: str, task_id: str, try_number: int = 1) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "studio", "logs", str(path), "mail", run_id, task_id, "--try", str(try_number),
         "--home", str(home)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout
