"""One DAG mixing the integrations, end to end with ``dagstudio run`` against real servers started here: a
FileSensor on the ``fs_default`` connection, a DockerOperator on a private dockerd, S3 operators and an
S3KeySensor on a moto server, an EmailOperator on an aiosmtpd server, and a connection password that must
show as ``***`` in the logs. Checked: every task's state, the container output in the task log, the S3
object's content, the mail received."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.docker_daemon import DockerDaemon
from tests.moto_s3 import aws_connection, body, isolated_aws_env, s3_client, s3_endpoint
from tests.smtp_server import SmtpServer

__all__ = ["s3_client", "s3_endpoint"]  # module fixtures used here
pytestmark = pytest.mark.docker
REPO = Path(__file__).resolve().parents[1]

DAG = textwrap.dedent(
    """
    import pendulum
    from airflow.providers.amazon.aws.operators.s3 import S3CreateBucketOperator, S3CreateObjectOperator
    from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
    from airflow.providers.docker.operators.docker import DockerOperator
    from airflow.providers.smtp.operators.smtp import EmailOperator
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.sensors.filesystem import FileSensor
    from airflow.sdk import DAG

    with DAG("mixed", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):
        inbox = FileSensor(task_id="wait_for_orders", filepath="inbox/*.csv", poke_interval=1, timeout=60)
        crunch = DockerOperator(
            task_id="crunch", image="IMAGE", docker_url="DOCKER_URL",
            command=["sh", "-c", "echo crunching {{ ds }}; sleep 1; echo 42"],
        )
        bucket = S3CreateBucketOperator(task_id="make_bucket", bucket_name="reports")
        upload = S3CreateObjectOperator(
            task_id="upload", s3_bucket="reports", s3_key="daily/{{ ds }}.txt",
            data="total={{ ti.xcom_pull(task_ids='crunch') }}",
        )
        landed = S3KeySensor(task_id="landed", bucket_key="s3://reports/daily/*.txt", wildcard_match=True,
                             poke_interval=1, timeout=60)
        secret = BashOperator(task_id="use_secret", bash_command="echo token={{ conn.api.password }}",
                              do_xcom_push=False)
        mail = EmailOperator(
            task_id="report", to="team@example.com", from_email="dags@example.com", subject="Report {{ ds }}: s3://reports/daily/{{ ds }}.txt",
            html_content="<p>total {{ ti.xcom_pull(task_ids='crunch') }}</p>",
        )
        inbox >> crunch >> bucket >> upload >> landed >> secret >> mail
    """
)


def log(dag_file: Path, home: Path, run_id: str, task: str) -> str:
    """``dagstudio logs`` of the task's latest try."""
    logs = subprocess.run(
        [sys.executable, "-m", "studio", "logs", str(dag_file), "mixed", run_id, task],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO), "DAGSTUDIO_HOME": str(home)},
        cwd=REPO, timeout=120,
    )  # fmt: skip
    assert logs.returncode == 0, logs.stderr
    return logs.stdout


def test_a_dag_mixing_the_integrations_runs_end_to_end(
    docker_daemon: DockerDaemon, s3_endpoint: str, s3_client: object, tmp_path: Path
) -> None:
    dag_file = tmp_path / "mixed.py"
    dag_file.write_text(DAG.replace("IMAGE", docker_daemon.image).replace("DOCKER_URL", docker_daemon.url))
    (tmp_path / "data" / "inbox").mkdir(parents=True)
    (tmp_path / "data" / "inbox" / "orders.csv").write_text("id,amount\n1,10\n")
    home = tmp_path / "home"
    with SmtpServer() as smtp:
        env = {
            **isolated_aws_env(), "PYTHONPATH": str(REPO), "DAGSTUDIO_HOME": str(home),
            "AIRFLOW_CONN_AWS_DEFAULT": aws_connection(s3_endpoint),
            "AIRFLOW_CONN_SMTP_DEFAULT": smtp.conn_json(),
            "AIRFLOW_CONN_FS_DEFAULT": json.dumps({"conn_type": "fs", "extra": {"path": str(tmp_path / "data")}}),
            "AIRFLOW_CONN_API": json.dumps({"conn_type": "http", "host": "api.example.com",
                                            "password": "s3cr3t-T0ken"}),
        }  # fmt: skip
        proc = subprocess.run(
            [sys.executable, "-m", "studio", "run", str(dag_file), "--json", "--logical-date", "2024-03-05"],
            capture_output=True, text=True, env=env, cwd=REPO, timeout=300,
        )  # fmt: skip
        result = json.loads(proc.stdout)
        failed = [k for k, v in result["tasks"].items() if v["state"] != "success"]
        assert proc.returncode == 0, "\n".join(log(dag_file, home, result["run_id"], k) for k in failed)
        (mail,) = smtp.wait_for(1)
    assert {k: v["state"] for k, v in result["tasks"].items()} == dict.fromkeys(
        ["wait_for_orders", "crunch", "make_bucket", "upload", "landed", "use_secret", "report"], "success"
    )
    assert body(s3_client, "reports", "daily/2024-03-05.txt") == b"total=42"
    assert mail.subject == "Report 2024-03-05: s3://reports/daily/2024-03-05.txt"
    assert mail.rcpt_tos == ["team@example.com"]
    assert "total 42" in mail.html()

    crunch = log(dag_file, home, result["run_id"], "crunch")
    assert "crunching 2024-03-05" in crunch and "42" in crunch
    secret = log(dag_file, home, result["run_id"], "use_secret")
    assert "token=***" in secret and "s3cr3t-T0ken" not in secret
